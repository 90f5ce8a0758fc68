"""JSON bodies whose text the database can store: no NUL character, no unpaired surrogate.

JSON may spell both (``"\\u0000"``, ``"\\ud800"``); Postgres refuses the first in text and jsonb, and
no database driver can encode the second as UTF-8. Refusing them here, with the field's path,
turns what would be a 500 deep in a service into a 400 before any service runs.
"""
from __future__ import annotations

import re

from rest_framework.parsers import JSONParser

from labeling.errors import RejectedInput

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(value: str) -> bool:
    return _UNSTORABLE.search(value) is not None


def _check(value, path: str) -> None:
    if isinstance(value, str):
        if unstorable_text(value):
            raise RejectedInput(f"{path or 'The body'} contains a NUL character or an unpaired surrogate.",
                                field=path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, path or "body")
            _check(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{path}.{index}" if path else str(index))


class StorableJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check(data, "")
        return data

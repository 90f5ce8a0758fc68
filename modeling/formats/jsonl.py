"""Reading JSONL input files line by line with errors that name the file and the line."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator

from modeling.errors import InputError


def jsonl_records(path: str | os.PathLike, what: str) -> Iterator[tuple[int, object]]:
    """``(line number, parsed JSON)`` for each non-blank line; :class:`InputError` if the file cannot
    be read (``"cannot read <what>: ..."``) or a line is not JSON. Callers validate the records."""
    path = str(path)
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", path=path) from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"not valid JSON ({exc.msg})", path=path, line=number) from None

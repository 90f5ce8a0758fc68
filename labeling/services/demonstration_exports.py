"""Demonstrations as TRL prompt-completion JSONL (:func:`labeling.selectors.demonstrations.demonstrations_records`):
streamed lines for a download, or a file written whole (a temporary file renamed into place, as the
rankings exports do)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from labeling.export_formats import json_line
from labeling.models import Project
from labeling.selectors.demonstrations import demonstrations_records
from labeling.services.exports import _check_target, _write_lines


def demonstration_lines(*, project: Project, include_rejected: bool = False) -> Iterator[str]:
    return (json_line(record) for record in demonstrations_records(project=project, include_rejected=include_rejected))


def demonstrations_to_path(*, project: Project, path: Path, include_rejected: bool = False) -> int:
    """The lines written to ``path``."""
    _check_target(path, directory=False)
    return _write_lines(demonstration_lines(project=project, include_rejected=include_rejected), path)

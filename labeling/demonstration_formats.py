"""Parsing a demonstrations file: TRL's prompt-completion JSONL, every line checked before anything is written.

A line is ``{"prompt": str or [{"role", "content"}, ...], "completion"?: str or [{"role":
"assistant", "content": str}], "id"?: str, "metadata"?: {...}}``. Without ``completion`` it asks for
a demonstration (a write task); with one it is a demonstration already written. Prompts, ids and
metadata follow the task import's rules (:mod:`labeling.import_formats`), a conversational
completion TRL's one-assistant-message form; other keys are ignored (an export's ``labeler``,
``task_id`` and ``review_status`` among them), so an export can be imported again. Every error names
the line (1-based) and raises :class:`RejectedInput`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labeling.errors import RejectedInput
from labeling.import_formats import PromptSpec, _answer, _check_unique_ids, _objects, _prompt


@dataclass(frozen=True)
class DemonstrationSpec:
    line: int
    prompt: PromptSpec
    completion: str | None = None  # None: a task to write; else the demonstration's text


def parse_demonstrations(lines: Iterable[str]) -> list[DemonstrationSpec]:
    specs = []
    for line, obj in _objects(lines):
        completion = _answer(obj["completion"], "completion", line) if "completion" in obj else None
        specs.append(DemonstrationSpec(line=line, prompt=_prompt(obj, line), completion=completion))
    if not specs:
        raise RejectedInput("the file holds no prompts", field="file")
    _check_unique_ids([(spec.line, spec.prompt) for spec in specs])
    return specs

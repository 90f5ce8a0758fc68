"""Parsing import files (JSONL) into plain specs, validating every line before anything is written.

Tasks: ``{"prompt": str, "completions": [str, ...], "gold_ranking"?: [[int, ...], ...],
"required_rankings"?: int, "id"?: str, "metadata"?: {...}}`` with gold indexes into ``completions``.
Prompts: ``{"prompt": str, "id"?: str, "metadata"?: {...}}`` (DESIGN.md).
Every error names the line (1-based) and raises :class:`RejectedInput`.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from labeling.errors import RejectedInput

MIN_K, MAX_K = 2, 9
MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True)
class PromptSpec:
    text: str
    external_id: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSpec:
    prompt: PromptSpec
    completions: list[str]
    gold_ranking: list[list[int]] | None = None
    required_rankings: int | None = None


def _fail(line: int, message: str):
    raise RejectedInput(f"line {line}: {message}", field=f"line {line}")


def _text(value, what: str, line: int) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(line, f"{what} must be non-empty text")
    if len(value) > MAX_TEXT_CHARS:
        _fail(line, f"{what} is longer than {MAX_TEXT_CHARS:,} characters")
    return value


def _objects(lines: Iterable[str]):
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            _fail(number, f"not valid JSON ({exc.msg})")
        if not isinstance(obj, dict):
            _fail(number, "each line must be a JSON object")
        yield number, obj


def _prompt(obj: dict, line: int) -> PromptSpec:
    text = _text(obj.get("prompt"), '"prompt"', line)
    external_id = obj.get("id", "")
    if not isinstance(external_id, str) or len(external_id) > 200:
        _fail(line, '"id" must be a string of at most 200 characters')
    metadata = obj.get("metadata", {})
    if not isinstance(metadata, dict):
        _fail(line, '"metadata" must be a JSON object')
    return PromptSpec(text=text, external_id=external_id, metadata=metadata)


def _gold(value, k: int, line: int) -> list[list[int]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(t, list) and t for t in value):
        _fail(line, '"gold_ranking" must be a non-empty list of non-empty tiers')
    flat = [i for tier in value for i in tier]
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in flat):
        _fail(line, '"gold_ranking" must hold completion indexes (whole numbers)')
    if sorted(flat) != list(range(k)):
        _fail(line, f'"gold_ranking" must rank each of the {k} completions (indexes 0..{k - 1}) exactly once')
    return value


def _check_unique_ids(specs: list[tuple[int, PromptSpec]]) -> None:
    seen: dict[str, int] = {}
    for line, spec in specs:
        if spec.external_id and spec.external_id in seen:
            _fail(line, f'"id" {spec.external_id!r} repeats line {seen[spec.external_id]}')
        seen[spec.external_id] = line


def parse_prompts(lines: Iterable[str]) -> list[PromptSpec]:
    specs = [(line, _prompt(obj, line)) for line, obj in _objects(lines)]
    if not specs:
        raise RejectedInput("the file holds no prompts", field="file")
    _check_unique_ids(specs)
    return [spec for _, spec in specs]


def parse_tasks(lines: Iterable[str]) -> list[TaskSpec]:
    specs: list[tuple[int, TaskSpec]] = []
    for line, obj in _objects(lines):
        prompt = _prompt(obj, line)
        completions = obj.get("completions")
        if not isinstance(completions, list) or not MIN_K <= len(completions) <= MAX_K:
            _fail(line, f'"completions" must be a list of {MIN_K} to {MAX_K} texts')
        texts = [_text(c, f"completion {i}", line) for i, c in enumerate(completions)]
        if len(set(texts)) != len(texts):
            _fail(line, "two completions are the same text; a task must show distinct completions")
        required = obj.get("required_rankings")
        if required is not None and (not isinstance(required, int) or isinstance(required, bool) or not 1 <= required <= 50):
            _fail(line, '"required_rankings" must be a whole number from 1 to 50')
        gold = _gold(obj.get("gold_ranking"), len(texts), line)
        specs.append((line, TaskSpec(prompt=prompt, completions=texts, gold_ranking=gold, required_rankings=required)))
    if not specs:
        raise RejectedInput("the file holds no tasks", field="file")
    _check_unique_ids([(line, spec.prompt) for line, spec in specs])
    return [spec for _, spec in specs]

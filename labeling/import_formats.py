"""Parsing import files into plain specs, validating every line before anything is written.

Tasks: ``{"prompt": str, "completions": [str, ...], "gold_ranking"?: [[int, ...], ...],
"required_rankings"?: int, "id"?: str, "metadata"?: {...}}`` with gold indexes into ``completions``.
Prompts: ``{"prompt": str, "id"?: str, "metadata"?: {...}}`` (DESIGN.md), or CSV with a ``prompt``
column (:func:`parse_prompts_csv`, strings only).
Preference pairs: TRL's ``{"prompt", "chosen", "rejected"}`` plus ``"labeler"?`` and what a pairs export
writes beside them (scores, flags, comment: :class:`PairLabels`) (:func:`parse_preference_pairs`).
In JSONL a ``prompt`` may be a conversation instead: TRL's list of ``{"role", "content"}`` messages
ending with a user turn, checked by :func:`modeling.formats.conversation.parse_prompt` (which also caps the
messages and their total length), and each message's content by the same rules as a string prompt.
Every error names the line (1-based) and raises :class:`RejectedInput`.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from labeling.errors import RejectedInput
from modeling.formats.conversation import Prompt, parse_prompt, prompt_text

MIN_K, MAX_K = 2, 9
MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True)
class PromptSpec:
    value: Prompt  # the string, or a conversation as a tuple of modeling.formats.conversation.Message
    external_id: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The plain text: the string itself, or the conversation's ``Role: content`` turns."""
        return prompt_text(self.value)


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
    if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):  # no database can store them
        _fail(line, f"{what} contains a NUL character or an unpaired surrogate, which cannot be stored")
    return value


_SINGLE_QUOTED_FIELD = re.compile(r"^'([^']+)'")


def _prompt_value(value, line: int, *, conversations: bool = True) -> Prompt:
    """A string prompt under the string rules, or a list of messages as a tuple of ``Message``."""
    if not conversations:
        return _text(value, '"prompt"', line)
    if not isinstance(value, list):
        if not isinstance(value, str) or not value.strip():
            _fail(line, '"prompt" must be non-empty text or a list of messages')
        return _text(value, '"prompt"', line)
    try:
        messages = parse_prompt(value, "prompt")
    except ValueError as exc:  # "'prompt[1].role' is ..." quoted like this module's other fields
        _fail(line, _SINGLE_QUOTED_FIELD.sub(r'"\1"', str(exc)))
    for index, message in enumerate(messages):
        _text(message.content, f'"prompt[{index}].content"', line)
    return messages


def _objects(lines: Iterable[str]):
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # also a 5,000-digit number, nesting 100,000 deep
            _fail(number, f"not valid JSON ({getattr(exc, 'msg', exc)})")
        if not isinstance(obj, dict):
            _fail(number, "each line must be a JSON object")
        yield number, obj


def _prompt(obj: dict, line: int, *, conversations: bool = True) -> PromptSpec:
    value = _prompt_value(obj.get("prompt"), line, conversations=conversations)
    external_id = obj.get("id", "")
    if not isinstance(external_id, str) or len(external_id) > 200:
        _fail(line, '"id" must be a string of at most 200 characters')
    metadata = obj.get("metadata", {})
    if not isinstance(metadata, dict):
        _fail(line, '"metadata" must be a JSON object')
    return PromptSpec(value=value, external_id=external_id, metadata=metadata)


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


# --- Prompts as CSV: a "prompt" column, optional "id" and "metadata" (a JSON object); any other column
# (task_set, source, ...) becomes a metadata entry. Errors name the line the row starts on.

CSV_RESERVED = ("prompt", "id", "metadata")


def _csv_header(header: list[str]) -> list[str]:
    names = [name.strip() for name in header]
    for position, name in enumerate(names, start=1):
        if not name:
            _fail(1, f"column {position} of the header has no name")
        if names.count(name) > 1:
            _fail(1, f"column {name!r} appears twice in the header")
    if "prompt" not in names:
        _fail(1, f'the header has no "prompt" column (it has: {", ".join(names)})')
    return names


def _csv_metadata(cells: dict, line: int) -> dict:
    metadata = {}
    if cells.get("metadata"):
        try:
            metadata = json.loads(cells["metadata"])
        except json.JSONDecodeError as exc:
            _fail(line, f'"metadata" is not valid JSON ({exc.msg})')
        if not isinstance(metadata, dict):
            _fail(line, '"metadata" must be a JSON object')
    for name, value in cells.items():
        if name in CSV_RESERVED or value == "":
            continue
        if name in metadata:
            _fail(line, f"column {name!r} and the metadata's key {name!r} clash")
        metadata[name] = value
    return metadata


def parse_prompts_csv(text: str) -> list[PromptSpec]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise RejectedInput("the file holds no prompts", field="file")
        names = _csv_header(header)
        specs: list[tuple[int, PromptSpec]] = []
        line = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                if len(row) > len(names):
                    _fail(line, f"{len(row)} cells, but the header names {len(names)} columns")
                cells = dict(zip(names, row))
                obj = {"prompt": cells.get("prompt", ""), "id": cells.get("id", ""),
                       "metadata": _csv_metadata(cells, line)}
                specs.append((line, _prompt(obj, line, conversations=False)))
            line = reader.line_num + 1
    except csv.Error as exc:
        _fail(reader.line_num, f"not valid CSV ({exc})")
    if not specs:
        raise RejectedInput("the file holds no prompts", field="file")
    _check_unique_ids(specs)
    return [spec for _, spec in specs]


# --- Preference pairs (TRL's format): {"prompt", "chosen", "rejected", "labeler"?}, each line one
# labeler's judgement that "chosen" is better. Pairs of the same prompt and the same two texts become
# one K=2 task with a ranking per labeler. Conversational pairs have a list of messages as "prompt" and
# "chosen" and "rejected" as one-element lists of an assistant message (TRL's conversational format).

USERNAME_MAX = 150


@dataclass(frozen=True)
class PairLabels:
    """What the labeler said besides the order, from the keys a pairs export writes beside TRL's
    (``chosen_score``, ``rejected_score``: 1-7 or null; ``chosen_flags``, ``rejected_flags``: lists of
    flag keys; ``comment``), all optional; ``line`` names the line in errors found later."""

    line: int
    chosen_score: int | None = None
    rejected_score: int | None = None
    chosen_flags: tuple[str, ...] = ()
    rejected_flags: tuple[str, ...] = ()
    comment: str = ""


@dataclass(frozen=True)
class PreferenceSpec:
    prompt: Prompt  # the string, or a conversation as a tuple of modeling.formats.conversation.Message
    completions: tuple[str, str]  # in order of first appearance in the file
    judgements: tuple[tuple[str, str], ...]  # (labeler, chosen text), one per labeler
    labels: tuple[PairLabels, ...] = ()  # one per judgement, in the same order


def _username(value, line: int) -> str:
    from django.contrib.auth.validators import UnicodeUsernameValidator
    from django.core.exceptions import ValidationError

    if not isinstance(value, str) or not value.strip() or len(value) > USERNAME_MAX:
        _fail(line, f'"labeler" must be a user name of 1 to {USERNAME_MAX} characters')
    try:
        UnicodeUsernameValidator()(value)
    except ValidationError:
        _fail(line, f'"labeler" {value!r} is not a valid user name (letters, digits and @ . + - _ only)')
    return value


def _answer(value, key: str, line: int) -> str:
    """The text of "chosen" or "rejected": a string, or TRL's ``[{"role": "assistant", "content": str}]``."""
    if not isinstance(value, list):
        return _text(value, f'"{key}"', line)
    if len(value) != 1 or not isinstance(value[0], dict) or set(value[0]) != {"role", "content"} \
            or value[0]["role"] != "assistant":
        _fail(line, f'"{key}" must be text or a list of one message {{"role": "assistant", "content": text}}')
    return _text(value[0]["content"], f'"{key}[0].content"', line)


def _score(obj: dict, key: str, line: int) -> int | None:
    value = obj.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 7):
        _fail(line, f'"{key}" must be a whole number from 1 to 7, or null')
    return value


def _flag_names(obj: dict, key: str, line: int) -> tuple[str, ...]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        _fail(line, f'"{key}" must be a list of flag names')
    return tuple(sorted(set(value)))


def _pair_labels(obj: dict, line: int) -> PairLabels:
    comment = obj.get("comment", "")
    if comment != "":
        comment = _text(comment, '"comment"', line)
    return PairLabels(line=line, chosen_score=_score(obj, "chosen_score", line),
                      rejected_score=_score(obj, "rejected_score", line),
                      chosen_flags=_flag_names(obj, "chosen_flags", line),
                      rejected_flags=_flag_names(obj, "rejected_flags", line), comment=comment)


def parse_preference_pairs(lines: Iterable[str], *, default_labeler: str | None = None) -> list[PreferenceSpec]:
    groups: dict[tuple[Prompt, frozenset], dict] = {}
    for line, obj in _objects(lines):
        prompt = _prompt_value(obj.get("prompt"), line)
        chosen, rejected = _answer(obj.get("chosen"), "chosen", line), _answer(obj.get("rejected"), "rejected", line)
        if chosen == rejected:
            _fail(line, '"chosen" and "rejected" are the same text')
        if "labeler" not in obj and default_labeler is None:
            _fail(line, 'no "labeler" on the line and no --labeler given')
        labeler = _username(obj.get("labeler", default_labeler), line)
        group = groups.setdefault((prompt, frozenset((chosen, rejected))),
                                  {"completions": (chosen, rejected), "judgements": {}, "labels": {}})
        if labeler in group["judgements"]:
            _fail(line, f"{labeler!r} already judged this pair on line {group['judgements'][labeler][1]}")
        group["judgements"][labeler] = (chosen, line)
        group["labels"][labeler] = _pair_labels(obj, line)
    if not groups:
        raise RejectedInput("the file holds no preference pairs", field="file")
    return [PreferenceSpec(prompt=prompt, completions=g["completions"],
                           judgements=tuple((who, chosen) for who, (chosen, _) in g["judgements"].items()),
                           labels=tuple(g["labels"].values()))
            for (prompt, _), g in groups.items()]

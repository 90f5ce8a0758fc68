"""Rankings JSONL in, pairs JSONL out.

A rankings file has one K-way ranking per line::

    {"prompt": str | [message, ...], "completions": [str, ...], "ranking": [[int, ...], ...], "labeler": str}

``prompt`` is a string or a conversation (:mod:`modeling.formats.conversation`).
Other keys are read past: the app's export adds ``task_id`` and, by completion index, the labeler's
``scores`` (1-7 or null) and ``flags``, and their ``comment``, which no trainer here uses.
``ranking`` lists tiers best to worst; each tier holds indexes into ``completions``; a tier of two or
more indexes is a tie. Every completion appears in exactly one tier. The whole file is validated
before any of it is returned, so a bad line N never leaves lines 1..N-1 half used.

A pairs file (what TRL's ``RewardTrainer`` and most trainers take) has one comparison per line::

    {"prompt": str, "chosen": str, "rejected": str}

and, for a conversation, TRL's conversational pairs: ``{"prompt": [message, ...], "chosen":
[{"role": "assistant", "content": str}], "rejected": [...]}``.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from modeling.formats.conversation import Prompt, parse_prompt, prompt_to_json
from modeling.errors import InputError
from modeling.formats.jsonl import jsonl_records

MIN_COMPLETIONS = 2
MAX_COMPLETIONS = 9


@dataclass(frozen=True)
class Ranking:
    """One labeler's K-way ranking of one prompt's completions."""

    prompt: Prompt  # a string or a conversation
    completions: tuple[str, ...]
    tiers: tuple[tuple[int, ...], ...]  # best to worst; a tier of 2+ indexes is a tie
    labeler: str


def _tiers_problem(tiers: object, k: int) -> str | None:
    """Why ``tiers`` is not a ranking of ``k`` completions, or None when it is one."""
    if not isinstance(tiers, list) or not tiers:
        return "'ranking' must be a non-empty list of tiers"
    seen: set[int] = set()
    for position, tier in enumerate(tiers):
        if not isinstance(tier, list):
            return f"tier {position} of 'ranking' must be a list of completion indexes"
        if not tier:
            return f"tier {position} of 'ranking' is empty"
        for index in tier:
            if isinstance(index, bool) or not isinstance(index, int):
                return f"tier {position} of 'ranking' holds {index!r}, not a completion index"
            if not 0 <= index < k:
                return f"'ranking' names completion {index}, but there are only {k} (indexes 0..{k - 1})"
            if index in seen:
                return f"'ranking' ranks completion {index} twice"
            seen.add(index)
    missing = sorted(set(range(k)) - seen)
    if missing:
        return f"'ranking' leaves out completion(s) {missing}"
    return None


def parse_ranking(record: object) -> Ranking:
    """Check one decoded JSON line and return it as a :class:`Ranking`; ValueError says what is wrong."""
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object")
    for key in ("prompt", "completions", "ranking", "labeler"):
        if key not in record:
            raise ValueError(f"missing key '{key}'")
    prompt, completions, labeler = record["prompt"], record["completions"], record["labeler"]
    prompt = parse_prompt(prompt)
    if not isinstance(labeler, str) or not labeler.strip():
        raise ValueError("'labeler' must be a non-empty string")
    if not isinstance(completions, list):
        raise ValueError("'completions' must be a list of strings")
    if not MIN_COMPLETIONS <= len(completions) <= MAX_COMPLETIONS:
        raise ValueError(
            f"'completions' has {len(completions)} items; K must be {MIN_COMPLETIONS} to {MAX_COMPLETIONS}"
        )
    for index, text in enumerate(completions):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"completion {index} must be a non-empty string")
    problem = _tiers_problem(record["ranking"], len(completions))
    if problem:
        raise ValueError(problem)
    return Ranking(
        prompt=prompt,
        completions=tuple(completions),
        tiers=tuple(tuple(tier) for tier in record["ranking"]),
        labeler=labeler,
    )


def read_rankings(path: str | os.PathLike) -> list[Ranking]:
    """Read and validate a whole rankings JSONL file; blank lines are skipped.

    Raises :class:`InputError` naming the file and the (1-based) line of the first problem.
    """
    path = str(path)
    rankings: list[Ranking] = []
    for line_number, record in jsonl_records(path, "rankings"):
        try:
            rankings.append(parse_ranking(record))
        except ValueError as exc:
            raise InputError(str(exc), path=path, line=line_number) from None
    if not rankings:
        raise InputError("no rankings in file", path=path)
    return rankings


def pair_record(prompt: Prompt, chosen: str, rejected: str) -> dict:
    """One line of TRL's pairs format: strings for a string prompt, conversational for a conversation."""
    if isinstance(prompt, str):
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    return {"prompt": prompt_to_json(prompt), "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


def ranking_record(ranking: Ranking) -> dict:
    """The rankings-JSONL line of ``ranking`` (a conversation keeps its messages)."""
    return {"prompt": prompt_to_json(ranking.prompt), "completions": list(ranking.completions),
            "ranking": [list(tier) for tier in ranking.tiers], "labeler": ranking.labeler}


def pairs_from_rankings(rankings: Iterable[Ranking]) -> list[dict]:
    """Every non-tied (chosen, rejected) pair of every ranking, in TRL's pairs format; ties dropped."""
    from modeling.formats.comparisons import comparisons_from_tiers

    return [pair_record(ranking.prompt, ranking.completions[better], ranking.completions[worse])
            for ranking in rankings for better, worse in comparisons_from_tiers(ranking.tiers)]


def write_jsonl_atomic(records: Iterable[dict], path: str | os.PathLike) -> int:
    """Write ``records`` one JSON object a line, through a temp file renamed into place; returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def write_pairs(rankings: Iterable[Ranking], path: str | os.PathLike) -> int:
    """Write the pairs JSONL of ``rankings`` to ``path``; returns how many pairs were written."""
    return write_jsonl_atomic(pairs_from_rankings(rankings), path)

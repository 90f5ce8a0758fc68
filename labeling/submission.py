"""Validation of a ranking submission: pure functions from raw JSON values to clean values.

Each raises :class:`RejectedInput` naming the field and saying what is wrong in words a labeler
understands. The service calls them before writing anything.
"""
from __future__ import annotations

from collections import Counter

from labeling.errors import RejectedInput, is_finite_number

SCORE_MIN, SCORE_MAX = 1, 7
MAX_SECONDS = 24 * 3600


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _join(ids) -> str:
    return ", ".join(str(i) for i in sorted(ids))


def clean_tiers(tiers, completion_ids: set[int]) -> list[list[int]]:
    """Tiers best to worst, each a non-empty list of ids; together exactly the task's completions."""
    if not isinstance(tiers, list) or not tiers:
        raise RejectedInput("Rank the completions: tiers must be a list of tiers, best first.", field="tiers")
    seen: list[int] = []
    for number, tier in enumerate(tiers, start=1):
        if not isinstance(tier, list):
            raise RejectedInput(f"Tier {number} must be a list of completion ids.", field="tiers")
        if not tier:
            raise RejectedInput(f"Tier {number} is empty: every tier needs at least one completion.", field="tiers")
        for value in tier:
            if not _is_id(value):
                raise RejectedInput(f"Tier {number} contains {value!r}, which is not a completion id.", field="tiers")
        seen.extend(tier)
    foreign = set(seen) - completion_ids
    if foreign:
        raise RejectedInput(f"Completion(s) {_join(foreign)} are not part of this task.", field="tiers")
    repeated = [cid for cid, n in Counter(seen).items() if n > 1]
    if repeated:
        raise RejectedInput(f"Completion(s) {_join(repeated)} are ranked more than once.", field="tiers")
    missing = completion_ids - set(seen)
    if missing:
        raise RejectedInput(
            f"Completion(s) {_join(missing)} are missing: rank every completion of the task exactly once.",
            field="tiers",
        )
    return [list(tier) for tier in tiers]


def _completion_key(key, completion_ids: set[int], field: str) -> str:
    try:
        cid = int(key)
    except (TypeError, ValueError):
        raise RejectedInput(f"{field} has a key {key!r} that is not a completion id.", field=field) from None
    if cid not in completion_ids:
        raise RejectedInput(f"{field} names completion {cid}, which is not part of this task.", field=field)
    return str(cid)


def clean_scores(scores, completion_ids: set[int]) -> dict[str, int]:
    """Optional 1-7 score per completion: ``{"<completion id>": int}``."""
    if scores in (None, ""):
        return {}
    if not isinstance(scores, dict):
        raise RejectedInput("scores must map completion ids to a score from 1 to 7.", field="scores")
    clean = {}
    for key, value in scores.items():
        cid = _completion_key(key, completion_ids, "scores")
        if value is None:
            continue
        if not _is_id(value) or not SCORE_MIN <= value <= SCORE_MAX:
            raise RejectedInput(
                f"The score of completion {cid} must be a whole number from 1 to 7, not {value!r}.", field="scores"
            )
        clean[cid] = value
    return clean


def clean_flags(flags, completion_ids: set[int], allowed: list[str]) -> dict[str, list[str]]:
    """Optional flags per completion: ``{"<completion id>": ["hallucination", ...]}``, each one of
    ``allowed`` (the project's flag keys, in the order its refusal lists them)."""
    if flags in (None, ""):
        return {}
    if not isinstance(flags, dict):
        raise RejectedInput("flags must map completion ids to a list of flags.", field="flags")
    clean = {}
    for key, values in flags.items():
        cid = _completion_key(key, completion_ids, "flags")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise RejectedInput(f"The flags of completion {cid} must be a list of flag names.", field="flags")
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            choose = f"choose from {', '.join(allowed)}" if allowed else "this project has no flags"
            raise RejectedInput(f"Unknown flag {unknown[0]!r}; {choose}.", field="flags")
        if values:
            clean[cid] = sorted(set(values))
    return clean


def refuse_unstorable_text(text: str, field: str) -> None:
    """A NUL character (PostgreSQL refuses it in text) or a lone surrogate (not UTF-8) cannot be stored."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        storable = False
    else:
        storable = "\x00" not in text
    if not storable:
        raise RejectedInput(
            f"The {field} contains a character that cannot be stored (a NUL or a lone surrogate).", field=field
        )


def clean_comment(comment, max_chars: int) -> str:
    if comment is None:
        return ""
    if not isinstance(comment, str):
        raise RejectedInput("The comment must be text.", field="comment")
    refuse_unstorable_text(comment, "comment")
    if len(comment) > max_chars:
        raise RejectedInput(
            f"The comment is {len(comment):,} characters long; the limit is {max_chars:,}.", field="comment"
        )
    return comment.strip()


def clean_seconds(seconds) -> float | None:
    if seconds is None:
        return None
    if not is_finite_number(seconds):
        raise RejectedInput("seconds must be a number.", field="seconds")
    if not 0 <= seconds <= MAX_SECONDS:
        raise RejectedInput(f"seconds must be between 0 and {MAX_SECONDS}, not {seconds}.", field="seconds")
    return float(seconds)


def clean_submission_id(submission_id) -> str:
    if not isinstance(submission_id, str) or not 1 <= len(submission_id.strip()) <= 64:
        raise RejectedInput("submission_id must be a non-empty string of at most 64 characters.", field="submission_id")
    refuse_unstorable_text(submission_id, "submission_id")
    return submission_id.strip()

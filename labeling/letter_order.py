"""A ranking written with the letters pages show for a task's completions: ``B > A = D > C``.

The completions of a task are lettered A, B, C... in id order (the task page and the review pages
do the same). ``>`` separates tiers best first, ``=`` ties completions within a tier; spaces and case
do not matter. :func:`tiers_from_letters` refuses bad text in those letters, so a reviewer typing
a correction reads what is wrong in the terms they typed; the service still checks the resulting
tiers with the labeler's own rules (:func:`labeling.submission.clean_tiers`).
"""
from __future__ import annotations

from labeling.errors import RejectedInput


def completion_letters(completion_ids) -> dict[int, str]:
    """Completion id -> letter, A for the lowest id."""
    return {cid: chr(ord("A") + i) for i, cid in enumerate(sorted(completion_ids))}


def tiers_to_letters(tiers, letters: dict[int, str]) -> str:
    """``[[3], [1, 4], [2]]`` -> ``C > A = D > B`` (an id without a letter shows as ``?``)."""
    return " > ".join(" = ".join(letters.get(cid, "?") for cid in tier) for tier in tiers or [])


def tiers_from_letters(text, letters: dict[int, str], *, field: str = "corrected_tiers") -> list[list[int]]:
    """``B > A = D > C`` -> tiers of completion ids; every letter of the task exactly once."""
    ids = {letter: cid for cid, letter in letters.items()}
    known = ", ".join(sorted(ids))
    if not isinstance(text, str) or not text.strip():
        raise RejectedInput(f"Write the order with the letters {known}, best first, e.g. B > A = C.", field=field)
    tiers, seen = [], []
    for number, part in enumerate(text.upper().split(">"), start=1):
        names = [name.strip() for name in part.split("=")]
        if not all(names):
            raise RejectedInput(f"Tier {number} of {text.strip()!r} is empty: write a letter on each side of "
                                "every > and =.", field=field)
        unknown = [name for name in names if name not in ids]
        if unknown:
            raise RejectedInput(f"{unknown[0]!r} is not a completion of this task: use the letters {known}.",
                                field=field)
        tiers.append([ids[name] for name in names])
        seen += names
    repeated = sorted({name for name in seen if seen.count(name) > 1})
    missing = sorted(set(ids) - set(seen))
    if repeated or missing:
        problem = f"{', '.join(repeated)} written more than once" if repeated else f"{', '.join(missing)} missing"
        raise RejectedInput(f"Rank every completion exactly once ({problem}).", field=field)
    return tiers

"""Labelers' 1-7 scores and flags summed per model version: one ranking at a time, the same way for
the cached daily roll-up (``labeling/services/version_rollups.py``) and for the stats selector's
pass over rankings (``labeling/selectors/version_labels.py``), so the two agree to the unit.

A total is ``{"ranked": n, "scored": n, "score_sum": n, "flagged": {key: n}}``. Scores and flags are
JSON keyed by completion id as text; ``version_of`` maps those ids to the model version that sampled
the completion (an id it lacks counts as imported: None). The Django admin edits both as raw JSON,
so only what the submit service could have written counts: a whole score from 1 to 7, a flag list
of text keys (every key is counted; the reader charts the project's own).
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from itertools import islice

from labeling.submission import SCORE_MAX, SCORE_MIN


def new_total() -> dict:
    return {"ranked": 0, "scored": 0, "score_sum": 0, "flagged": defaultdict(int)}


def totals_by_version() -> defaultdict:
    """Model version id (None: imported) -> its total, created on first use."""
    return defaultdict(new_total)


def add_judgements(totals: dict, version_of: dict[str, int], scores, flagged) -> None:
    """Add one ranking's ``scores`` and ``flagged`` (decoded JSON) to ``totals`` by version."""
    for cid, score in (scores.items() if isinstance(scores, dict) else ()):
        if isinstance(score, int) and not isinstance(score, bool) and SCORE_MIN <= score <= SCORE_MAX:
            total = totals[version_of.get(cid)]
            total["scored"] += 1
            total["score_sum"] += score
    for cid, names in (flagged.items() if isinstance(flagged, dict) else ()):
        for key in names if isinstance(names, list) else ():
            if isinstance(key, str):
                totals[version_of.get(cid)]["flagged"][key] += 1


def decoded(rows: Iterator[tuple], chunk_size: int) -> Iterator[tuple]:
    """Each row with its last two items, JSON text (scores, flags), decoded: one ``json.loads`` per
    chunk of rows, since Django's JSONField decodes each value in a Python call (most of the time at 10k)."""
    while chunk := list(islice(rows, chunk_size)):
        scores = json.loads("[" + ",".join(row[-2] for row in chunk) + "]")
        flags = json.loads("[" + ",".join(row[-1] for row in chunk) + "]")
        for row, score, flag in zip(chunk, scores, flags):
            yield (*row[:-2], score, flag)

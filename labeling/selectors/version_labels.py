"""What labelers said about each policy version's completions: flag rates and mean 1-7 scores.

For each model version that sampled completions (``Completion.model_version``), over the rankings a
:class:`labeling.selectors.rankings.RankingFilter` selects (the stats page's: project, task sets,
rounds, dates; :func:`rankings_selected`, so whatever it leaves out, this leaves out):

* ``ranked``: its completions as ranked, one per ranking that ranked one (a completion three
  labelers ranked counts three times: each is a judgement);
* ``flag_rates[key]``: the share of those judgements that carried the flag ``key``;
* ``mean_score``: the mean of the 1-7 scores given to them (``scored`` of them had one).

Completions no model version sampled (imported, seed, demo) are one group, ``"imported"``, shown
first as the baseline; then the versions by creation, oldest first. Flags are the project's own
(``Project.flags``), in its order and with its labels; a stored key the project no longer offers is
not charted.

How: the database counts the ranked completions per version (every completion of a ranked task is
ranked). Scores and flags live in JSON fields keyed by completion id, which no portable aggregate
can join to the completion's version, so they take one bounded pass in Python: the filter's sampled
completions' versions (one query), then the rankings' ``scores`` and ``flags`` read as JSON text
through a cursor and decoded a chunk at a time, never as model objects
(``benchmarks/bench_version_labels.py``: 10,000 rankings in 0.08-0.13 s on a busy 2-core machine).
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from itertools import islice

from django.db.models import Count, TextField
from django.db.models.functions import Cast

from labeling.label_choices import label_choices
from labeling.models import Completion, ModelVersion
from labeling.selectors.rankings import RankingFilter, rankings_selected, task_conditions

IMPORTED = "imported"


def _versions_of_completions(f: RankingFilter) -> dict[str, int]:
    """Completion id as text (the rankings' JSON keys) -> the model version that sampled it, for the
    filter's tasks (sampled ones only)."""
    sampled = Completion.objects.filter(task_conditions(f, "task__"), model_version__isnull=False)
    return {str(pk): version for pk, version in sampled.values_list("pk", "model_version_id").iterator(chunk_size=5000)}


def _decoded(rows: Iterator[tuple[str, str]], chunk_size: int) -> Iterator[tuple[dict, dict]]:
    """(scores, flags) of each ranking from their JSON text, one ``json.loads`` per chunk of rankings:
    Django's JSONField decodes each value in a Python call, which was most of the time at 10k."""
    while chunk := list(islice(rows, chunk_size)):
        scores = json.loads("[" + ",".join(text for text, _ in chunk) + "]")
        flags = json.loads("[" + ",".join(text for _, text in chunk) + "]")
        yield from zip(scores, flags)


def stats_labels_by_version(f: RankingFilter, *, chunk_size: int = 2000) -> dict:
    """``{"flags": [(key, label), ...], "versions": [row, ...]}``, one row per version with ranked
    completions: ``version`` (id, None for imported), ``name``, ``ranked``, ``scored``,
    ``mean_score`` (None: none scored), ``flag_counts`` and ``flag_rates`` ({key: ...} over the
    project's flags)."""
    flags = label_choices(f.project.flags)
    keys = {key for key, _ in flags}
    rankings = rankings_selected(f)
    totals: dict[int | None, dict] = defaultdict(lambda: {"ranked": 0, "scored": 0, "score_sum": 0,
                                                          "flagged": defaultdict(int)})
    # Every completion of a ranked task is ranked: counted by the database, a ranking per completion.
    for version, n in rankings.values_list("task__completions__model_version").annotate(n=Count("pk")).order_by():
        totals[version]["ranked"] += n
    version_of = _versions_of_completions(f)
    texts = rankings.values_list(Cast("scores", TextField()), Cast("flags", TextField())).iterator(chunk_size=chunk_size)
    for scores, flagged in _decoded(texts, chunk_size):
        scores, flagged = (value if isinstance(value, dict) else {} for value in (scores, flagged))  # raw JSON
        for cid, score in scores.items():
            if isinstance(score, int) and not isinstance(score, bool):  # the admin edits raw JSON too
                total = totals[version_of.get(cid)]
                total["scored"] += 1
                total["score_sum"] += score
        for cid, names in flagged.items():
            total = totals[version_of.get(cid)]
            for key in names if isinstance(names, list) else ():
                if key in keys:
                    total["flagged"][key] += 1
    totals = {pk: total for pk, total in totals.items() if total["ranked"]}
    versions = ModelVersion.objects.filter(pk__in=[pk for pk in totals if pk is not None])
    ordered = [(None, IMPORTED)] * (None in totals) + list(versions.order_by("created_at", "pk").values_list("pk", "name"))
    return {"flags": flags, "versions": [_row(pk, name, totals[pk], flags) for pk, name in ordered]}


def _row(pk: int | None, name: str, total: dict, flags: list[tuple[str, str]]) -> dict:
    ranked = total["ranked"]
    return {
        "version": pk, "name": name, "ranked": ranked, "scored": total["scored"],
        "mean_score": total["score_sum"] / total["scored"] if total["scored"] else None,
        "flag_counts": {key: total["flagged"][key] for key, _ in flags},
        "flag_rates": {key: total["flagged"][key] / ranked if ranked else None for key, _ in flags},
    }

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

How: like every other figure of the page, a sum of daily roll-ups (``VersionLabelDay``, kept by the
agreement cache: ``labeling/services/version_rollups.py``), a few hundred rows whatever the number
of rankings, read as the cache stands (the page and the API count new rankings first). The roll-ups
carry the project, set, round and day; a filter on anything else (labelers, task ids, gold,
min_agreement, rejected rankings kept) is answered by one bounded pass over the rankings instead:
the database counts the ranked completions per version, and the scores and flags JSON, which no
portable aggregate can join to a completion's version, is read as text through a cursor and decoded
a chunk at a time (``benchmarks/bench_version_labels.py`` times both). The two sum one ranking the
same way (:mod:`labeling.version_judgements`); tests check they agree.
"""
from __future__ import annotations

import json
from dataclasses import replace

from django.db.models import Count, TextField
from django.db.models.functions import Cast

from labeling.label_choices import label_choices
from labeling.models import Completion, ModelVersion
from labeling.selectors.rankings import RankingFilter, rankings_selected, task_conditions
from labeling.selectors.stats import _days as rollups_in_filter
from labeling.stats_models import VersionLabelDay
from labeling.version_judgements import add_judgements, decoded, totals_by_version

IMPORTED = "imported"


def rollups_answer(f: RankingFilter) -> bool:
    """Whether the roll-ups hold the answer: the filter sets nothing but project, sets, rounds and dates."""
    return replace(f, task_sets=(), rounds=(), since=None, until=None) == RankingFilter(project=f.project)


def _totals_from_rollups(f: RankingFilter) -> dict:
    totals = totals_by_version()
    rows = list(VersionLabelDay.objects.filter(rollups_in_filter(f)).values_list(
        "model_version", "ranked", "scored", "score_sum", Cast("flag_counts", TextField())))
    # One json.loads for every row's flag counts: decoding them one by one was most of the time.
    for (version, ranked, scored, score_sum, _text), flag_counts in zip(
            rows, json.loads("[" + ",".join(row[-1] for row in rows) + "]")):
        total = totals[version]
        total["ranked"] += ranked
        total["scored"] += scored
        total["score_sum"] += score_sum
        for key, n in flag_counts.items():
            total["flagged"][key] += n
    return totals


def _versions_of_completions(f: RankingFilter) -> dict[str, int]:
    """Completion id as text (the rankings' JSON keys) -> the model version that sampled it, for the
    filter's tasks (sampled ones only)."""
    sampled = Completion.objects.filter(task_conditions(f, "task__"), model_version__isnull=False)
    return {str(pk): version for pk, version in sampled.values_list("pk", "model_version_id").iterator(chunk_size=5000)}


def labels_by_version_from_rankings(f: RankingFilter, *, chunk_size: int = 2000) -> dict:
    """Version id (None: imported) -> total, by one pass over the filter's rankings (any filter)."""
    rankings = rankings_selected(f)
    totals = totals_by_version()
    # Every completion of a ranked task is ranked: counted by the database, a ranking per completion.
    for version, n in rankings.values_list("task__completions__model_version").annotate(n=Count("pk")).order_by():
        totals[version]["ranked"] += n
    version_of = _versions_of_completions(f)
    texts = rankings.values_list(Cast("scores", TextField()), Cast("flags", TextField())).iterator(chunk_size=chunk_size)
    for scores, flagged in decoded(texts, chunk_size):
        add_judgements(totals, version_of, scores, flagged)
    return totals


def stats_labels_by_version(f: RankingFilter, *, chunk_size: int = 2000, from_rankings: bool | None = None) -> dict:
    """``{"flags": [(key, label), ...], "versions": [row, ...]}``, one row per version with ranked
    completions: ``version`` (id, None for imported), ``name``, ``ranked``, ``scored``,
    ``mean_score`` (None: none scored), ``flag_counts`` and ``flag_rates`` ({key: ...} over the
    project's flags). From the roll-ups when they answer the filter, unless ``from_rankings`` says
    which (True: the pass over rankings, for any filter; the tests and the benchmark compare them)."""
    flags = label_choices(f.project.flags)
    if from_rankings is None:
        from_rankings = not rollups_answer(f)
    elif not from_rankings and not rollups_answer(f):
        raise ValueError(f"the roll-ups cannot answer {f.describe()}")
    totals = labels_by_version_from_rankings(f, chunk_size=chunk_size) if from_rankings else _totals_from_rollups(f)
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

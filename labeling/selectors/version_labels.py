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

How: scores and flags live in JSON fields keyed by completion id, which no portable aggregate can
join to the completion's version, so this is one bounded pass in Python: the filter's sampled
completions' versions (one query), then the rankings' ``(tiers, scores, flags)`` read as plain values
through a cursor, never as model objects. RESULTS gives the time at 10,000 rankings.
"""
from __future__ import annotations

from collections import defaultdict

from labeling.label_choices import label_choices
from labeling.models import Completion, ModelVersion
from labeling.selectors.rankings import RankingFilter, rankings_selected, task_conditions

IMPORTED = "imported"


def _versions_of_completions(f: RankingFilter) -> dict[int, int]:
    """Completion id -> the model version that sampled it, for the filter's tasks (sampled ones only)."""
    sampled = Completion.objects.filter(task_conditions(f, "task__"), model_version__isnull=False)
    return dict(sampled.values_list("pk", "model_version_id").iterator(chunk_size=5000))


def stats_labels_by_version(f: RankingFilter, *, chunk_size: int = 2000) -> dict:
    """``{"flags": [(key, label), ...], "versions": [row, ...]}``, one row per version with ranked
    completions: ``version`` (id, None for imported), ``name``, ``ranked``, ``scored``,
    ``mean_score`` (None: none scored), ``flag_counts`` and ``flag_rates`` ({key: ...} over the
    project's flags)."""
    flags = label_choices(f.project.flags)
    keys = {key for key, _ in flags}
    version_of = _versions_of_completions(f)
    totals: dict[int | None, dict] = defaultdict(lambda: {"ranked": 0, "scored": 0, "score_sum": 0,
                                                          "flagged": defaultdict(int)})
    rows = rankings_selected(f).values_list("tiers", "scores", "flags")
    for tiers, scores, flagged in rows.iterator(chunk_size=chunk_size):
        for tier in tiers:
            for cid in tier:
                total = totals[version_of.get(cid)]
                total["ranked"] += 1
                score = scores.get(str(cid))
                if score is not None:
                    total["scored"] += 1
                    total["score_sum"] += score
                for key in flagged.get(str(cid), ()):
                    if key in keys:
                        total["flagged"][key] += 1
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

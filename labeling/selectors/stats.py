"""What the agreement dashboard shows, read from the cached agreement figures of one project.

``labeling/services/stats.py`` keeps per-ranking, per-pair and per-task rows current as rankings
arrive, and sums them per UTC day (``LabelerDay``, ``PairDay``, ``TaskDay``). A page sums a few
hundred roll-up rows whatever the number of rankings; only the lowest-agreement tasks (an index
walk on ``TaskAgreement.share``) and the median seconds (an index walk per labeler) touch the
per-row tables.

Filtering: a :class:`labeling.selectors.rankings.RankingFilter`, of which the figures read the
project, task sets, rounds and date range (UTC dates, both ends included). A ranking is in the range
when it was submitted in it; a pair of rankings when its later ranking was (the moment the two became
comparable); a task when its latest ranking was (its figures cover all its rankings). A task is in a
round when that round's sample step made it (``RankingTask.source_run.training_round``), and in a
set by its ``task_set``; every cached row and roll-up carries both keys.

Projects: every cached row and roll-up carries its task's project, so a project's figures are sums
over its own rows: the cost does not grow with what the other projects hold.

Reward-model agreement: :func:`reward_model_agreement` reads the project's newest reward
``ModelVersion``'s held-out accuracy per labeler (``reward/agreement/<username>``) and the labeler
table shows it as one more column; :func:`reward_model_reliability` reads the same version's
``reward/labeler_reliability`` ({username: eta}, trained with ``labeler_reliability``), shown beside it.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum

from labeling import agreement
from labeling.letter_order import completion_letters, tiers_to_letters
from labeling.models import (
    LabelerDay, ModelVersion, PairDay, Project, RankingStats, RankingTask, Skip, TaskAgreement,
    TaskDay, TrainingRound,
)
from labeling.selectors.rankings import RankingFilter, submitted_between
from labeling.selectors.review_items import task_review_decisions
from modeling.training.reward_config import RELIABILITY_FLAG_BELOW

MIN_PAIRS_FOR_OUTLIER = 20  # a labeler with fewer compared pairs is not judged on that figure
_LABELER_SUMS = ("consensus_agree", "consensus_compared", "gold_agree", "gold_compared", "first_shown_credit",
                 "first_shown_chance")


def _keys(f: RankingFilter, *, through_task: bool = False) -> Q:
    """The project, round and task-set keys: on a cached row itself, or (``through_task``) on a row's task."""
    q = Q(task__prompt__project=f.project) if through_task else Q(project=f.project)
    if f.rounds:
        q &= Q(**{"task__source_run__training_round__in" if through_task else "training_round__in": f.rounds})
    if f.task_sets:
        q &= Q(**{"task__task_set__in" if through_task else "task_set__in": f.task_sets})
    return q


def _days(f: RankingFilter) -> Q:
    """Cached rows and roll-ups (keyed by project, UTC ``day``, task set and round) in the filter."""
    q = _keys(f)
    if f.since:
        q &= Q(day__gte=f.since)
    if f.until:
        q &= Q(day__lte=f.until)
    return q


def _labeler_source(f: RankingFilter):
    """(rows, sums): the LabelerDay rows in the filter and an aggregate per column that sums them."""
    sums = {name: Sum(name) for name in (*_LABELER_SUMS, "rankings", "follows_display_order")}
    return LabelerDay.objects.filter(_days(f)), sums


def _pair_source(f: RankingFilter):
    """(rows, sums) as :func:`_labeler_source`, for PairDay."""
    return PairDay.objects.filter(_days(f)), {"a": Sum("agree"), "c": Sum("compared"), "tau": Sum("tau_b_sum"),
                                              "tau_n": Sum("tau_b_count")}


def _pct(agree, compared):
    return agreement.ratio(agree or 0, compared or 0)


def stats_task_days(f: RankingFilter) -> dict[int | None, dict]:
    """Tasks summed per training round (None: tasks of no round): ``tasks``, ``tasks_multi`` and
    alpha's coincidence ``cells``. Decoding these cells is the dearest read of the page, so the view
    reads them once for the totals and the by-round table."""
    by_round: dict[int | None, dict] = defaultdict(lambda: {"tasks": 0, "tasks_multi": 0, "cells": {}})
    rows = TaskDay.objects.filter(_days(f)).values_list("training_round", "tasks", "tasks_multi", "coincidences")
    for round_id, n, multi, cells in rows:
        total = by_round[round_id]
        total["tasks"] += n
        total["tasks_multi"] += multi
        agreement.add_coincidences(total["cells"], cells)
    return dict(by_round)


def _skips(f: RankingFilter):
    return Skip.objects.filter(_keys(f, through_task=True), submitted_between(f, "created_at"))


def stats_totals(f: RankingFilter, *, task_days: dict | None = None) -> dict:
    rows, sums = _labeler_source(f)
    rankings = rows.aggregate(n=sums["rankings"], labelers=Count("labeler", distinct=True))
    pair_rows, pair_sums = _pair_source(f)
    pairs = pair_rows.aggregate(**pair_sums)
    tasks = tasks_multi = 0
    coincidences: dict = {}
    for part in (stats_task_days(f) if task_days is None else task_days).values():
        tasks, tasks_multi = tasks + part["tasks"], tasks_multi + part["tasks_multi"]
        agreement.add_coincidences(coincidences, part["cells"])
    return {
        "rankings": rankings["n"] or 0,
        "labelers": rankings["labelers"],
        "tasks_ranked": tasks,
        "tasks_multi": tasks_multi,
        "skips": _skips(f).count(),
        "pairs_compared": pairs["c"] or 0,
        "agreement": _pct(pairs["a"], pairs["c"]),
        "tau_b": agreement.ratio(pairs["tau"] or 0, pairs["tau_n"] or 0),
        "alpha": agreement.alpha_ordinal(coincidences),
    }


def stats_throughput(f: RankingFilter) -> list[tuple[dt.date, int]]:
    """Rankings per UTC day."""
    rows, sums = _labeler_source(f)
    return [(row["day"], row["n"]) for row in rows.values("day").annotate(n=sums["rankings"]).order_by("day")]


def stats_agreement_by_week(f: RankingFilter) -> list[tuple[dt.date, float | None, int]]:
    """(Monday, pairwise agreement, pairs compared) per week."""
    weeks: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    rows, sums = _pair_source(f)
    for row in rows.values("day").annotate(a=sums["a"], c=sums["c"]).order_by():
        week = weeks[row["day"] - dt.timedelta(days=row["day"].weekday())]
        week[0] += row["a"]
        week[1] += row["c"]
    return [(monday, _pct(a, c), c) for monday, (a, c) in sorted(weeks.items())]


def stats_agreement_by_round(f: RankingFilter, *, task_days: dict | None = None) -> list[dict]:
    """Agreement on the tasks of each training round (the round whose sample step made them).

    One dict per round with rankings in the filter, oldest round first, after one for the tasks of
    no round (imported, the demo, samples taken outside a round) if any: ``round`` (a TrainingRound
    or None), ``rankings``, ``pairs_compared``, ``agreement``, ``tau_b`` and ``alpha``.
    """
    by_round: dict[int | None, dict] = defaultdict(lambda: {"rankings": 0, "a": 0, "c": 0, "tau": 0.0, "tau_n": 0})
    rows, sums = _labeler_source(f)
    for row in rows.values("training_round").annotate(n=sums["rankings"]).order_by():
        by_round[row["training_round"]]["rankings"] += row["n"]
    pair_rows, pair_sums = _pair_source(f)
    for row in pair_rows.values("training_round").annotate(**pair_sums).order_by():
        totals = by_round[row["training_round"]]
        for key in ("a", "c", "tau", "tau_n"):
            totals[key] += row[key] or 0
    cells = {pk: part["cells"] for pk, part in (stats_task_days(f) if task_days is None else task_days).items()}
    rounds = TrainingRound.objects.filter(project=f.project).in_bulk([pk for pk in by_round if pk is not None])
    order = sorted(by_round, key=lambda pk: (pk is not None, pk or 0))
    return [{"round": rounds.get(pk), "rankings": by_round[pk]["rankings"], "pairs_compared": by_round[pk]["c"],
             "agreement": _pct(by_round[pk]["a"], by_round[pk]["c"]),
             "tau_b": agreement.ratio(by_round[pk]["tau"], by_round[pk]["tau_n"]),
             "alpha": agreement.alpha_ordinal(cells.get(pk, {}))}
            for pk in order if by_round[pk]["rankings"] and (pk is None or pk in rounds)]


def stats_round_choices(project: Project) -> list[tuple[int, str]]:
    """(id, label) of the project's training rounds, oldest first (the filter's choices)."""
    rounds = TrainingRound.objects.filter(project=project).order_by("pk").only("pk", "algo", "status")
    return [(r.pk, str(r)) for r in rounds]


def stats_task_sets(project: Project) -> list[str]:
    """The project's task sets, by name (the filter's choices)."""
    return list(RankingTask.objects.filter(prompt__project=project).exclude(task_set="").order_by("task_set")
                .values_list("task_set", flat=True).distinct())


def stats_pair_cells(f: RankingFilter) -> dict[tuple[int, int], tuple[int, int]]:
    """(labeler a, labeler b) with a < b -> (agreeing pairs, compared pairs)."""
    rows, sums = _pair_source(f)
    rows = rows.values("labeler_a", "labeler_b").annotate(a=sums["a"], c=sums["c"]).order_by()
    return {(row["labeler_a"], row["labeler_b"]): (row["a"], row["c"]) for row in rows}


def _median_seconds(f: RankingFilter) -> dict[int, float]:
    """Each labeler's median seconds per ranking: one count, then one index walk per labeler."""
    timed = RankingStats.objects.filter(_keys(f), submitted_between(f, "created_at"),
                                        seconds__isnull=False)
    counts = timed.values("labeler").annotate(n=Count("*")).order_by().values_list("labeler", "n")
    medians = {}
    for labeler_id, n in counts:
        middle = list(timed.filter(labeler_id=labeler_id).order_by("seconds")
                      .values_list("seconds", flat=True)[(n - 1) // 2: n // 2 + 1])
        medians[labeler_id] = sum(middle) / len(middle)
    return medians


REWARD_AGREEMENT_PREFIX = "reward/agreement/"


def reward_model_agreement(project: Project) -> dict[str, float]:
    """Username -> agreement of the project's newest reward model with that labeler on held-out tasks.

    ``modeling/training/reward_training.py`` writes ``"reward/agreement/<username>": rate`` into the reward
    ``ModelVersion.metrics``: the share of the labeler's held-out comparisons (their rankings of
    prompts kept out of training, ties left out) that the model scores the same way round. Values
    that are not a number from 0 to 1 are ignored. Empty until a reward model exists.
    """
    latest = _latest_reward_metrics(project)
    return {key[len(REWARD_AGREEMENT_PREFIX):]: float(value) for key, value in latest.items()
            if key.startswith(REWARD_AGREEMENT_PREFIX) and len(key) > len(REWARD_AGREEMENT_PREFIX)
            and _is_probability(value)}


def reward_model_reliability(project: Project) -> dict[str, float]:
    """Username -> reliability eta (0.5 random, 1 perfect) the project's newest reward model learnt for
    that labeler (``reward/labeler_reliability``); empty when it was trained without it. Values that
    are not a number from 0 to 1 are ignored."""
    return labeler_reliability_of(_latest_reward_metrics(project))


def labeler_reliability_of(metrics: dict) -> dict[str, float]:
    """``reward/labeler_reliability`` of one reward version's metrics, only the values from 0 to 1."""
    found = metrics.get("reward/labeler_reliability") if isinstance(metrics, dict) else None
    return {str(name): float(value) for name, value in (found.items() if isinstance(found, dict) else ())
            if _is_probability(value)}


def _latest_reward_metrics(project: Project) -> dict:
    latest = (ModelVersion.objects.filter(project=project, kind=ModelVersion.Kind.REWARD).order_by("-created_at", "-id")
              .values_list("metrics", flat=True).first())
    return latest if isinstance(latest, dict) else {}


def _is_probability(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1


# Labeler-table columns: key, heading, which side is bad, smallest spread used when flagging.
COLUMNS = [
    ("rankings", "Rankings", None, None),
    ("skip_rate", "Skip rate", "high", 0.05),
    ("pair_agreement", "Agreement with others", "low", 0.03),
    ("consensus", "Agreement with consensus", "low", 0.03),
    ("gold", "Gold accuracy", "low", 0.03),
    ("median_seconds", "Median seconds", "low", 2.0),
    ("display_order", "Submitted as shown", "high", 0.03),
    ("first_shown", "First shown wins (÷ chance)", "high", 0.1),
    ("reward_model", "Reward model agreement", None, None),
    ("reliability", "Reliability (reward model)", None, None),
]


def stats_labeler_rows(f: RankingFilter, *, cells=None) -> list[dict]:
    """One row per labeler with rankings or skips in range: the figures of COLUMNS and ``flags``."""
    source, sums = _labeler_source(f)
    per = {row["labeler"]: row for row in source.values("labeler").annotate(
        rankings=sums["rankings"], cons_a=sums["consensus_agree"], cons_c=sums["consensus_compared"],
        gold_a=sums["gold_agree"], gold_c=sums["gold_compared"], shown=sums["follows_display_order"],
        credit=sums["first_shown_credit"], chance=sums["first_shown_chance"],
    ).order_by()}
    skips = dict(_skips(f).values("labeler").annotate(n=Count("pk")).values_list("labeler", "n"))
    pairs: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (a, b), (agree, compared) in (stats_pair_cells(f) if cells is None else cells).items():
        for labeler in (a, b):
            pairs[labeler][0] += agree
            pairs[labeler][1] += compared
    seconds, reward = _median_seconds(f), reward_model_agreement(f.project)
    reliability = reward_model_reliability(f.project)
    names = dict(get_user_model().objects.filter(pk__in=set(per) | set(skips)).values_list("pk", "username"))
    rows = []
    for labeler_id, name in sorted(names.items(), key=lambda item: item[1].lower()):
        p = per.get(labeler_id, {})
        n = p.get("rankings", 0)
        rows.append({
            "id": labeler_id, "name": name, "rankings": n, "skips": skips.get(labeler_id, 0),
            "skip_rate": agreement.ratio(skips.get(labeler_id, 0), n + skips.get(labeler_id, 0)),
            "pair_agreement": _pct(*pairs[labeler_id]), "pair_compared": pairs[labeler_id][1],
            "consensus": _pct(p.get("cons_a"), p.get("cons_c")), "consensus_compared": p.get("cons_c") or 0,
            "gold": _pct(p.get("gold_a"), p.get("gold_c")), "gold_compared": p.get("gold_c") or 0,
            "median_seconds": seconds.get(labeler_id),
            "display_order": agreement.ratio(p.get("shown", 0), n),
            "first_shown": agreement.ratio(p.get("credit") or 0, p.get("chance") or 0),
            "first_shown_rate": agreement.ratio(p.get("credit") or 0, n),
            "reward_model": reward.get(name),
            "reliability": reliability.get(name),
        })
    _flag(rows)
    for row in rows:  # an absolute threshold, not an outlier test: one bad labeler of two is still bad
        if row["reliability"] is not None and row["reliability"] < RELIABILITY_FLAG_BELOW:
            row["flags"].add("reliability")
    return rows


def _flag(rows: list[dict]) -> None:
    """Mark each figure that is an outlier among labelers (too few pairs: not judged)."""
    support = {"pair_agreement": "pair_compared", "consensus": "consensus_compared", "gold": "gold_compared"}
    for row in rows:
        row["flags"] = set()
    for key, _heading, worse, floor in COLUMNS:
        if worse is None:
            continue
        values = {i: row[key] for i, row in enumerate(rows)
                  if key not in support or row[support[key]] >= MIN_PAIRS_FOR_OUTLIER}
        for i in agreement.outliers(values, worse=worse, floor=floor):
            rows[i]["flags"].add(key)


def _preview(text: str, messages: list | None) -> str:
    """A prompt in one list cell: a conversation by its last user turn (the instruction being answered)."""
    return messages[-1]["content"] if messages else text


def stats_lowest_tasks(f: RankingFilter, *, limit: int = 10) -> list[dict]:
    """Tasks with two or more rankings whose labelers agreed least (walks the index on ``share``)."""
    rows = (TaskAgreement.objects.filter(_keys(f), submitted_between(f, "last_ranked_at"),
                                         n_rankings__gte=2, share__isnull=False)
            .order_by("share", "-compared", "task_id")
            .values("task_id", "task__prompt__text", "task__prompt__messages", "n_rankings", "share", "compared",
                    "tau_b_mean")[:limit])
    return [{"task_id": r["task_id"], "prompt": _preview(r["task__prompt__text"], r["task__prompt__messages"]),
             "n_rankings": r["n_rankings"],
             "agreement": r["share"], "compared": r["compared"], "tau_b": r["tau_b_mean"]} for r in rows]


def stats_task_detail(*, task_id: int) -> dict | None:
    """One task's rankings side by side, with each pair's agreement and tau-b computed afresh
    (``task.prompt.project`` says whose it is: the caller checks the reader's role there), and the
    reviewers' decisions on them. A ranking a reviewer rejected is shown but counted in no figure."""
    task = RankingTask.objects.select_related("prompt__project").filter(pk=task_id).first()
    if task is None:
        return None
    completions = list(task.completions.order_by("id").values("id", "text"))
    letter = completion_letters(c["id"] for c in completions)
    rankings = list(task.rankings.select_related("labeler").order_by("labeler__username", "id"))
    counted = [r for r in rankings if r.review_status != "rejected"]
    columns = [{
        "labeler": r.labeler.get_username(), "created_at": r.created_at, "seconds": r.seconds, "comment": r.comment,
        "tiers": [[letter.get(cid, "?") for cid in tier] for tier in r.tiers],
        "shown": [letter.get(cid, "?") for cid in r.display_order],
        "consensus": _pct(*agreement.consensus_agreement(r.tiers, [o.tiers for o in counted if o.pk != r.pk])),
        "gold": _pct(*agreement.gold_agreement(r.tiers, task.gold_tiers)) if task.gold_tiers else None,
        "id": r.pk, "review_status": r.review_status,
        "corrected": tiers_to_letters(r.corrected_tiers, letter) if r.review_status == "corrected" else "",
    } for r in rankings]
    pairs = [{
        "a": a.labeler.get_username(), "b": b.labeler.get_username(),
        "agreement": _pct(*agreement.pairwise_agreement(a.tiers, b.tiers)),
        "tau_b": agreement.kendall_tau_b(a.tiers, b.tiers),
    } for i, a in enumerate(counted) for b in counted[i + 1:]]
    gold = [[letter.get(cid, "?") for cid in tier] for tier in task.gold_tiers] if task.gold_tiers else None
    return {"task": task, "completions": [{**c, "letter": letter[c["id"]]} for c in completions],
            "columns": columns, "pairs": pairs, "gold": gold, "decisions": task_review_decisions(task)}


def stats_figures(f: RankingFilter) -> dict:
    """Everything the dashboard shows, as the page and ``GET /api/v1/stats/`` both use it: ``totals``,
    ``labelers`` (rows with ``flags``), ``cells`` (the labeler-pair agreement matrix), ``rounds``,
    ``weeks``, ``throughput`` and ``lowest_tasks``."""
    task_days = stats_task_days(f)
    cells = stats_pair_cells(f)
    return {
        "totals": stats_totals(f, task_days=task_days),
        "labelers": stats_labeler_rows(f, cells=cells),
        "cells": cells,
        "rounds": stats_agreement_by_round(f, task_days=task_days),
        "weeks": stats_agreement_by_week(f),
        "throughput": stats_throughput(f),
        "lowest_tasks": stats_lowest_tasks(f),
    }

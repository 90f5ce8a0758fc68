"""Keeping the cached agreement figures current, one task at a time, as rankings arrive.

A task's figures depend on all of its rankings (the leave-one-out consensus, alpha's
coincidences), so the unit of work is the task: :func:`task_stats_rebuild` recomputes every cached
row of the given tasks from their rankings and replaces the old rows, then recomputes the daily
roll-ups (``LabelerDay``, ``PairDay``, ``TaskDay``, and ``VersionLabelDay``:
``labeling/services/version_rollups.py``) of the project days those rows fall on. That makes it
idempotent and safe to repeat; a ranking that arrives while it runs has no ``RankingStats`` row yet
and is picked up by the next :func:`stats_refresh`. A large backlog is counted task batch by task
batch and rolled up once at the end.

:func:`stats_refresh` finds rankings without a ``RankingStats`` row and rebuilds their tasks. The
dashboard's :func:`stats_catch_up` calls it when the project's backlog is small and otherwise
enqueues the ``labeling.stats_refresh`` Celery task. Editing a task's gold tiers or task set, or
deleting rankings, leaves figures stale until ``manage.py stats_rebuild`` (or
:func:`stats_rebuild_all`) runs. A reviewer's decision rebuilds its task at once
(``labeling.services.review``): rankings a reviewer rejected are not counted (:func:`counted_rankings`).

Every cached row and roll-up carries its task's project, ``task_set`` and training round (the round
of the sample run that made the task), so a project's dashboard and its filters by set and round
are sums over that project's roll-ups.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from itertools import combinations

from django.core.cache import cache
from django.db import transaction

from labeling import agreement
from django.db.models import Count, Q, QuerySet, Sum

from labeling.models import (
    LabelerDay, PairDay, Project, Ranking, RankingPair, RankingStats, RankingTask, Run, TaskAgreement, TaskDay,
)
from labeling.selectors.rankings import RankingFilter, rankings_selected
from labeling.services.version_rollups import version_label_days_rebuild

# Tasks recounted per write transaction: on SQLite each one holds the database's only write lock,
# and every labeler's next task and submit waits behind it (a 30 s refresh of ~300 tasks held it 0.6-1.2 s).
BATCH_TASKS = 100
SYNC_REFRESH_TASKS = 300  # stats_catch_up counts up to this many tasks' new rankings in the request


def _utc_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.timezone.utc).date()


def _pair_rows(task_id: int, rankings: list[dict], keys: dict) -> list[RankingPair]:
    rows = []
    for first, second in combinations(rankings, 2):
        if first["labeler_id"] > second["labeler_id"]:
            first, second = second, first
        agree, compared = agreement.pairwise_agreement(first["tiers"], second["tiers"])
        later = max(first["created_at"], second["created_at"])
        rows.append(RankingPair(
            task_id=task_id, **keys, ranking_a_id=first["id"], ranking_b_id=second["id"],
            labeler_a_id=first["labeler_id"], labeler_b_id=second["labeler_id"],
            created_at=later, day=_utc_day(later), agree=agree, compared=compared,
            tau_b=agreement.kendall_tau_b(first["tiers"], second["tiers"]),
        ))
    return rows


def _ranking_rows(task_id: int, rankings: list[dict], gold, keys: dict) -> list[RankingStats]:
    rows = []
    for ranking in rankings:
        others = [r["tiers"] for r in rankings if r["id"] != ranking["id"]]
        consensus = agreement.consensus_agreement(ranking["tiers"], others)
        gold_counts = agreement.gold_agreement(ranking["tiers"], gold) if gold else (0, 0)
        credit, chance = agreement.first_shown_credit(ranking["tiers"], ranking["display_order"])
        rows.append(RankingStats(
            ranking_id=ranking["id"], task_id=task_id, **keys, labeler_id=ranking["labeler_id"],
            created_at=ranking["created_at"], day=_utc_day(ranking["created_at"]), seconds=ranking["seconds"],
            consensus_agree=consensus[0], consensus_compared=consensus[1],
            gold_agree=gold_counts[0], gold_compared=gold_counts[1],
            follows_display_order=agreement.follows_display_order(ranking["tiers"], ranking["display_order"]),
            first_shown_credit=credit, first_shown_chance=chance,
        ))
    return rows


def _task_row(task_id: int, rankings: list[dict], pairs: list[RankingPair], keys: dict) -> TaskAgreement:
    taus = [p.tau_b for p in pairs if p.tau_b is not None]
    coincidences = agreement.task_coincidences([r["tiers"] for r in rankings])
    last = max(r["created_at"] for r in rankings)
    agree, compared = sum(p.agree for p in pairs), sum(p.compared for p in pairs)
    return TaskAgreement(
        task_id=task_id, **keys, n_rankings=len(rankings), last_ranked_at=last, day=_utc_day(last),
        agree=agree, compared=compared, share=agreement.ratio(agree, compared),
        tau_b_mean=sum(taus) / len(taus) if taus else None,
        coincidences=[[c, k, round(w, 9)] for (c, k), w in sorted(coincidences.items())],
    )


def counted_rankings() -> QuerySet[Ranking]:
    """The rankings agreement figures count: all but those a reviewer rejected. A corrected ranking
    counts with the labeler's own ``tiers``: the figures measure the labeler, not the reviewer."""
    return Ranking.objects.exclude(review_status="rejected")


def _days_of(task_ids) -> set[tuple[int, dt.date]]:
    """(project id, day) of every cached row of these tasks."""
    days = set()
    for model in (RankingStats, RankingPair, TaskAgreement):
        days |= set(model.objects.filter(task_id__in=task_ids).values_list("project_id", "day").distinct())
    return days


def task_stats_rebuild(*, task_ids: list[int], roll_up: bool = True) -> tuple[int, set]:
    """Recompute and replace the cached rows of these tasks (and, with ``roll_up``, the days they touch).

    Returns (rankings counted, the (project id, day) pairs whose roll-ups the change touched).
    """
    with transaction.atomic():
        # Lock the tasks so two workers rebuilding the same task do not interleave (Postgres).
        tasks = list(RankingTask.objects.select_for_update().filter(pk__in=task_ids)
                     .values_list("pk", "gold_tiers", "task_set", "source_run", "prompt__project"))
        # The round in a second query: FOR UPDATE refuses the nullable side of an outer join (Postgres).
        rounds = dict(Run.objects.filter(pk__in={t[3] for t in tasks} - {None}).values_list("pk", "training_round"))
        gold = {pk: gold_tiers for pk, gold_tiers, *_keys in tasks}
        keys = {pk: {"project_id": project_id, "task_set": task_set, "training_round_id": rounds.get(run_id)}
                for pk, _gold, task_set, run_id, project_id in tasks}
        days = _days_of(gold)
        by_task: dict[int, list[dict]] = defaultdict(list)
        fields = ("id", "task_id", "labeler_id", "tiers", "display_order", "seconds", "created_at")
        for ranking in counted_rankings().filter(task_id__in=gold).order_by("id").values(*fields):
            by_task[ranking["task_id"]].append(ranking)
        ranking_rows, pair_rows, task_rows = [], [], []
        for task_id, rankings in by_task.items():
            pairs = _pair_rows(task_id, rankings, keys[task_id])
            pair_rows += pairs
            ranking_rows += _ranking_rows(task_id, rankings, gold[task_id], keys[task_id])
            task_rows.append(_task_row(task_id, rankings, pairs, keys[task_id]))
        for model in (RankingStats, RankingPair, TaskAgreement):
            model.objects.filter(task_id__in=gold).delete()
        RankingStats.objects.bulk_create(ranking_rows, batch_size=1000)
        RankingPair.objects.bulk_create(pair_rows, batch_size=1000)
        TaskAgreement.objects.bulk_create(task_rows, batch_size=1000)
        days |= {(row.project_id, row.day) for row in (*ranking_rows, *task_rows)}
    if roll_up:  # in transactions of their own, so the write lock is not held across both
        rollups_rebuild(days=days)
    return len(ranking_rows), days


def _scope(days) -> Q:
    """The rows of the (project id, day) pairs in ``days``; Q(pk__in=[]) when there are none."""
    by_project: dict[int, set] = defaultdict(set)
    for project_id, day in days:
        by_project[project_id].add(day)
    scope = Q(pk__in=[])
    for project_id, project_days in by_project.items():
        scope |= Q(project_id=project_id, day__in=sorted(project_days))
    return scope


def rollups_rebuild(*, days=None) -> None:
    """Recompute the daily roll-ups of ``days``, (project id, day) pairs (all when None), from the
    cached rows."""
    scope = Q() if days is None else _scope(days)
    # One transaction per roll-up table: each is rebuilt from the cached rows as they are when it
    # commits, and the write lock (SQLite) is held for one table's recount at a time.
    with transaction.atomic():
        LabelerDay.objects.filter(scope).delete()
        LabelerDay.objects.bulk_create((LabelerDay(**row) for row in RankingStats.objects.filter(scope)
            .values("project_id", "day", "labeler_id", "task_set", "training_round_id").annotate(
                rankings=Count("pk"), consensus_agree=Sum("consensus_agree"), consensus_compared=Sum("consensus_compared"),
                gold_agree=Sum("gold_agree"), gold_compared=Sum("gold_compared"),
                follows_display_order=Count("pk", filter=Q(follows_display_order=True)),
                first_shown_credit=Sum("first_shown_credit"), first_shown_chance=Sum("first_shown_chance"),
            ).order_by()), batch_size=1000)
    with transaction.atomic():
        PairDay.objects.filter(scope).delete()
        PairDay.objects.bulk_create((PairDay(tau_b_sum=row.pop("tau_sum") or 0.0, **row) for row in RankingPair.objects
            .filter(scope).values("project_id", "day", "labeler_a_id", "labeler_b_id", "task_set", "training_round_id").annotate(
                agree=Sum("agree"), compared=Sum("compared"), tau_sum=Sum("tau_b"), tau_b_count=Count("tau_b"),
            ).order_by()), batch_size=1000)
    with transaction.atomic():
        TaskDay.objects.filter(scope).delete()
        per_day: dict = defaultdict(lambda: {"tasks": 0, "tasks_multi": 0, "cells": {}})
        rows = TaskAgreement.objects.filter(scope).values_list(
            "project_id", "day", "task_set", "training_round_id", "n_rankings", "coincidences")
        for project_id, day, task_set, round_id, n_rankings, cells in rows.iterator(chunk_size=5000):
            total = per_day[project_id, day, task_set, round_id]
            total["tasks"] += 1
            total["tasks_multi"] += n_rankings >= 2
            agreement.add_coincidences(total["cells"], cells)
        TaskDay.objects.bulk_create((TaskDay(project_id=project_id, day=day, task_set=task_set, training_round_id=round_id,
                                             tasks=t["tasks"], tasks_multi=t["tasks_multi"],
                                             coincidences=[[c, k, round(w, 9)] for (c, k), w in sorted(t["cells"].items())])
                                     for (project_id, day, task_set, round_id), t in per_day.items()), batch_size=1000)
    version_label_days_rebuild(scope=scope)


def stats_pending_tasks(*, limit: int | None = None, project: Project | None = None) -> list[int]:
    """Ids of tasks (of ``project``, or of all projects) with a ranking the cache has not counted yet."""
    rankings = counted_rankings() if project is None else rankings_selected(RankingFilter(project=project))
    pending = rankings.filter(stats__isnull=True).order_by("task_id").values_list("task_id", flat=True).distinct()
    return list(pending[:limit] if limit else pending)


def _rebuild(task_ids: list[int]) -> int:
    if len(task_ids) <= BATCH_TASKS:
        return task_stats_rebuild(task_ids=task_ids)[0] if task_ids else 0
    counted, days = 0, set()
    for start in range(0, len(task_ids), BATCH_TASKS):
        n, touched = task_stats_rebuild(task_ids=task_ids[start:start + BATCH_TASKS], roll_up=False)
        counted, days = counted + n, days | touched
    rollups_rebuild(days=days)
    return counted


def stats_refresh(*, max_tasks: int | None = None, project: Project | None = None) -> int:
    """Count every ranking (of ``project``, else of all) not yet counted (up to ``max_tasks`` tasks);
    returns rankings counted."""
    return _rebuild(stats_pending_tasks(limit=max_tasks, project=project))


def stats_catch_up(*, project: Project) -> int:
    """Before the dashboard reads the cache: count ``project``'s new rankings now if they are on at
    most SYNC_REFRESH_TASKS tasks, otherwise hand every new ranking to the worker (the
    ``labeling.stats_refresh`` task, asked at most once a minute per process). Returns the project's
    tasks still waiting to be counted."""
    pending = stats_pending_tasks(limit=SYNC_REFRESH_TASKS + 1, project=project)
    if not pending:
        return 0
    if len(pending) <= SYNC_REFRESH_TASKS:
        stats_refresh(max_tasks=SYNC_REFRESH_TASKS, project=project)
        return 0
    from labeling.tasks import stats_refresh as refresh_task

    if cache.add("labeling:stats-refresh-enqueued", True, timeout=60):
        try:
            refresh_task.apply_async(expires=600)
        except Exception:  # noqa: BLE001 - Redis down: the page still shows what is counted
            pass
    return len(stats_pending_tasks(project=project))


def stats_rebuild_all() -> int:
    """Recount every task from scratch (after gold tiers were edited or rankings deleted)."""
    with transaction.atomic():
        TaskAgreement.objects.exclude(task__rankings__isnull=False).delete()
    counted = _rebuild(list(Ranking.objects.order_by("task_id").values_list("task_id", flat=True).distinct()))
    rollups_rebuild()
    return counted

"""Which tasks a labeler may still be given, and how far along they are."""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from labeling.models import Assignment, Ranking, RankingTask, Skip


def _count(queryset) -> Coalesce:
    counted = queryset.order_by().values("task").annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def live_leases(*, now: datetime) -> QuerySet[Assignment]:
    return Assignment.objects.filter(status=Assignment.Status.ACTIVE, expires_at__gt=now)


def tasks_open_for(*, labeler, now: datetime) -> QuerySet[RankingTask]:
    """Tasks this labeler has neither ranked nor skipped, with a free slot, oldest first.

    A slot is free when rankings + other labelers' live leases < ``required_rankings``.
    """
    others_leases = live_leases(now=now).filter(task=OuterRef("pk")).exclude(labeler=labeler)
    return (
        RankingTask.objects.exclude(Q(rankings__labeler=labeler) | Q(skips__labeler=labeler))
        .annotate(
            n_rankings=_count(Ranking.objects.filter(task=OuterRef("pk"))),
            n_leases=_count(others_leases),
        )
        .filter(n_rankings__lt=F("required_rankings") - F("n_leases"))
        .order_by("created_at", "id")
    )


def task_free_slots(*, task: RankingTask, labeler, now: datetime) -> int:
    """Recount for one task (inside the lock the assigning service holds)."""
    rankings = Ranking.objects.filter(task=task).count()
    leases = live_leases(now=now).filter(task=task).exclude(labeler=labeler).count()
    return task.required_rankings - rankings - leases


def labeler_progress(*, labeler, now: datetime) -> dict:
    """``done``: rankings this labeler submitted; ``remaining``: tasks still open to them."""
    return {
        "done": Ranking.objects.filter(labeler=labeler).count(),
        "remaining": tasks_open_for(labeler=labeler, now=now).count(),
    }


def labeler_has_ranked_or_skipped(*, labeler, task: RankingTask) -> bool:
    return (
        Ranking.objects.filter(task=task, labeler=labeler).exists()
        or Skip.objects.filter(task=task, labeler=labeler).exists()
    )

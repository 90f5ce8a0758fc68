"""Which demonstration tasks a labeler may still be given, and which completion a rewrite starts from.

The rules are the ranking tasks' (:mod:`labeling.selectors.tasks`): a task of a project the labeler
labels in (``projects_labeled_by``) and is not paused in, not yet written or skipped by them, with a free slot, where a
slot is free when demonstrations + other labelers' live leases < ``required_demonstrations``. A
skip is the lease's own status (demonstration tasks have no skip rows), so a labeler's submitted or
skipped lease keeps the task from them; their own expired lease does not, and is renewed.
"""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count, F, OuterRef, QuerySet

from labeling.models import Demonstration, DemonstrationAssignment, DemonstrationTask, Project, Ranking
from labeling.selectors.pauses import paused_project_ids
from labeling.selectors.tasks import _count, projects_labeled_by

_ENDED = (DemonstrationAssignment.Status.SUBMITTED, DemonstrationAssignment.Status.SKIPPED)


def demonstration_live_leases(*, now: datetime) -> QuerySet[DemonstrationAssignment]:
    return DemonstrationAssignment.objects.filter(status=DemonstrationAssignment.Status.ACTIVE, expires_at__gt=now)


def _labelable_project_ids(labeler) -> QuerySet:
    """The labeler's projects, less those where they are paused (their gold accuracy; pauses.py)."""
    return projects_labeled_by(labeler).exclude(pk__in=paused_project_ids(labeler)).values("pk")


def demonstration_tasks_open_for(*, labeler, now: datetime, project: Project | None = None
                                 ) -> QuerySet[DemonstrationTask]:
    """Tasks (of ``project`` when given) this labeler may be leased, oldest first."""
    others_leases = demonstration_live_leases(now=now).filter(task=OuterRef("pk")).exclude(labeler=labeler)
    ended = DemonstrationAssignment.objects.filter(labeler=labeler, status__in=_ENDED).values("task")
    tasks = DemonstrationTask.objects.filter(prompt__project__in=_labelable_project_ids(labeler))
    if project is not None:
        tasks = tasks.filter(prompt__project=project)
    return (
        tasks.exclude(pk__in=ended)
        .exclude(pk__in=Demonstration.objects.filter(labeler=labeler).values("task"))
        .annotate(n_demonstrations=_count(Demonstration.objects.filter(task=OuterRef("pk"))),
                  n_leases=_count(others_leases))
        .filter(n_demonstrations__lt=F("required_demonstrations") - F("n_leases"))
        .order_by("created_at", "id")
    )


def demonstration_task_free_slots(*, task: DemonstrationTask, labeler, now: datetime) -> int:
    """Recount for one task (inside the lock the leasing service holds)."""
    written = Demonstration.objects.filter(task=task).count()
    leased = demonstration_live_leases(now=now).filter(task=task).exclude(labeler=labeler).count()
    return task.required_demonstrations - written - leased


def demonstration_open_counts(*, labeler, now: datetime) -> dict[int, int]:
    """{project id: demonstration tasks open to ``labeler``} for the projects that have any."""
    rows = (demonstration_tasks_open_for(labeler=labeler, now=now).order_by()
            .values("prompt__project").annotate(n=Count("pk")).values_list("prompt__project", "n"))
    return dict(rows)


def best_completion_ids(*, project: Project, task_ids: list[int] | None = None) -> dict[int, int]:
    """{ranking task id: its best completion's id} for the project's ranked, non-gold tasks.

    Best: the lowest mean tier position (0 for the first tier) over the task's rankings that a
    reviewer did not reject, each read as it trains (``final_tiers``: a reviewer's correction in
    place of the labeler's order; every ranking places every completion). Ties go to the lower
    completion id. Tasks without such a ranking are left out.
    """
    rankings = (Ranking.objects.filter(task__prompt__project=project, task__gold_tiers__isnull=True)
                .exclude(review_status="rejected").order_by("task_id", "pk"))
    if task_ids is not None:
        rankings = rankings.filter(task_id__in=task_ids)
    positions: dict[int, dict[int, list[int]]] = {}
    for ranking in rankings.only("task_id", "tiers", "corrected_tiers", "review_status").iterator(chunk_size=500):
        per_task = positions.setdefault(ranking.task_id, {})
        for position, tier in enumerate(ranking.final_tiers):
            for cid in tier:
                per_task.setdefault(cid, []).append(position)
    return {task_id: min(per_task, key=lambda cid: (sum(per_task[cid]) / len(per_task[cid]), cid))
            for task_id, per_task in positions.items() if per_task}

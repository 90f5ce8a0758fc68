"""Leasing tasks to labelers."""
from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from labeling.models import Assignment, RankingTask
from labeling.selectors.tasks import open_tasks_first_page, task_free_slots, tasks_open_for

_CANDIDATES_PER_PAGE = 25


def task_assign_next(*, labeler, now=None, project=None) -> Assignment | None:
    """Lease the oldest task of the labeler's projects (``projects_labeled_by``) that still needs
    rankings and this labeler has not ranked or skipped, for its project's lease minutes.

    Returns the labeler's current live lease if they hold one. Never gives a task to more labelers
    than it needs: each candidate task row is locked (``SELECT ... FOR UPDATE`` on Postgres; SQLite
    runs write transactions one at a time with ``BEGIN IMMEDIATE``) and its free slots recounted
    before the lease is written. Returns ``None`` when nothing is left for this labeler.

    ``project``: only that project's tasks (the labeler home's "Label" button); the labeler's live
    lease in another project stays theirs until it expires or they submit it.
    """
    now = now or timezone.now()
    # The first page of candidates is read before the write transaction (on SQLite it holds the one
    # write lock every labeler queues on); each candidate is locked and recounted inside it, and a
    # task this labeler ranked or skipped meanwhile is passed over by ``_lease``.
    first_page = (open_tasks_first_page(labeler=labeler, now=now, limit=_CANDIDATES_PER_PAGE)
                  if project is None else None)
    with transaction.atomic():
        current = (
            Assignment.objects.select_related("task__prompt__project")  # the page and the API show its settings
            .filter(labeler=labeler, status=Assignment.Status.ACTIVE, expires_at__gt=now,
                    **({"task__prompt__project": project} if project is not None else {}))
            .order_by("created_at")
            .first()
        )
        if current is not None:
            return current
        # The ORM queryset is built only when needed (a project's tasks, or a second page): building it
        # costs more than running the precompiled first page, which nearly every lease stops at.
        candidates = None
        if first_page is not None:
            rows = first_page
        else:
            candidates = tasks_open_for(labeler=labeler, now=now).filter(prompt__project=project)
            rows = list(candidates.values_list("pk", flat=True)[:_CANDIDATES_PER_PAGE])
        tried: set[int] = set()
        while rows:
            for task_id in rows:
                tried.add(task_id)
                # the prompt comes along for the page; only the task row is locked
                task = (RankingTask.objects.select_related("prompt__project").select_for_update(of=("self",))
                        .filter(pk=task_id).first())
                if task is not None and task_free_slots(task=task, labeler=labeler, now=now) > 0:
                    leased = _lease(task=task, labeler=labeler, now=now)
                    if leased is not None:
                        return leased
            if candidates is None:
                candidates = tasks_open_for(labeler=labeler, now=now)
            rows = list(
                candidates
                .exclude(pk__in=tried)
                .values_list("pk", flat=True)[:_CANDIDATES_PER_PAGE]
            )
        return None


def _lease(*, task: RankingTask, labeler, now) -> Assignment | None:
    """The new (or renewed) lease; None when the labeler submitted or skipped ``task`` since the
    candidates were read."""
    expires_at = now + timedelta(minutes=task.prompt.project.lease_duration_minutes)
    existing = Assignment.objects.filter(task=task, labeler=labeler).first()
    if existing is not None and existing.status != Assignment.Status.ACTIVE:
        return None
    if existing is not None:  # their own expired lease: renew it, keep the order they saw
        existing.status = Assignment.Status.ACTIVE
        existing.expires_at = expires_at
        existing.save(update_fields=["status", "expires_at"])
        return existing
    order = list(task.completions.values_list("pk", flat=True))
    random.SystemRandom().shuffle(order)  # position bias: every labeler sees their own order
    # No full_clean(): every value is set here, and its checks (task and labeler exist, one lease per
    # task and labeler, valid status) cost four queries; the database constraints hold them anyway.
    assignment = Assignment(task=task, labeler=labeler, expires_at=expires_at, display_order=order)
    assignment.save(force_insert=True)
    return assignment

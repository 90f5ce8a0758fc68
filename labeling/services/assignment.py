"""Leasing tasks to labelers: the ordinary queue, and gold tasks served as honeypots.

**Ordinary queue**: the task a labeler may still rank with the highest ``priority`` (set by active task
selection, ``labeling.jobs.sample``), oldest first among equals (``labeling.selectors.tasks.tasks_open_for``),
never to more labelers than its ``required_rankings``.

**Honeypots**: in a project whose ``gold_rate`` is above 0, the gold tasks (``gold_tiers`` set) are not
in the ordinary queue. When the ordinary queue's next task for a labeler belongs to such a project,
then with probability ``gold_rate`` (one draw per new lease, from ``rng``: the module's
``HONEYPOT_RANDOM`` unless a caller, such as a test, passes a seeded one) the labeler is leased
instead a gold task of that project that they were never leased, never ranked and never skipped,
chosen at random; with none left, the ordinary task. So a gold task reaches every labeler of the
project, at most once each: its ``required_rankings`` does not cap it. Honeypots stand in for
ordinary tasks: a labeler with no ordinary task open gets no honeypot either, so an empty queue
never turns into a queue of only gold tasks (which would give them away). Nothing in the lease, the
page or the API tells a honeypot from another task. With ``gold_rate`` 0 a project's gold tasks are
ordinary queue items, ranked by ``required_rankings`` labelers. The draw costs nothing on the hot
path: the honeypot query runs only on the leases that drew one.

**Paused labelers** (``labeling.selectors.pauses``) get nothing of that project: the ordinary queue
leaves it out, and a request for that project alone answers None.
"""
from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from labeling.models import Assignment, RankingTask
from labeling.selectors.pauses import labeler_paused
from labeling.selectors.tasks import open_tasks_first_page, task_free_slots, tasks_open_for

_CANDIDATES_PER_PAGE = 25
_HONEYPOT_CANDIDATES = 200  # the oldest gold tasks still new to the labeler, one drawn among them
HONEYPOT_RANDOM = random.Random()  # whether a lease is a honeypot, and which one; tests pass their own


def task_assign_next(*, labeler, now=None, project=None, rng: random.Random | None = None) -> Assignment | None:
    """Lease the first task, by priority then age, of the labeler's projects (``projects_labeled_by``) that still needs
    rankings and this labeler has not ranked or skipped, for its project's lease minutes.

    Returns the labeler's current live lease if they hold one. Never gives a task to more labelers
    than it needs: each candidate task row is locked (``SELECT ... FOR UPDATE`` on Postgres; SQLite
    runs write transactions one at a time with ``BEGIN IMMEDIATE``) and its free slots recounted
    before the lease is written. Returns ``None`` when nothing is left for this labeler.

    ``project``: only that project's tasks (the labeler home's "Label" button); the labeler's live
    lease in another project stays theirs until it expires or they submit it. None when the labeler
    is paused there. A new lease is a honeypot with the probability of its project's ``gold_rate``
    (see the module docstring); ``rng`` draws it (default ``HONEYPOT_RANDOM``).
    """
    now = now or timezone.now()
    rng = rng or HONEYPOT_RANDOM
    if project is not None and labeler_paused(labeler, project) is not None:
        return None
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
        draw, honeypot_tried = rng.random(), set()
        while rows:
            for task_id in rows:
                tried.add(task_id)
                # the prompt comes along for the page; only the task row is locked
                task = (RankingTask.objects.select_related("prompt__project").select_for_update(of=("self",))
                        .filter(pk=task_id).first())
                if task is not None and task_free_slots(task=task, labeler=labeler, now=now) > 0:
                    gold_rate, project_id = task.prompt.project.gold_rate, task.prompt.project_id
                    if draw < gold_rate and project_id not in honeypot_tried:
                        honeypot_tried.add(project_id)
                        honeypot = _lease_honeypot(project_id=project_id, labeler=labeler, now=now, rng=rng)
                        if honeypot is not None:
                            return honeypot
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


def _lease_honeypot(*, project_id: int, labeler, now, rng: random.Random) -> Assignment | None:
    """A lease of a gold task of the project that ``labeler`` has never been leased, ranked or
    skipped, drawn with ``rng``; None when none is left. Its row is locked so that two requests of
    the same labeler at once end with one lease (the second finds and renews the first's)."""
    new_to_them = (
        RankingTask.objects.filter(prompt__project_id=project_id, gold_tiers__isnull=False)
        .exclude(Q(assignments__labeler=labeler) | Q(rankings__labeler=labeler) | Q(skips__labeler=labeler))
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:_HONEYPOT_CANDIDATES]
    )
    candidates = list(new_to_them)
    if not candidates:
        return None
    task = (RankingTask.objects.select_related("prompt__project").select_for_update(of=("self",))
            .get(pk=rng.choice(candidates)))
    return _lease(task=task, labeler=labeler, now=now)


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

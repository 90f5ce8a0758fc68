"""Demonstration tasks: making them, leasing them, and the two ways a lease ends (a demonstration or a skip).

Leasing follows the ranking tasks' rules (:mod:`labeling.services.assignment`): the labeler's live
lease is returned while they hold one; otherwise each candidate task row is locked and its free
slots recounted before a lease is written, so a task never goes to more than
``required_demonstrations`` labelers at once; an expired lease no longer counts and is renewed for
its labeler or given to another; the lease runs for the project's lease minutes. A labeler paused
in a project (:mod:`labeling.selectors.pauses`) gets nothing of it, not even their live lease there.

A submit is idempotent like a ranking's (:func:`labeling.services.ranking.ranking_submit`): the same
``submission_id`` again returns the stored demonstration (``created=False``), a different one for
the same task is a 409. The text must be ``demonstration_min_chars`` to ``demonstration_max_chars``
characters long once stripped of surrounding whitespace, and is stored stripped.

A skip marks the lease skipped (the task goes to someone else); its ``reason`` is free text that is
only logged, since a demonstration lease has no field for it.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling import submission
from labeling.errors import RejectedInput
from labeling.models import Completion, Demonstration, DemonstrationAssignment, DemonstrationTask, Project, Prompt
from labeling.selectors.demonstration_tasks import (best_completion_ids, demonstration_task_free_slots,
                                                    demonstration_tasks_open_for)
from labeling.selectors.pauses import paused_project_ids
from labeling.services.assignment import _CANDIDATES_PER_PAGE
from labeling.services.prompts import prompt_fields
from labeling.services.ranking import _own_assignment, _require_live

logger = logging.getLogger(__name__)
MAX_REQUIRED = 50


def _required(required: int | None) -> int:
    if required is None:
        return 1
    if isinstance(required, bool) or not isinstance(required, int) or not 1 <= required <= MAX_REQUIRED:
        raise RejectedInput(f"required must be a whole number from 1 to {MAX_REQUIRED}.", field="required")
    return required


def demonstration_tasks_create(*, project: Project, prompts: list, required: int | None = None,
                               task_set: str = "") -> list[DemonstrationTask]:
    """One write task per prompt, each for ``required`` different labelers (default 1, at most 50).

    ``prompts``: :class:`Prompt` rows of ``project``, or prompt values (a string or a list of
    messages), which become new prompts of ``project``."""
    required = _required(required)
    with transaction.atomic():
        rows = []
        for number, prompt in enumerate(prompts, start=1):
            if not isinstance(prompt, Prompt):
                try:
                    prompt = Prompt.objects.create(**prompt_fields(prompt), project=project)
                except ValueError as exc:
                    raise RejectedInput(f"prompt {number}: {exc}", field="prompts") from None
            elif prompt.project_id != project.pk:
                raise RejectedInput(f"prompt {number} (id {prompt.pk}) is not in project {project.slug!r}.",
                                    field="prompts")
            rows.append(DemonstrationTask(prompt=prompt, required_demonstrations=required, task_set=task_set))
        return DemonstrationTask.objects.bulk_create(rows)


def rewrite_tasks_create(*, project: Project, task_ids: list[int] | None = None, task_set: str = "",
                         required: int | None = None) -> list[DemonstrationTask]:
    """A rewrite task per ranked task of ``project`` (of ``task_ids`` when given): improve the task's
    best completion, as :func:`labeling.selectors.demonstration_tasks.best_completion_ids` picks it
    (the lowest mean tier position over the rankings a reviewer did not reject). Tasks without such a
    ranking, gold tasks, and tasks that already have a rewrite task are skipped."""
    required = _required(required)
    best = best_completion_ids(project=project, task_ids=task_ids)
    rewritten = set(DemonstrationTask.objects.filter(source_completion__task_id__in=best)
                    .values_list("source_completion__task_id", flat=True))
    wanted = [completion_id for task_id, completion_id in best.items() if task_id not in rewritten]
    sources = Completion.objects.select_related("task").filter(pk__in=wanted)
    rows = [DemonstrationTask(prompt_id=c.task.prompt_id, source_completion=c, required_demonstrations=required,
                              task_set=task_set) for c in sorted(sources, key=lambda c: c.task_id)]
    with transaction.atomic():
        return DemonstrationTask.objects.bulk_create(rows)


def demonstration_assign_next(*, labeler, project: Project | None = None, now=None) -> DemonstrationAssignment | None:
    """Lease the oldest demonstration task open to the labeler (of ``project`` when given), or return
    their live lease; None when nothing is left for them (see the module for the rules)."""
    now = now or timezone.now()
    with transaction.atomic():
        current = (DemonstrationAssignment.objects.select_related("task__prompt__project", "task__source_completion")
                   .filter(labeler=labeler, status=DemonstrationAssignment.Status.ACTIVE, expires_at__gt=now,
                           **({"task__prompt__project": project} if project is not None else {}))
                   .exclude(task__prompt__project__in=paused_project_ids(labeler))
                   .order_by("created_at").first())
        if current is not None:
            return current
        candidates = demonstration_tasks_open_for(labeler=labeler, now=now, project=project)
        tried: set[int] = set()
        while rows := list(candidates.exclude(pk__in=tried).values_list("pk", flat=True)[:_CANDIDATES_PER_PAGE]):
            for task_id in rows:
                tried.add(task_id)
                task = (DemonstrationTask.objects.select_related("prompt__project", "source_completion")
                        .select_for_update(of=("self",)).filter(pk=task_id).first())
                if task is not None and demonstration_task_free_slots(task=task, labeler=labeler, now=now) > 0:
                    leased = _lease(task=task, labeler=labeler, now=now)
                    if leased is not None:
                        return leased
        return None


def _lease(*, task: DemonstrationTask, labeler, now) -> DemonstrationAssignment | None:
    """The new or renewed lease; None when the labeler wrote or skipped ``task`` since it was read."""
    expires_at = now + timedelta(minutes=task.prompt.project.lease_duration_minutes)
    existing = DemonstrationAssignment.objects.filter(task=task, labeler=labeler).first()
    if existing is not None:
        if existing.status != DemonstrationAssignment.Status.ACTIVE:
            return None
        existing.expires_at = expires_at
        existing.save(update_fields=["expires_at"])
        existing.task = task
        return existing
    assignment = DemonstrationAssignment(task=task, labeler=labeler, expires_at=expires_at)
    assignment.save(force_insert=True)
    return assignment


def _own_lease(*, labeler, assignment_id, lock: bool = False) -> DemonstrationAssignment:
    return _own_assignment(labeler=labeler, assignment_id=assignment_id, lock=lock, model=DemonstrationAssignment)


def clean_demonstration_text(text, project: Project) -> str:
    """The text stripped, within the project's length limits (counted on the stripped text)."""
    if not isinstance(text, str):
        raise RejectedInput("Write the answer: text must be a string.", field="text")
    submission.refuse_unstorable_text(text, "text")
    text = text.strip()
    low, high = project.demonstration_min_chars, project.demonstration_max_chars
    if len(text) < low:
        raise RejectedInput(f"The answer is {len(text):,} characters long; write at least {low:,}.", field="text")
    if len(text) > high:
        raise RejectedInput(f"The answer is {len(text):,} characters long; the limit is {high:,}.", field="text")
    return text


def _replayed(existing: Demonstration, submission_id: str) -> tuple[Demonstration, bool]:
    if existing.submission_id == submission_id:
        return existing, False
    raise RejectedInput("You have already written a demonstration for this task.", field="task", status=409)


def demonstration_submit(*, labeler, assignment_id: int, submission_id, text, seconds=None,
                         now=None) -> tuple[Demonstration, bool]:
    """Store the labeler's demonstration of their leased task (``created=True``), or refuse it and
    write nothing. The lease ends submitted."""
    now = now or timezone.now()
    submission_id = submission.clean_submission_id(submission_id)
    assignment = _own_lease(labeler=labeler, assignment_id=assignment_id)
    existing = Demonstration.objects.filter(task_id=assignment.task_id, labeler=labeler).first()
    if existing is not None:
        return _replayed(existing, submission_id)
    _require_live(assignment, now)
    demonstration = Demonstration(task_id=assignment.task_id, labeler=labeler, submission_id=submission_id,
                                  text=clean_demonstration_text(text, assignment.task.prompt.project),
                                  seconds=submission.clean_seconds(seconds))
    demonstration.full_clean(exclude=["task", "labeler"], validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        assignment.status, assignment.expires_at = (
            DemonstrationAssignment.objects.select_for_update().filter(pk=assignment.pk)
            .values_list("status", "expires_at").get())
        try:
            with transaction.atomic():
                demonstration.save(force_insert=True)
        except IntegrityError:  # a concurrent submit of this task won; the constraint kept it single
            existing = Demonstration.objects.filter(task_id=assignment.task_id, labeler=labeler).first()
            if existing is None:
                raise
            return _replayed(existing, submission_id)
        _require_live(assignment, now)  # after the insert: a replay is answered as one
        DemonstrationAssignment.objects.filter(pk=assignment.pk).update(status=DemonstrationAssignment.Status.SUBMITTED)
    return demonstration, True


def demonstration_skip(*, labeler, assignment_id: int, reason="", now=None) -> DemonstrationAssignment:
    """Pass on the leased task; it goes to someone else. Skipping a skipped lease again is a no-op."""
    now = now or timezone.now()
    if not isinstance(reason, str) or len(reason) > settings.LABELING_COMMENT_MAX_CHARS:
        raise RejectedInput(f"The reason must be text of at most {settings.LABELING_COMMENT_MAX_CHARS:,} characters.",
                            field="reason")
    with transaction.atomic():
        assignment = _own_lease(labeler=labeler, assignment_id=assignment_id, lock=True)
        if assignment.status == DemonstrationAssignment.Status.SKIPPED:
            return assignment
        if assignment.status == DemonstrationAssignment.Status.SUBMITTED:
            raise RejectedInput("You have already written a demonstration for this task.", field="task", status=409)
        _require_live(assignment, now)
        assignment.status = DemonstrationAssignment.Status.SKIPPED
        assignment.save(update_fields=["status"])
    logger.info("demonstration task %s skipped by labeler %s: %r", assignment.task_id, labeler.pk, reason.strip())
    return assignment

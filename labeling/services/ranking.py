"""Submitting a ranking and skipping a task: the two ways a lease ends."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling import submission
from labeling.errors import RejectedInput
from labeling.label_choices import label_choices
from labeling.models import Assignment, Ranking, Skip
from labeling.services.pauses import pause_after_gold_ranking

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    ranking: Ranking
    created: bool  # False when this was a replay of an earlier submission with the same id


def _own_assignment(*, labeler, assignment_id, lock: bool = False, model=Assignment):
    """The labeler's assignment, with its task's project (for its label settings); ``lock``: the
    assignment row only, ``SELECT ... FOR UPDATE`` on Postgres (inside the caller's transaction).
    ``model``: a lease model with the same fields (``DemonstrationAssignment``)."""
    rows = model.objects.select_related("task__prompt__project")
    if lock:
        rows = rows.select_for_update(of=("self",))
    assignment = rows.filter(pk=assignment_id).first() if isinstance(assignment_id, int) else None
    if assignment is None:
        raise RejectedInput("This task assignment does not exist.", field="assignment", status=404)
    if assignment.labeler_id != labeler.pk:
        raise RejectedInput("This task is leased to another labeler.", field="assignment", status=403)
    return assignment


def _require_live(assignment: Assignment, now) -> None:
    if assignment.status == Assignment.Status.SKIPPED:
        raise RejectedInput("You skipped this task.", field="assignment", status=409)
    if assignment.expires_at <= now:
        raise RejectedInput(
            f"Your lease on this task expired at {assignment.expires_at:%H:%M} UTC and it may have gone to "
            "someone else. Reload the page to get a task.",
            field="assignment",
            status=409,
        )


def ranking_submit(
    *,
    labeler,
    assignment_id: int,
    tiers,
    submission_id,
    scores=None,
    flags=None,
    comment=None,
    seconds=None,
    now=None,
) -> Submitted:
    """Store the labeler's ranking of their leased task, or refuse it and write nothing.

    Idempotent: a second call with the same ``submission_id`` (a double click, a retry after a
    network error) returns the first ranking with ``created=False``. A ranking of a gold task may
    pause the labeler in its project (``labeling.services.pauses.pause_after_gold_ranking``).
    """
    now = now or timezone.now()
    submission_id = submission.clean_submission_id(submission_id)
    # Everything that only reads (the lease, a replay, the completions, the checks) runs before the
    # write transaction: on SQLite that transaction holds the database's one write lock (BEGIN
    # IMMEDIATE), and every labeler's next task and submit queue behind it. Inside it the lease is
    # read again and the insert's unique constraint settles any race with a concurrent submit.
    assignment = _own_assignment(labeler=labeler, assignment_id=assignment_id)
    existing = Ranking.objects.filter(task_id=assignment.task_id, labeler=labeler).first()
    if existing is not None:
        return _replayed(existing, submission_id)
    _require_live(assignment, now)
    project = assignment.task.prompt.project
    completion_ids = set(assignment.task.completions.values_list("pk", flat=True))
    ranking = Ranking(
        task_id=assignment.task_id,
        labeler=labeler,
        tiers=submission.clean_tiers(tiers, completion_ids),
        scores=_clean_scores(scores, completion_ids, ask_scores=project.ask_scores),
        flags=submission.clean_flags(flags, completion_ids, [key for key, _ in label_choices(project.flags)]),
        comment=submission.clean_comment(comment, settings.LABELING_COMMENT_MAX_CHARS),
        seconds=submission.clean_seconds(seconds),
        display_order=assignment.display_order,
        submission_id=submission_id,
    )
    # Field checks only: the task (from the lease) and the labeler exist, every value was cleaned
    # above, and the constraints (one ranking per task and labeler, seconds >= 0) are the database's,
    # enforced by the insert; checking them here first cost four more queries.
    ranking.full_clean(exclude=["task", "labeler"], validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        # The lease as it is now (a skip or the expiry may have come since it was read); row-locked on Postgres.
        status, expires_at = (Assignment.objects.select_for_update().filter(pk=assignment.pk)
                              .values_list("status", "expires_at").get())
        assignment.status, assignment.expires_at = status, expires_at
        try:
            with transaction.atomic():
                ranking.save(force_insert=True)
        except IntegrityError:  # a concurrent submit of this task won the race; the constraint kept it single
            existing = Ranking.objects.filter(task_id=assignment.task_id, labeler=labeler).first()
            if existing is None:
                raise
            return _replayed(existing, submission_id)
        _require_live(assignment, now)  # after the insert: a replay of a stored ranking is answered as one
        Assignment.objects.filter(pk=assignment.pk).update(status=Assignment.Status.SUBMITTED)
        if settings.ROUND_AUTO_START_EVERY:
            transaction.on_commit(_check_autostart)
    if assignment.task.gold_tiers is not None and project.gold_min_accuracy is not None:
        # After the write transaction: the ranking is stored whatever this decides.
        pause_after_gold_ranking(labeler=labeler, project=project)
    return Submitted(ranking, created=True)


def _replayed(existing: Ranking, submission_id: str) -> Submitted:
    """The labeler's stored ranking of the task: the same submission again, or a refusal."""
    if existing.submission_id == submission_id:
        return Submitted(existing, created=False)
    raise RejectedInput("You have already ranked this task.", field="task", status=409)


def _clean_scores(scores, completion_ids: set[int], *, ask_scores: bool) -> dict[str, int]:
    clean = submission.clean_scores(scores, completion_ids)
    if clean and not ask_scores:
        raise RejectedInput("This project does not ask for scores: send the ranking without them.", field="scores")
    return clean


def _check_autostart() -> None:
    """After the ranking is committed: ask a worker whether a round should start. Redis being down
    must not fail a submission that is already stored, so a failed publish is only logged."""
    from labeling.tasks import rounds_autostart

    try:
        rounds_autostart.apply_async()
    except Exception:  # noqa: BLE001
        logger.warning("could not queue the round auto-start check (is Redis down?)", exc_info=True)


def task_skip(*, labeler, assignment_id: int, reason, note=None, now=None) -> Skip:
    """Record that the labeler passes on their leased task; it goes to someone else. Idempotent.

    ``reason`` is a key of the task's project's ``skip_reasons``."""
    now = now or timezone.now()
    note = submission.clean_comment(note, settings.LABELING_COMMENT_MAX_CHARS)
    with transaction.atomic():
        assignment = _own_assignment(labeler=labeler, assignment_id=assignment_id, lock=True)
        reasons = [key for key, _ in label_choices(assignment.task.prompt.project.skip_reasons)]
        if reason not in reasons:
            raise RejectedInput(f"Choose a reason for skipping: {', '.join(reasons)}.", field="reason")
        existing = Skip.objects.filter(task_id=assignment.task_id, labeler=labeler).first()
        if existing is not None:
            return existing
        if assignment.status == Assignment.Status.SUBMITTED:
            raise RejectedInput("You have already ranked this task.", field="task", status=409)
        _require_live(assignment, now)
        skip = Skip(task_id=assignment.task_id, labeler=labeler, reason=reason, note=note)
        skip.full_clean(validate_unique=False)
        skip.save()
        assignment.status = Assignment.Status.SKIPPED
        assignment.save(update_fields=["status"])
    return skip

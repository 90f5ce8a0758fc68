"""The life of a background run: enqueue, claim (compare-and-set), report, finish, cancel, retry.

A Celery message only carries a run id. The worker that flips the row from ``queued`` to
``running`` runs it; any other delivery of the same message finds no queued row and does nothing,
which is what makes ``acks_late`` safe. A running job reports through :class:`labeling.jobs.reporter.RunReporter`,
which writes progress, metrics and a heartbeat, and stops the job at its next step once an admin
asked to cancel. A run whose heartbeat stopped (its worker died) is marked failed by
:func:`runs_mark_dead` and can be retried; its job resumes from the checkpoint in its directory.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from labeling.errors import RejectedInput
from labeling.models import Run

logger = logging.getLogger(__name__)
TRAINING_KINDS = {Run.Kind.TRAIN_REWARD, Run.Kind.DPO, Run.Kind.PPO, Run.Kind.BOOTSTRAP}


def queue_for(kind: str) -> str:
    return "training" if kind in TRAINING_KINDS else "default"


def _send(run_id: int, kind: str) -> None:
    from labeling.tasks import run_execute

    try:
        run_execute.apply_async(args=[run_id], queue=queue_for(kind))
    except Exception:  # noqa: BLE001 - Redis down: the run stays queued in the database
        logger.warning("could not send run %s to a worker (is Redis down?); it stays queued", run_id, exc_info=True)


def run_enqueue(*, kind: str, config: dict | None = None, inputs: dict | None = None, created_by=None,
                project=None) -> Run:
    """Create a queued run (in ``project``, else ``default``) and send its id to a worker once the
    transaction commits."""
    run = Run(kind=kind, config=config or {}, inputs=inputs or {}, created_by=created_by,
              **({"project": project} if project is not None else {}))
    run.full_clean()
    run.save()
    transaction.on_commit(lambda: _send(run.pk, run.kind))
    return run


def run_claim(*, run_id: int) -> Run | None:
    """``queued -> running`` if and only if this caller changed the row; else ``None``."""
    now = timezone.now()
    claimed = Run.objects.filter(pk=run_id, status=Run.Status.QUEUED).update(
        status=Run.Status.RUNNING, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now, error=""
    )
    return Run.objects.get(pk=run_id) if claimed == 1 else None


def run_finish(*, run_id: int, status: str, outputs: dict | None = None, error: str = "") -> bool:
    """``running -> succeeded | failed | cancelled``; False if the run was no longer running."""
    fields = {"status": status, "finished_at": timezone.now(), "error": error[:5000]}
    if status == Run.Status.SUCCEEDED:
        fields["progress"] = 100
    if outputs is not None:
        fields["outputs"] = outputs
    return Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).update(**fields) == 1


def run_cancel(*, run_id: int) -> Run:
    """A queued run is cancelled at once; a running one stops at its next progress report."""
    with transaction.atomic():
        run = Run.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            raise RejectedInput("No such run.", field="run", status=404)
        if run.status == Run.Status.QUEUED:
            from labeling.services.rounds import round_stop

            run.status, run.finished_at = Run.Status.CANCELLED, timezone.now()
            transaction.on_commit(lambda: round_stop(run_id=run.pk, status=Run.Status.CANCELLED, error="Cancelled."))
        elif run.status == Run.Status.RUNNING:
            run.cancel_requested = True
        else:
            raise RejectedInput(f"The run has already {run.status}.", field="run", status=409)
        run.save(update_fields=["status", "finished_at", "cancel_requested"])
    return run


def run_retry(*, run_id: int) -> Run:
    """Send a failed run again; its job resumes from the last checkpoint in its directory."""
    with transaction.atomic():
        changed = Run.objects.filter(pk=run_id, status=Run.Status.FAILED).update(
            status=Run.Status.QUEUED, finished_at=None, cancel_requested=False
        )
        if changed != 1:
            raise RejectedInput("Only a failed run can be retried.", field="run", status=409)
        run = Run.objects.get(pk=run_id)
        from labeling.services.rounds import round_revive

        round_revive(run=run)
        transaction.on_commit(lambda: _send(run.pk, run.kind))
    return run


def runs_mark_dead(*, stale_after: timedelta | None = None) -> list[int]:
    """Mark running runs whose heartbeat is older than ``stale_after`` as failed (worker died)."""
    stale_after = stale_after or timedelta(seconds=settings.RUN_HEARTBEAT_TIMEOUT_SECONDS)
    cutoff = timezone.now() - stale_after
    dead = list(Run.objects.filter(status=Run.Status.RUNNING, heartbeat_at__lt=cutoff).values_list("pk", flat=True))
    from labeling.services.rounds import round_stop

    error = f"The worker stopped reporting (no heartbeat for {stale_after}); retry to resume from the last checkpoint."
    for run_id in dead:
        with transaction.atomic():
            if Run.objects.filter(pk=run_id, status=Run.Status.RUNNING, heartbeat_at__lt=cutoff).update(
                status=Run.Status.FAILED, finished_at=timezone.now(), error=error
            ):
                round_stop(run_id=run_id, status=Run.Status.FAILED, error=error)
    return dead


def runs_requeue_stale(*, older_than: timedelta | None = None) -> list[int]:
    """Send again the runs still queued after ``older_than`` (default ``RUN_REQUEUE_AFTER_SECONDS``;
    their message may have been lost while Redis was down). A duplicate message is harmless: only
    one claim can succeed. While Redis is still down each send fails fast and the run stays queued."""
    older_than = older_than or timedelta(seconds=settings.RUN_REQUEUE_AFTER_SECONDS)
    cutoff = timezone.now() - older_than
    stale = list(Run.objects.filter(status=Run.Status.QUEUED, created_at__lt=cutoff).values_list("pk", "kind"))
    for run_id, kind in stale:
        _send(run_id, kind)
    return [run_id for run_id, _ in stale]


def runs_recover_interrupted() -> list[int]:
    """On a one-machine start, every run still marked running was cut off when the stack stopped:
    mark it failed and queue it again (it resumes from its last checkpoint). Only call this before
    this machine's workers start, and never where other machines' workers may be running jobs."""
    interrupted = list(Run.objects.filter(status=Run.Status.RUNNING).values_list("pk", flat=True))
    for run_id in interrupted:
        Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).update(
            status=Run.Status.FAILED, finished_at=timezone.now(), error="Interrupted when the stack stopped."
        )
        run_retry(run_id=run_id)
    return interrupted

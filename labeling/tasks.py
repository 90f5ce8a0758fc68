"""Celery tasks: take primary keys, call one service."""
from celery import shared_task
from django.utils import timezone


@shared_task(name="labeling.heartbeat", acks_late=False, ignore_result=False)  # /healthz reads it
def heartbeat() -> dict:
    """Answered by a live worker; /healthz waits for it to prove a worker is consuming tasks."""
    return {"ok": True, "at": timezone.now().isoformat()}


@shared_task(name="labeling.run_execute", acks_late=True)
def run_execute(run_id: int) -> str:
    """Run one background job; a duplicate delivery is harmless (the run is claimed by compare-and-set)."""
    from labeling.jobs.execute import run_execute as execute

    return execute(run_id=run_id)


@shared_task(name="labeling.stats_refresh", acks_late=True)
def stats_refresh() -> int:
    """Count rankings the agreement cache has not seen; safe to run twice (tasks are rebuilt whole)."""
    from labeling.services.stats import stats_refresh as refresh

    return refresh()


@shared_task(name="labeling.rounds_autostart")
def rounds_autostart() -> list[int]:
    """Start a training round in each project where enough new rankings arrived (its auto-start setting)."""
    from labeling.services.rounds import round_autostart

    return [training_round.pk for training_round in round_autostart()]


@shared_task(name="labeling.runs_watchdog")
def runs_watchdog() -> dict:
    """Periodic (Celery beat): mark runs whose worker died, resend runs whose message was lost."""
    from labeling.services.runs import runs_mark_dead, runs_requeue_stale

    return {"dead": runs_mark_dead(), "requeued": runs_requeue_stale()}

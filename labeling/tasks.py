"""Celery tasks: take primary keys, call one service. Training jobs arrive with the rounds."""
from celery import shared_task
from django.utils import timezone


@shared_task(name="labeling.heartbeat", acks_late=False)
def heartbeat() -> dict:
    """Answered by a live worker; /healthz waits for it to prove a worker is consuming tasks."""
    return {"ok": True, "at": timezone.now().isoformat()}

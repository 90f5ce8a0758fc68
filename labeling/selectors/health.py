"""What /healthz reports: can we reach the database, Redis, and a Celery worker?"""
from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means "down", reported with its reason
        return {"ok": False, "error": str(exc)}


def _redis() -> dict:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc)}


def _worker(timeout: float) -> dict:
    """A worker ran the heartbeat task; or, if every worker is busy with a long job, answered a ping."""
    from config.celery import app
    from labeling.tasks import heartbeat

    try:
        result = heartbeat.apply_async(expires=timeout + 1)
        answer = result.get(timeout=timeout)
        result.forget()
        return {"ok": True, "at": answer["at"]}
    except Exception as exc:  # noqa: BLE001
        reason = type(exc).__name__
    try:
        replies = app.control.ping(timeout=1.0)
    except Exception:  # noqa: BLE001
        replies = []
    if replies:
        return {"ok": True, "busy": True, "workers": sorted(name for reply in replies for name in reply)}
    return {"ok": False, "error": f"no worker answered the heartbeat task within {timeout}s or a ping ({reason})"}


def system_health() -> dict:
    database, broker = _database(), _redis()
    worker = _worker(settings.HEALTHZ_WORKER_TIMEOUT_SECONDS) if broker["ok"] else {"ok": False, "error": "Redis is down"}
    checks = {"database": database, "redis": broker, "worker": worker}
    return {"ok": all(c["ok"] for c in checks.values()), **checks}

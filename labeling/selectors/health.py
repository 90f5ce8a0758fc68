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
    from labeling.tasks import heartbeat

    try:
        result = heartbeat.apply_async(expires=timeout + 1)
        answer = result.get(timeout=timeout)
        result.forget()
        return {"ok": True, "at": answer["at"]}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": f"no worker answered the heartbeat task within {timeout}s ({type(exc).__name__})"}


def system_health() -> dict:
    database, broker = _database(), _redis()
    worker = _worker(settings.HEALTHZ_WORKER_TIMEOUT_SECONDS) if broker["ok"] else {"ok": False, "error": "Redis is down"}
    checks = {"database": database, "redis": broker, "worker": worker}
    return {"ok": all(c["ok"] for c in checks.values()), **checks}

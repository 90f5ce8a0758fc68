def test_healthz_is_503_with_the_reason_when_redis_is_down(db, client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["ok"] is False and body["database"]["ok"] is True
    assert body["redis"]["ok"] is False and body["redis"]["error"]
    assert body["worker"] == {"ok": False, "error": "Redis is down"}


def test_a_busy_worker_that_answers_a_ping_counts_as_up(monkeypatch):
    from config.celery import app
    from labeling.selectors import health
    from labeling.tasks import heartbeat

    def no_answer(*args, **kwargs):
        raise TimeoutError("busy")

    monkeypatch.setattr(heartbeat, "apply_async", no_answer)
    monkeypatch.setattr(app.control, "ping", lambda timeout: [{"training-1@host": {"ok": "pong"}}])
    assert health._worker(0.1) == {"ok": True, "busy": True, "workers": ["training-1@host"]}
    monkeypatch.setattr(app.control, "ping", lambda timeout: [])
    assert health._worker(0.1)["ok"] is False

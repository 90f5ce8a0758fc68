def test_healthz_is_503_with_the_reason_when_redis_is_down(db, client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["ok"] is False and body["database"]["ok"] is True
    assert body["redis"]["ok"] is False and body["redis"]["error"]
    assert body["worker"] == {"ok": False, "error": "Redis is down"}

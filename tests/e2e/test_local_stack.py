"""`make run`'s stack for real: migrate, seed, Redis, the Celery worker processes and the web server
(gunicorn; the training worker at a lower CPU priority)."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from config.localstack import BASE_DIR, TRAINING_NICENESS, free_port, port_is_free

pytestmark = pytest.mark.e2e


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])  # field 19, "nice"


def test_the_stack_starts_reports_healthy_and_stops_on_ctrl_c(tmp_path):
    web_port, redis_port = free_port(18000), free_port(16390)
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(RLHF_VAR_DIR=str(tmp_path), RLHF_PORT=str(web_port), REDIS_PORT=str(redis_port), RLHF_BOOTSTRAP="0",
               DJANGO_SETTINGS_MODULE="config.settings.local")
    stack = subprocess.Popen([sys.executable, "-m", "config.localstack"], cwd=BASE_DIR, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{web_port}"
        deadline, health = time.monotonic() + 120, None
        while time.monotonic() < deadline:
            if stack.poll() is not None:
                pytest.fail(f"the stack exited early:\n{stack.stdout.read()}")
            if not port_is_free(web_port):
                status, body = get(f"{base}/healthz")
                health = (status, json.loads(body))
                if status == 200:
                    break
            time.sleep(1)
        assert health is not None and health[0] == 200, health
        assert health[1]["database"]["ok"] and health[1]["redis"]["ok"] and health[1]["worker"]["ok"]
        status, body = get(f"{base}/accounts/login/")
        assert status == 200 and b"Log in" in body
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            assert response.headers["Server"] == "gunicorn"  # not runserver (WSGIServer/...)
        workers = {" ".join(Path(f"/proc/{pid}/cmdline").read_text().split("\0")): pid for pid in children(stack.pid)}
        training = [pid for cmd, pid in workers.items() if "celery" in cmd and "-Q training" in cmd]
        default = [pid for cmd, pid in workers.items() if "celery" in cmd and "-Q default" in cmd]
        assert len(training) == len(default) == 1, workers
        assert niceness(training[0]) == min(19, niceness(default[0]) + TRAINING_NICENESS) > niceness(default[0])
    finally:
        stack.send_signal(signal.SIGINT)
        output, _ = stack.communicate(timeout=60)
    assert stack.returncode == 0, output
    assert "labeler1" in output and f"http://127.0.0.1:{web_port}/" in output
    assert port_is_free(web_port) and port_is_free(redis_port)

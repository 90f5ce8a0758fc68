"""Real components to break: a Redis server, Celery worker processes and gunicorn, all on loopback,
sharing the test database (committed data: the tests use ``transactional_db``)."""
from __future__ import annotations

import subprocess

import pytest

from config.localstack import start_worker
from tests.faults.stack import RedisServer, database_url, kill_tree
from tests.load import harness


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def stack_env(transactional_db, settings, tmp_path, redis_server):
    """Environment of every process the test starts: the test database, this Redis, runs under tmp_path."""
    settings.VAR_DIR = tmp_path
    return harness.server_env(database_url=database_url(), var_dir=tmp_path, REDIS_URL=redis_server.url)


@pytest.fixture
def workers(tmp_path):
    """``workers(env, queues=..., beat=...)`` starts a real Celery worker; all are killed at the end."""
    started: list[subprocess.Popen] = []

    def start(env: dict, *, queues: str = "default,training", beat: bool = False) -> subprocess.Popen:
        log = tmp_path / f"worker-{len(started)}.log"
        process = start_worker(env=env, queues=queues, beat=beat, log_path=log, name=f"faults{len(started)}")
        process.log_path = log
        started.append(process)
        return process

    yield start
    for process in started:
        kill_tree(process.pid)
        process.wait(timeout=30)

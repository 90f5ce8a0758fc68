"""What a running job writes to its Run row, and where it keeps its files.

:class:`RunReporter` is the progress callback every job gets: progress, metrics, log lines and a
heartbeat, at most once a second; it raises :class:`RunCancelled` at the next report once an admin
asked to cancel. :func:`run_directory` is stable across retries, so a retried job resumes from the
checkpoints it left there.
"""
from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from labeling.models import Run

LOG_TAIL_LINES = 200


class RunCancelled(Exception):
    """Raised inside a job at its next progress report after an admin cancelled the run."""


def run_directory(run: Run) -> Path:
    """Where a run keeps its inputs, checkpoints and outputs (stable across retries: resume)."""
    path = Path(settings.VAR_DIR) / "runs" / f"run-{run.pk:06d}-{run.kind}"
    path.mkdir(parents=True, exist_ok=True)
    return path


class RunReporter:
    """The progress callback a job gets: ``reporter(step, total, metrics)`` and ``reporter.log(line)``.

    Writes at most once per ``min_interval`` seconds (and always at the last step), so a fast
    training loop does not hammer the database.
    """

    def __init__(self, run: Run, *, min_interval: float = 1.0):
        self.run_id = run.pk
        self.min_interval = min_interval
        self._last_write = 0.0
        self._lines: list[str] = run.log_tail.splitlines()
        self._pending_metrics: list[dict] = []

    def __call__(self, step: int, total: int, metrics: dict | None = None) -> None:
        if metrics:
            self._pending_metrics.append({"step": step, **metrics})
        now = time.monotonic()
        if now - self._last_write < self.min_interval and step < total:
            return
        self._last_write = now
        progress = 100.0 * step / total if total else 0.0
        self._write(progress=min(progress, 100.0))

    def beat(self) -> None:
        """Heartbeat (and the cancel check) while the job is busy with something that has no steps."""
        self._write()

    def log(self, line: str) -> None:
        self._lines = (self._lines + [line.rstrip()])[-LOG_TAIL_LINES:]
        self._write()

    def _write(self, **fields) -> None:
        run = Run.objects.only("metrics", "cancel_requested").get(pk=self.run_id)
        if run.cancel_requested:
            raise RunCancelled()
        if self._pending_metrics:
            fields["metrics"] = run.metrics + self._pending_metrics
            self._pending_metrics = []
        Run.objects.filter(pk=self.run_id, status=Run.Status.RUNNING).update(
            heartbeat_at=timezone.now(), log_tail="\n".join(self._lines), **fields
        )

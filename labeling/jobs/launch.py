"""A job's training in ``RLHF_TRAINING_PROCESSES`` processes, as an ``accelerate launch`` subprocess.

With the setting at 1 (the default) a job trains inside the worker process, as it always did. Above
1, the job runs the very command a user would (``accelerate launch --num_processes N -m modeling
dpo --policy ... --rankings ... --out ...``, the run's config given as that command's flags) with
``RLHF_PROGRESS=jsonl``, so the main training process prints one JSON line per step. This module
relays each line to the Run row (the live progress bar and metrics chart), beats the heartbeat every
few seconds when no line comes (loading a model, caching reference log-probs), and, once an admin
asks to cancel, stops the whole process group (SIGTERM, then SIGKILL after a grace period). A
non-zero exit fails the run with the last lines the training printed; those lines are also kept
in ``training.log`` in the run directory.

Launcher flags: ``--config_file RLHF_TRAINING_ACCELERATE_CONFIG`` when set (DeepSpeed, FSDP, a GPU
list: anything accelerate's config file holds); otherwise DDP on this machine's GPUs, or on CPU
processes talking over gloo where it has none. A free port per run, so two runs never collide.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Callable

from django.conf import settings

from labeling.jobs.reporter import RunReporter

BEAT_SECONDS = 5.0
STOP_GRACE_SECONDS = 20.0
TAIL_LINES = 60


class TrainingProcessFailed(RuntimeError):
    """The launched training exited non-zero; the message ends with its last lines of output."""


def training_processes() -> int:
    return max(1, int(settings.RLHF_TRAINING_PROCESSES))


def launcher_argv(processes: int, config_file: str = "") -> list[str]:
    """``python -m accelerate.commands.launch ...`` for ``processes`` processes on this machine."""
    argv = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes)]
    if config_file:
        return argv + ["--config_file", config_file, "--main_process_port", str(_free_port())]
    # No config file: DDP over this machine's GPUs, or CPU processes over gloo (accelerate 1.15 starts
    # several CPU processes only with --multi_gpu; its --cpu alone starts one).
    return argv + ["--multi_gpu", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                   "--main_process_port", str(_free_port())]


def launch_training(command: list[str], reporter: RunReporter, log_path: Path, *, processes: int) -> dict:
    """Run ``python -m modeling COMMAND...`` under ``accelerate launch``; return its final metrics line.

    Progress lines (``{"event": "progress", "step", "total", "metrics"}``) go to ``reporter``; the
    final line (``{"out": ..., metrics}``) is returned. Raises :class:`RunCancelled` after stopping
    the processes when the run was cancelled, :class:`TrainingProcessFailed` on a non-zero exit."""
    argv = launcher_argv(processes, settings.RLHF_TRAINING_ACCELERATE_CONFIG) + ["-m", "modeling", *command]
    reporter.log(f"launching {processes} training processes: accelerate launch ... -m modeling {' '.join(command)}")
    root = Path(settings.BASE_DIR)
    env = {**os.environ, "RLHF_PROGRESS": "jsonl", "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH", "")]))}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log:
        process = subprocess.Popen(argv, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, bufsize=1, start_new_session=True)
        try:
            final, tail = _relay(process, reporter, log)
        except BaseException:
            _stop_group(process)
            raise
    if process.returncode != 0:
        said = list(dict.fromkeys(line for line in tail if line.startswith("error: ")))  # the CLI's one clear line
        raise TrainingProcessFailed(f"training exited with status {process.returncode}: " +
                                    ("\n".join(said) if said else "\n" + "\n".join(tail)))
    if final is None:
        raise TrainingProcessFailed("training printed no final metrics line:\n" + "\n".join(tail))
    return final


def _relay(process: subprocess.Popen, reporter: RunReporter, log) -> tuple[dict | None, deque]:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: ([lines.put(line) for line in process.stdout], lines.put(None)),
                     daemon=True).start()
    final, tail = None, deque(maxlen=TAIL_LINES)
    while True:
        try:
            line = lines.get(timeout=BEAT_SECONDS)
        except queue.Empty:
            reporter.beat()  # raises RunCancelled once an admin asked to cancel
            continue
        if line is None:
            break
        log.write(line)
        event = _json_line(line)
        if event is None:
            tail.append(line.rstrip())
        elif event.get("event") == "progress":
            reporter(int(event["step"]), int(event["total"]), event.get("metrics") or {})
        else:
            final = event
    process.wait()
    return final, tail


def _json_line(line: str) -> dict | None:
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the launcher and its training processes, SIGKILL what is left after the grace period."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_training(run_dir: Path, reporter: RunReporter, in_process: Callable[[], tuple[Path, dict]], *,
                 command: str, own_args: list[str], config, skip: set[str]) -> tuple[Path, dict]:
    """``(checkpoint, metrics)``: from ``in_process()`` with one training process, else from ``python -m
    modeling COMMAND OWN_ARGS <config as flags>`` in ``training_processes()`` processes (the same
    checkpoint and metrics, less the history, which the run already holds from the progress lines)."""
    if training_processes() == 1:
        return in_process()
    from modeling.commands._config_flags import config_flags

    final = launch_training([command, *own_args, *config_flags(config, skip)], reporter, run_dir / "training.log",
                            processes=training_processes())
    return Path(final.pop("out")), final

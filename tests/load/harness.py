"""The real server side of the load runs: a database (SQLite file or a fresh Postgres database),
gunicorn with several workers on a free loopback port (or the whole `make run` stack:
:func:`localstack`), seeding, and the figures read back.

``python -m tests.load.harness seed|figures`` are the two steps that need Django; they run as
subprocesses with the same environment as the server, so the caller (pytest or the benchmark)
never opens the database itself.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from config.localstack import BASE_DIR, free_port, wait_for_port

SETTINGS = "tests.load.settings"


def server_env(*, database_url: str, var_dir: Path, **extra: str) -> dict:
    """The environment of every process of a run (server, seeding, figures, workers)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(DJANGO_SETTINGS_MODULE=SETTINGS, DATABASE_URL=database_url, RLHF_VAR_DIR=str(var_dir),
               DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", OMP_NUM_THREADS="1",
               PYTHONPATH=str(BASE_DIR), REDIS_URL=extra.pop("REDIS_URL", "redis://127.0.0.1:1/0"))
    env.update(extra)
    return env


@contextlib.contextmanager
def sqlite_database(directory: Path):
    yield f"sqlite:///{Path(directory).resolve() / 'load.sqlite3'}"  # sqlite:// + /absolute path


@contextlib.contextmanager
def postgres_database(server_url: str):
    """A fresh database on the Postgres server at ``server_url``, dropped afterwards."""
    import psycopg

    name = f"load_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(server_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(*args: str, env: dict, timeout: float = 300) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True,
                            text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    return result.stdout


def harness_step(*args: str, env: dict, timeout: float = 300) -> dict:
    result = subprocess.run([sys.executable, "-m", "tests.load.harness", *args], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"harness {args[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def worker_pids(master_pid: int) -> list[int]:
    """gunicorn's worker processes: the children of its master."""
    path = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


@contextlib.contextmanager
def gunicorn(*, env: dict, workers: int, timeout: float = 120):
    """gunicorn (sync workers, as in docker-compose.yml) on a free loopback port; yields (base URL, process)."""
    port = free_port(18600)
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
    args = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--timeout", str(int(timeout)), "--graceful-timeout", "5"]
    server = subprocess.Popen(args, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port, timeout=60, process=server)
        deadline = time.monotonic() + 60
        while len(worker_pids(server.pid)) < workers or not _answers(f"{base}/load/trivial"):
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"gunicorn did not come up:\n{Path(log.name).read_text()[-3000:]}")
            time.sleep(0.2)
        yield base, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        os.unlink(log.name)


LOCALSTACK_SETTINGS = "tests.load.local_settings"


def localstack_env(*, var_dir: Path, bootstrap: bool) -> dict:
    """The environment `make run` gives ``python -m config.localstack`` (SQLite under ``var_dir``, DEBUG as
    the stack sets it, torch's own thread count, Redis started by the stack), with the trivial view added to the URLs."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "OMP_NUM_THREADS"}}
    env.update(DJANGO_SETTINGS_MODULE=LOCALSTACK_SETTINGS, RLHF_VAR_DIR=str(var_dir), PYTHONPATH=str(BASE_DIR),
               RLHF_BOOTSTRAP="1" if bootstrap else "0")
    return env


@contextlib.contextmanager
def localstack(*, env: dict, timeout: float = 180):
    """`make run`'s stack (``python -m config.localstack``: migrate, seed_demo, Redis, the default and
    training Celery workers with beat, the web server and, unless RLHF_BOOTSTRAP=0, the default policy's
    training) on free loopback ports; yields (base URL, process) once the trivial view answers, stops
    it with Ctrl+C (SIGINT) as a user does."""
    port, redis_port = free_port(18700), free_port(16400)
    env = {**env, "RLHF_PORT": str(port), "REDIS_PORT": str(redis_port)}
    keep = os.environ.get("LOAD_STACK_LOG")  # a path: keep the stack's output there (to read the workers' timings)
    log = open(keep, "w") if keep else tempfile.NamedTemporaryFile(prefix="localstack-", suffix=".log", delete=False)
    stack = subprocess.Popen([sys.executable, "-m", "config.localstack"], cwd=BASE_DIR, env=env, stdout=log,
                             stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _answers(f"{base}/load/trivial"):
            if time.monotonic() > deadline or stack.poll() is not None:
                raise RuntimeError(f"the local stack did not come up:\n{Path(log.name).read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, stack
    finally:
        if stack.poll() is None:
            stack.send_signal(signal.SIGINT)
        try:
            stack.wait(timeout=60)
        except subprocess.TimeoutExpired:
            stack.kill()
            stack.wait()
        log.close()
        if not keep:
            os.unlink(log.name)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status == 200
    except OSError:
        return False


# --- the Django side, run as ``python -m tests.load.harness`` ----------------------------------------

_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _seed(labelers: int, tasks: int, k: int, required: int) -> dict:
    """``labelers`` users each with a logged-in session (the session cookie is what a browser holds
    after logging in) and an API token, and ``tasks`` ranking tasks of ``k`` completions needing
    ``required`` rankings."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from labeling.models import Completion, Prompt, RankingTask

    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"load{i:03d}", password="!unusable") for i in range(labelers)])
    sessions = {}
    for user in User.objects.filter(pk__in=[u.pk for u in users]):
        session = SessionStore()
        # The backend a password login records (the throttle backend first in the list only refuses).
        session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: _MODEL_BACKEND,
                        HASH_SESSION_KEY: user.get_session_auth_hash()})
        session.create()
        sessions[user.username] = session.session_key
    tokens = {t.user.username: t.key for t in Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users])}
    prompts = Prompt.objects.bulk_create([Prompt(text=f"Load prompt {i}: list {i % 7 + 2} fruits.")
                                          for i in range(tasks)])
    made = RankingTask.objects.bulk_create([RankingTask(prompt=p, required_rankings=required) for p in prompts])
    Completion.objects.bulk_create([Completion(task=t, text=f"Answer {j} to task {t.pk}", source="seed")
                                    for t in made for j in range(k)])
    return {"sessions": sessions, "tokens": tokens, "tasks": len(made)}


def _figures(acked_path: str) -> dict:
    """What the database holds after a run, checked against the submission ids the clients saw acknowledged."""
    from django.db.models import Count, F

    from labeling.models import Assignment, Ranking, RankingTask

    acked = set(json.loads(Path(acked_path).read_text()))
    stored = set(Ranking.objects.values_list("submission_id", flat=True))
    pairs = Ranking.objects.values("task", "labeler").annotate(n=Count("id")).filter(n__gt=1).count()
    replays = Ranking.objects.values("labeler", "submission_id").annotate(n=Count("id")).filter(n__gt=1).count()
    over = (RankingTask.objects.annotate(n=Count("rankings")).filter(n__gt=F("required_rankings")).count())
    submitted = Assignment.objects.filter(status=Assignment.Status.SUBMITTED)
    ranked = Ranking.objects.values_list("task", "labeler")
    inconsistent = (set(submitted.values_list("task", "labeler")) ^ set(ranked))
    return {"rankings_stored": Ranking.objects.count(), "acknowledged": len(acked),
            "lost": len(acked - stored), "stored_unacknowledged": len(stored - acked),
            "duplicates": pairs + replays, "tasks_over_required": over,
            "assignment_mismatches": len(inconsistent)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.load.harness")
    steps = parser.add_subparsers(dest="step", required=True)
    seed = steps.add_parser("seed")
    for name in ("labelers", "tasks", "k", "required"):
        seed.add_argument(f"--{name}", type=int, required=True)
    figures = steps.add_parser("figures")
    figures.add_argument("--acked", required=True, help="JSON file: the submission ids the clients saw stored")
    args = parser.parse_args(argv)
    import django

    django.setup()
    if args.step == "seed":
        out = _seed(args.labelers, args.tasks, args.k, args.required)
    else:
        out = _figures(args.acked)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""Simulated labelers over HTTP: each takes its next task (``GET /label/``), ranks it and submits it
(``POST .../ranking``), with random retries (the same submission sent again after its answer, as
after a lost response) and double submits (the same submission sent twice at once, a double click),
until the wanted number of rankings is acknowledged. Then the same clients hammer a trivial view
on the same server, and :func:`load_run` returns the figures of ``docs/RELIABILITY.md``.
"""
from __future__ import annotations

import json
import random
import re
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

from tests.load import harness

SUBMIT_URL = re.compile(r'data-submit-url="([^"]+)"')
CARD_ID = re.compile(r'data-card-id="(\d+)"')


@dataclass
class LoadConfig:
    labelers: int = 50  # concurrent clients
    rankings: int = 2000  # stop once this many submissions are acknowledged
    workers: int = 3  # gunicorn sync workers
    k: int = 4  # completions per task
    required: int = 3  # rankings each task needs
    retry_rate: float = 0.1  # share of submissions sent again after their answer
    double_rate: float = 0.1  # share of submissions sent twice at the same moment
    trivial_requests: int = 2000  # requests to the trivial view, over the same clients
    max_seconds: float = 300  # the labeling phase stops here even if short of ``rankings``
    seed: int = 0
    # "page": GET /label/ and POST /label/assignments/<id>/ranking (the labeler page, session cookie);
    # "api": GET /api/v1/tasks/next/ and POST /api/v1/tasks/<id>/ranking/ (a token, as API clients do).
    mode: str = "page"
    # "gunicorn": gunicorn sync workers and nothing else (the compose shape's web); "localstack": the
    # whole `make run` stack (python -m config.localstack: its web server, Redis, both Celery workers
    # with beat, on SQLite under var_dir).
    server: str = "gunicorn"
    bootstrap: bool = True  # localstack only: train the default policy in the background, as `make run` does


@dataclass
class Tally:
    """Shared by the client threads; every list append is atomic under the GIL, counters use the lock."""

    latencies: dict = field(default_factory=lambda: {"next": [], "submit": [], "trivial": []})
    slow: list = field(default_factory=list)  # (kind, wall-clock start, seconds) of the requests over 1 s
    statuses: dict = field(default_factory=dict)
    acked: set = field(default_factory=set)
    errors: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, status: int) -> None:
        self.latencies[kind].append(seconds)
        if seconds > 1.0:
            self.slow.append((kind, round(time.time() - seconds, 2), round(seconds, 2)))
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1


def _timed(tally: Tally, kind: str, call):
    started = time.perf_counter()
    try:
        response = call()
    except requests.RequestException as exc:
        tally.record(kind, time.perf_counter() - started, 0)
        tally.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
        return None
    tally.record(kind, time.perf_counter() - started, response.status_code)
    if response.status_code >= 500:
        tally.errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
    return response


def _client(base: str, session_key: str, token: str | None = None) -> requests.Session:
    client = requests.Session()
    client.cookies.set("sessionid", session_key, domain="127.0.0.1", path="/")
    if token is not None:
        client.headers["Authorization"] = f"Token {token}"
    return client


def _tiers(card_ids: list[int], rng: random.Random) -> list[list[int]]:
    order = card_ids[:]
    rng.shuffle(order)
    tiers = [[cid] for cid in order]
    if len(tiers) > 2 and rng.random() < 0.2:  # a tie now and then
        tiers[0] += tiers.pop(1)
    return tiers


def _next_task(base: str, client: requests.Session, cfg: LoadConfig, tally: Tally):
    """``"retry"``, ``None`` (nothing left for this labeler) or ``(submit URL, card ids, headers)``."""
    if cfg.mode == "api":
        answer = _timed(tally, "next", lambda: client.get(f"{base}/api/v1/tasks/next/", timeout=120))
        if answer is None or answer.status_code != 200:
            return "retry"
        task = answer.json()["task"]
        if task is None:
            return None
        return (f"{base}/api/v1/tasks/{task['id']}/ranking/", [c["id"] for c in task["completions"]],
                {"Content-Type": "application/json", "Accept": "application/json"})
    page = _timed(tally, "next", lambda: client.get(f"{base}/label/", timeout=120))
    if page is None or page.status_code != 200:
        return "retry"
    match = SUBMIT_URL.search(page.text)
    if match is None:  # "nothing left for you"
        return None
    return (base + match.group(1), [int(c) for c in CARD_ID.findall(page.text)],
            {"Content-Type": "application/json", "X-CSRFToken": client.cookies.get("csrftoken", "")})


def _labeler(base: str, credentials: tuple[str, str], cfg: LoadConfig, tally: Tally, stop: threading.Event,
             seed: int):
    rng = random.Random(seed)
    session_key, token = credentials
    client = _client(base, session_key, token if cfg.mode == "api" else None)
    while not stop.is_set():
        task = _next_task(base, client, cfg, tally)
        if task == "retry":
            time.sleep(0.2)
            continue
        if task is None:
            return
        submit_url, card_ids, headers = task
        body = json.dumps({"tiers": _tiers(card_ids, rng),
                           "submission_id": uuid.uuid4().hex, "seconds": round(rng.uniform(5, 60), 1)})

        def post(session=client, submit_url=submit_url, body=body, headers=headers):
            response = _timed(tally, "submit", lambda: session.post(submit_url, data=body, headers=headers,
                                                                     timeout=120))
            if response is not None and response.status_code in (200, 201):
                with tally.lock:
                    tally.acked.add(json.loads(body)["submission_id"])
                    if len(tally.acked) >= cfg.rankings:
                        stop.set()
            elif response is not None and response.status_code < 500:
                tally.errors.append(f"submit: {response.status_code} {response.text[:200]}")

        if rng.random() < cfg.double_rate:  # a double click: the same submission twice at once
            twin = _client(base, session_key, token if cfg.mode == "api" else None)
            twin.cookies.update(client.cookies)
            other = threading.Thread(target=post, kwargs={"session": twin})
            other.start()
            post()
            other.join()
        else:
            post()
        if rng.random() < cfg.retry_rate:  # the answer was "lost": send it again
            post()


def _trivial(base: str, session_key: str, count: int, tally: Tally) -> None:
    client = _client(base, session_key)
    for _ in range(count):
        _timed(tally, "trivial", lambda: client.get(f"{base}/load/trivial", timeout=120))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _run_threads(targets) -> float:
    threads = [threading.Thread(target=target, args=args, daemon=True) for target, args in targets]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def load_run(cfg: LoadConfig, *, database_url: str | None, var_dir: Path) -> dict:
    """Migrate, seed, serve (gunicorn, or `make run`'s stack on ``var_dir``'s SQLite database, when
    ``database_url`` is ignored), run the labelers then the trivial view; return the figures."""
    if cfg.server == "localstack":
        env = harness.localstack_env(var_dir=var_dir, bootstrap=cfg.bootstrap)
        serve = harness.localstack(env=env)
    else:
        env = harness.server_env(database_url=database_url, var_dir=var_dir)
        serve = harness.gunicorn(env=env, workers=cfg.workers)
    harness.manage("migrate", "--noinput", "-v", "0", env=env)
    tasks = -(-cfg.rankings // cfg.required) * 5 // 4 + cfg.labelers  # a quarter spare, so nobody runs dry
    seeded = harness.harness_step("seed", f"--labelers={cfg.labelers}", f"--tasks={tasks}", f"--k={cfg.k}",
                                  f"--required={cfg.required}", env=env)
    tally, stop = Tally(), threading.Event()
    with serve as (base, _server):
        # Half the trivial requests before the labeling phase and half after: on a shared machine the
        # background load drifts, and a single trivial phase after labeling swung the ratio by 2x.
        per_client = max(1, -(-cfg.trivial_requests // (2 * cfg.labelers)))
        trivial = [(_trivial, (base, key, per_client, tally)) for key in seeded["sessions"].values()]
        trivial_seconds = _run_threads(trivial)
        timer = threading.Timer(cfg.max_seconds, stop.set)
        timer.start()
        labeling_seconds = _run_threads(
            [(_labeler, (base, (key, seeded["tokens"][name]), cfg, tally, stop, cfg.seed * 1000 + i))
             for i, (name, key) in enumerate(seeded["sessions"].items())])
        timer.cancel()
        trivial_seconds += _run_threads(trivial)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as acked_file:
        json.dump(sorted(tally.acked), acked_file)
    try:
        stored = harness.harness_step("figures", f"--acked={acked_file.name}", env=env)
    finally:
        Path(acked_file.name).unlink()
    return _figures(cfg, tally, stored, labeling_seconds, trivial_seconds, tasks)


def _figures(cfg, tally: Tally, stored: dict, labeling_seconds: float, trivial_seconds: float, tasks: int) -> dict:
    lat = tally.latencies
    labeling_requests = len(lat["next"]) + len(lat["submit"])
    labeling_rps = labeling_requests / labeling_seconds
    trivial_rps = len(lat["trivial"]) / trivial_seconds
    mean = {kind: statistics.fmean(values) if values else float("nan") for kind, values in lat.items()}
    return {
        "config": asdict(cfg), "tasks": tasks, **stored,
        "server_errors_5xx": sum(n for status, n in tally.statuses.items() if status >= 500),
        "client_errors_4xx": sum(n for status, n in tally.statuses.items() if 400 <= status < 500),
        "connection_errors": tally.statuses.get(0, 0),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "next_task_ms": {"p50": 1000 * _percentile(lat["next"], 0.5), "p99": 1000 * _percentile(lat["next"], 0.99),
                         "count": len(lat["next"])},
        "submit_ms": {"p50": 1000 * _percentile(lat["submit"], 0.5), "p99": 1000 * _percentile(lat["submit"], 0.99),
                      "count": len(lat["submit"])},
        "trivial_ms": {"p50": 1000 * _percentile(lat["trivial"], 0.5),
                       "p99": 1000 * _percentile(lat["trivial"], 0.99), "count": len(lat["trivial"])},
        "labeling_seconds": labeling_seconds, "labeling_requests_per_second": labeling_rps,
        "trivial_requests_per_second": trivial_rps,
        # Same clients, same server: how close the labeling views come to a view that does nothing.
        "throughput_ratio": labeling_rps / trivial_rps,
        # Per view, by Little's law for a closed loop of the same clients: trivial mean / view mean latency.
        "next_task_ratio": mean["trivial"] / mean["next"], "submit_ratio": mean["trivial"] / mean["submit"],
        "over_1s": {kind: sum(1 for k, *_ in tally.slow if k == kind) for kind in lat},
        "slow_requests": sorted(tally.slow, key=lambda row: row[1]),
        "errors_sample": tally.errors[:10],
    }

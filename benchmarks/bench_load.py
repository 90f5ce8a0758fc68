"""50 simulated labelers over HTTP against the real server until 2,000 rankings are in.

Run: ``.venv/bin/python benchmarks/bench_load.py`` (SQLite, then Postgres when ``--postgres URL`` or
``TEST_POSTGRES_URL`` names a server; ``scripts/start_test_postgres.sh`` starts a throwaway one).
Each database gets a fresh schema, 50 labelers with logged-in sessions and enough K=4 tasks needing
3 rankings each; gunicorn (sync workers, as in docker-compose.yml) serves the project on a free
loopback port. Every labeler loops ``GET /label/`` -> rank -> ``POST .../ranking`` (``--mode page``; the
JSON API ``GET /api/v1/tasks/next/`` -> ``POST /api/v1/tasks/<id>/ranking/`` with ``--mode api``; both by
default, one after the other, each on a fresh database); 10 % of the
submissions are sent again after their answer (a retry) and 10 % twice at the same moment (a double
click). Then the same 50 clients call a trivial view on the same server (session and user loaded,
nothing else). Printed: rankings stored vs acknowledged, duplicates, tasks over their required
count, 5xx, p50/p99 latency of next-task and submit, and throughput against the trivial view.
Bounded: each database's labeling phase stops after ``--max-seconds`` even if short of the target.

A third server, ``localstack``, is the stack `make run` starts (``python -m config.localstack`` on a
temporary var dir and free ports: its web server, Redis, the default and training Celery workers with
beat refreshing the agreement caches every 30 s, and the default policy trained in the background as
a new user gets it unless ``--no-bootstrap``), on its SQLite database, the same labelers.
``--only localstack`` runs it alone; it runs after the other two unless ``--skip-localstack``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.load import harness  # noqa: E402
from tests.load.labelers import LoadConfig, load_run  # noqa: E402


def _report(name: str, f: dict, wall: float) -> None:
    ok = (f["lost"] == f["stored_unacknowledged"] == f["duplicates"] == f["tasks_over_required"]
          == f["server_errors_5xx"] == f["assignment_mismatches"] == 0 and f["rankings_stored"] == f["acknowledged"])
    server = ("the `make run` stack" if f["config"]["server"] == "localstack"
              else f"{f['config']['workers']} gunicorn workers")
    print(f"\n== {name}: {f['config']['labelers']} labelers, {server}, "
          f"{f['tasks']} tasks ({wall:.0f} s wall)")
    print(f"rankings stored {f['rankings_stored']} / acknowledged {f['acknowledged']}  lost {f['lost']}  "
          f"duplicates {f['duplicates']}  tasks over required {f['tasks_over_required']}  "
          f"assignment mismatches {f['assignment_mismatches']}")
    print(f"5xx {f['server_errors_5xx']}  4xx {f['client_errors_4xx']}  connection errors {f['connection_errors']}  "
          f"statuses {f['statuses']}")
    for label, key in (("next task", "next_task_ms"), ("submit", "submit_ms"), ("trivial view", "trivial_ms")):
        lat = f[key]
        over = f["over_1s"][key.split("_")[0]]
        print(f"{label:>12}: p50 {lat['p50']:7.1f} ms  p99 {lat['p99']:7.1f} ms  ({lat['count']} requests, {over} over 1 s)")
    print(f"throughput: labeling {f['labeling_requests_per_second']:.1f} req/s over {f['labeling_seconds']:.1f} s, "
          f"trivial {f['trivial_requests_per_second']:.1f} req/s -> ratio {f['throughput_ratio']:.2f} (target 0.5); "
          f"per view: next task {f['next_task_ratio']:.2f}, submit {f['submit_ratio']:.2f}")
    print("integrity:", "OK" if ok else "FAILED", f["errors_sample"] if f["errors_sample"] else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labelers", type=int, default=50)
    parser.add_argument("--rankings", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (docker-compose.yml runs 3)")
    parser.add_argument("--max-seconds", type=float, default=300, help="cap on each labeling phase")
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL", ""),
                        help="a Postgres server URL (default: $TEST_POSTGRES_URL); empty: SQLite only")
    parser.add_argument("--only", choices=["sqlite", "postgres", "localstack"], help="run one server only")
    parser.add_argument("--skip-localstack", action="store_true", help="gunicorn on SQLite and Postgres only")
    parser.add_argument("--no-bootstrap", action="store_true",
                        help="localstack: no default-policy training in the background (RLHF_BOOTSTRAP=0)")
    parser.add_argument("--mode", choices=["page", "api", "both"], default="both",
                        help="page: GET /label/ + POST /label/assignments/<id>/ranking (session); api: GET "
                             "/api/v1/tasks/next/ + POST /api/v1/tasks/<id>/ranking/ (token); both: one then the other")
    parser.add_argument("--json", help="also write all figures to this file")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results, failed = {}, False
    for name, mode in [(n, m) for n in ("sqlite", "postgres", "localstack") for m in ("page", "api")]:
        if (args.only and name != args.only) or args.mode not in (mode, "both"):
            continue
        if name == "localstack" and args.skip_localstack:
            continue
        if name == "postgres" and not args.postgres:
            print(f"\n== postgres {mode}: skipped (pass --postgres URL or set TEST_POSTGRES_URL)")
            continue
        config = LoadConfig(labelers=args.labelers, rankings=args.rankings, workers=args.workers,
                            trivial_requests=args.rankings, max_seconds=args.max_seconds, mode=mode,
                            server="localstack" if name == "localstack" else "gunicorn",
                            bootstrap=not args.no_bootstrap)
        with tempfile.TemporaryDirectory(prefix=f"bench-load-{name}-") as directory:
            database = (harness.postgres_database(args.postgres) if name == "postgres"
                        else harness.sqlite_database(Path(directory)))
            started = time.perf_counter()
            with database as url:
                figures = load_run(config, database_url=None if name == "localstack" else url,
                                   var_dir=Path(directory))
            _report(f"{name}, {mode}", figures, time.perf_counter() - started)
        results[f"{name}-{mode}"] = figures
        failed |= figures["lost"] + figures["duplicates"] + figures["tasks_over_required"] + \
            figures["server_errors_5xx"] > 0 or figures["rankings_stored"] != figures["acknowledged"]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

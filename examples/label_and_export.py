"""Label tasks through the REST API, then export TRL preference pairs to ``pairs.jsonl``.

    python manage.py drf_create_token labeler1          # prints the labeler's token
    python examples/label_and_export.py --base-url http://127.0.0.1:8000 --token <token> --count 3

Each task comes from ``GET /api/v1/tasks/next/`` (a lease on the oldest task still needing rankings);
:func:`judge` ranks its completions (here: a stand-in rule, put your own judgement or model there) and
``POST /api/v1/tasks/{id}/ranking/`` submits ``{"tiers": [[id], [id, id], ...]}`` best first, a tier
of two or more being a tie. Every POST carries an ``Idempotency-Key``, so a retry after a dropped
connection never stores a second ranking. The pairs come from ``GET /api/v1/exports/pairs/`` (staff
token: ``--export-token``, default the same token); if the server has no such endpoint, or with
``--export-with-manage``, from ``python manage.py export_preferences`` on this machine. The file is
written to a temporary name and renamed, so it is whole or absent. Needs only ``requests``.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

REPO = Path(__file__).resolve().parent.parent


def session_for(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    # POSTs are retried too: the Idempotency-Key makes a repeat return the first answer.
    retry = Retry(total=3, backoff_factor=0.5, status_forcelist=(502, 503, 504), allowed_methods=None)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def judge(prompt: str, completions: list[dict]) -> list[list[int]]:
    """Tiers of completion ids, best first. Stand-in rule: longer answers first, equal lengths tied."""
    by_length: dict[int, list[int]] = {}
    for completion in completions:
        by_length.setdefault(len(completion["text"].strip()), []).append(completion["id"])
    return [by_length[length] for length in sorted(by_length, reverse=True)]


def _fail(response: requests.Response, what: str) -> SystemExit:
    try:
        detail = response.json()
    except ValueError:
        detail = response.text[:300]
    return SystemExit(f"{what}: HTTP {response.status_code}: {detail}")


def next_task(session: requests.Session, base: str, timeout: float) -> dict | None:
    response = session.get(f"{base}/api/v1/tasks/next/", timeout=timeout)
    if response.status_code == 204:
        return None
    if response.status_code != 200:
        raise _fail(response, "GET /api/v1/tasks/next/")
    body = response.json()
    return body.get("task", body)  # {"task": null} when nothing is left


def submit(session: requests.Session, base: str, task: dict, timeout: float) -> dict:
    tiers = judge(task["prompt"], task["completions"])
    url = f"{base}/api/v1/tasks/{task['id']}/ranking/"
    response = session.post(url, json={"tiers": tiers}, headers={"Idempotency-Key": str(uuid.uuid4())},
                            timeout=timeout)
    if response.status_code not in (200, 201):
        raise _fail(response, f"POST {url}")
    return {"task": task["id"], "tiers": tiers}


def _write_atomic(chunks, out: Path) -> int:
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    size = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size


def export_over_api(session: requests.Session, base: str, out: Path, mode: str, timeout: float) -> bool:
    """True when the server exported the pairs; False when it has no exports endpoint."""
    url = f"{base}/api/v1/exports/pairs/"
    with session.get(url, params={"pairs": mode}, stream=True, timeout=timeout) as response:
        if response.status_code == 404:
            return False  # a server without the exports endpoint (a bad filter would be a 400)
        if response.status_code != 200:
            raise _fail(response, f"GET {url}")
        _write_atomic(response.iter_content(chunk_size=1 << 16), out)
    return True


def export_with_manage(out: Path, mode: str) -> None:
    command = [sys.executable, str(REPO / "manage.py"), "export_preferences", "--format", "pairs",
               "--pairs", mode, "--out", str(out)]
    if subprocess.run(command).returncode != 0:
        raise SystemExit("manage.py export_preferences failed (see above)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("RLHF_BASE_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("RLHF_TOKEN"), help="a labeler's API token")
    parser.add_argument("--export-token", default=None, help="a staff token for the export (default: --token)")
    parser.add_argument("--count", type=int, default=1, help="tasks to label (stops early when none is left)")
    parser.add_argument("--out", type=Path, default=Path("pairs.jsonl"))
    parser.add_argument("--pairs", default="per_labeler", help="per_labeler (default) or majority")
    parser.add_argument("--export-with-manage", action="store_true", help="export with manage.py, not the API")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token (or RLHF_TOKEN) is required: python manage.py drf_create_token <user>")
    if not args.out.parent.is_dir():
        parser.error(f"--out: directory {args.out.parent} does not exist")
    base = args.base_url.rstrip("/")

    labeler = session_for(args.token)
    labeled = 0
    for _ in range(args.count):
        task = next_task(labeler, base, args.timeout)
        if task is None:
            print("No task is left for this labeler.")
            break
        done = submit(labeler, base, task, args.timeout)
        labeled += 1
        print(f"Ranked task {done['task']}: {done['tiers']}")

    exporter = session_for(args.export_token or args.token)
    if not args.export_with_manage and export_over_api(exporter, base, args.out, args.pairs, args.timeout):
        how = "over the API"
    else:
        export_with_manage(args.out, args.pairs)
        how = "with manage.py export_preferences"
    pairs = sum(1 for line in args.out.read_text(encoding="utf-8").splitlines() if line.strip())
    print(f"Labeled {labeled} tasks; wrote {pairs} pairs to {args.out} ({how}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Exports read by their consumers: ``datasets``, the ``modeling`` CLI, TRL, and ``examples/`` over the API.

``datasets`` and ``trl`` are not in ``.venv``: where they cannot be imported here, the checks run in
``.venv-bench`` (``make bench`` builds it) as a subprocess, and are skipped when that does not exist.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from labeling.services.exports import export_stream, export_to_path
from modeling.cli import main as modeling_main
from tests.factories import UserFactory, make_task
from tests.labeling.export_data import export_filters, rank
from tests.modeling.tiny_reward import toy_ranking_records

REPO = Path(__file__).resolve().parents[2]
BENCH_PYTHON = REPO / ".venv-bench" / "bin" / "python"


@pytest.fixture
def toy_rankings(db):
    """The modeling tests' toy rankings (a hidden preference a tiny model can learn), stored as tasks."""
    tasks, users = {}, {}
    for record in toy_ranking_records(12, 4):
        if record["prompt"] not in tasks:
            tasks[record["prompt"]] = make_task(k=4, texts=record["completions"], prompt_text=record["prompt"])
        user = users.setdefault(record["labeler"], UserFactory(username=record["labeler"]))
        rank(tasks[record["prompt"]], user, record["ranking"])
    return toy_ranking_records(12, 4)


def python_with(*modules: str) -> list[str]:
    """This interpreter when it has the modules, else .venv-bench's; skip when neither has them."""
    if all(importlib.util.find_spec(m) for m in modules):
        return [sys.executable]
    if BENCH_PYTHON.exists():
        probe = subprocess.run([str(BENCH_PYTHON), "-c", "import " + ", ".join(modules)], capture_output=True)
        if probe.returncode == 0:
            return [str(BENCH_PYTHON)]
    pytest.skip(f"{', '.join(modules)} not importable here nor in .venv-bench (make bench builds it)")


def fresh_datasets_cache(tmp_path: Path) -> dict:
    """The environment with a cache of its own for ``datasets``: pytest reuses its temporary paths,
    and a dataset cached under the same path was loaded instead of the new files."""
    return {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf-cache")}


LOAD_BOTH = """
import json, sys
from datasets import load_dataset
directory, pairs = sys.argv[1], sys.argv[2]
by_dir = load_dataset(directory)
rankings = load_dataset(directory, "rankings", split="train")
by_file = load_dataset("json", data_files=pairs, split="train")
print(json.dumps({"splits": sorted(by_dir), "rows": by_dir["train"].num_rows, "columns": by_dir["train"].column_names,
                  "rankings": rankings.num_rows, "ranking0": rankings[0]["ranking"], "file_rows": by_file.num_rows,
                  "first": by_file[0]}))
"""


def test_the_export_loads_with_datasets_load_dataset(toy_rankings, tmp_path):
    python = python_with("datasets")
    directory = export_to_path(fmt="hf", path=tmp_path / "ds", filters=export_filters())
    pairs = export_to_path(fmt="pairs", path=tmp_path / "pairs.jsonl", filters=export_filters())
    result = subprocess.run([*python, "-c", LOAD_BOTH, str(tmp_path / "ds"), str(tmp_path / "pairs.jsonl")],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path,
                            env=fresh_datasets_cache(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["splits"] == ["train"] and loaded["rows"] == directory["lines"] == pairs["lines"]
    assert loaded["columns"] == ["prompt", "chosen", "rejected", "chosen_score", "rejected_score", "chosen_flags",
                                 "rejected_flags", "labeler", "comment"]
    assert loaded["rankings"] == len(toy_rankings) == directory["rankings"]
    assert loaded["ranking0"] == toy_rankings[0]["ranking"]
    first = json.loads((tmp_path / "pairs.jsonl").read_text().splitlines()[0])
    assert loaded["file_rows"] == pairs["lines"] and loaded["first"] == first


def test_the_modeling_cli_reads_the_rankings_export(toy_rankings, tmp_path, tiny_bert_path, capsys):
    export_to_path(fmt="rankings", path=tmp_path / "rankings.jsonl", filters=export_filters())
    assert modeling_main(["export-pairs", "--rankings", str(tmp_path / "rankings.jsonl"),
                          "--out", str(tmp_path / "cli_pairs.jsonl")]) == 0
    theirs = Counter(tuple(sorted(json.loads(line).items()))
                     for line in (tmp_path / "cli_pairs.jsonl").read_text().splitlines())
    ours = Counter(tuple(sorted((k, v) for k, v in json.loads(line).items() if k in ("prompt", "chosen", "rejected")))
                   for line in export_stream(fmt="pairs", filters=export_filters()))  # the TRL columns
    assert ours == theirs and sum(ours.values()) > 0  # the same pairs, the same number of times

    out = tmp_path / "rm"
    assert modeling_main(["train-reward", "--rankings", str(tmp_path / "rankings.jsonl"), "--base", tiny_bert_path,
                          "--out", str(out), "--epochs", "1", "--max-length", "32"]) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert final["out"] == str(out) and (out / "config.json").is_file()


@pytest.mark.slow
def test_trl_reward_trainer_takes_the_pairs_export(toy_rankings, tmp_path):
    python = python_with("datasets", "trl")
    export_to_path(fmt="pairs", path=tmp_path / "pairs.jsonl", filters=export_filters())
    result = subprocess.run([*python, str(REPO / "examples" / "trl_load_check.py"), str(tmp_path / "pairs.jsonl"),
                             "--steps", "2", "--tiny"], capture_output=True, text=True, timeout=600, cwd=REPO,
                            env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 2 and summary["weights_changed"] and summary["rows"] > 0


def run_example(*args, timeout=120, env=None):
    return subprocess.run([sys.executable, str(REPO / "examples" / "label_and_export.py"), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_the_example_refuses_to_run_without_a_token(tmp_path):
    result = run_example("--base-url", "http://127.0.0.1:9", "--out", str(tmp_path / "pairs.jsonl"),
                         "--token", "")
    assert result.returncode == 2 and "--token (or RLHF_TOKEN) is required" in result.stderr
    result = run_example("--token", "x", "--out", str(tmp_path / "no" / "pairs.jsonl"))
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_judge_ranks_every_completion_once():
    spec = importlib.util.spec_from_file_location("label_and_export", REPO / "examples" / "label_and_export.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    tiers = example.judge("p", [{"id": 7, "text": "short"}, {"id": 8, "text": "much longer"}, {"id": 9, "text": "equal"}])
    assert tiers == [[8], [7, 9]]


@pytest.mark.skipif(importlib.util.find_spec("labeling.api.urls") is None, reason="the REST API is not there yet")
@pytest.mark.slow
def test_the_example_labels_over_the_api_and_exports_pairs(live_server, tmp_path, settings):
    from django.urls import Resolver404, resolve
    from rest_framework.authtoken.models import Token

    worker = UserFactory(username="api-labeler")
    boss = UserFactory(username="api-admin", is_staff=True)
    tasks = [make_task(k=3, texts=[f"a{i}", f"bb{i}", f"ccc{i}"]) for i in range(2)]
    # Without the API's exports endpoint the example runs manage.py: point it at this test database.
    db = settings.DATABASES["default"]
    url = (f"sqlite:///{db['NAME']}" if db["ENGINE"].endswith("sqlite3") else
           f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}")
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings.test", "OMP_NUM_THREADS": "1",
           "DATABASE_URL": url}
    result = run_example("--base-url", live_server.url, "--token", Token.objects.create(user=worker).key,
                         "--export-token", Token.objects.create(user=boss).key, "--count", "3",
                         "--out", str(tmp_path / "pairs.jsonl"), timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Labeled 2 tasks; wrote 6 pairs" in result.stdout  # the third request finds nothing left
    try:
        api_exports = resolve("/api/v1/exports/pairs/").url_name != "api-not-found"
    except Resolver404:
        api_exports = False
    assert ("over the API" if api_exports else "with manage.py") in result.stdout
    for task in tasks:
        (ranking,) = task.rankings.all()
        longest, middle, shortest = task.completions.order_by("-pk")
        assert ranking.labeler == worker and ranking.tiers == [[longest.pk], [middle.pk], [shortest.pk]]
    pairs = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    assert {(p["chosen"], p["rejected"]) for p in pairs} >= {("ccc0", "bb0"), ("ccc0", "a0"), ("bb1", "a1")}

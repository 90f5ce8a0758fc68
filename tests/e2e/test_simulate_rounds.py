"""The product loop end to end: a real Celery worker and Redis, simulated labelers through the
ranking service, one tiny DPO round from rankings to new tasks."""
import json
import os
import subprocess
import sys

import pytest

from config.localstack import BASE_DIR

pytestmark = pytest.mark.e2e


def simulate(tmp_path, *args: str, timeout: int = 600) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """``manage.py simulate_rounds --quick ARGS`` on a fresh SQLite database in ``tmp_path``, with its own
    Redis and worker: the process and its figures.json rows (the process must succeed)."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(RLHF_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings.local", OMP_NUM_THREADS="1")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    result = subprocess.run([*manage, "simulate_rounds", "--quick", *args, "--out", str(tmp_path / "sim")],
                            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result, json.loads((tmp_path / "sim" / "figures.json").read_text())


def test_one_tiny_round_from_rankings_to_new_tasks(tmp_path):
    result, rows = simulate(tmp_path, "--rounds", "1", "--algo", "dpo", "--prompts", "8", "--eval-prompts", "3",
                            "--labelers", "2")
    assert [r["round"] for r in rows] == [0, 1]
    assert rows[1]["rankings"] >= 2 and rows[1]["policy"] != rows[0]["policy"]
    assert rows[1]["gain"] == pytest.approx(rows[1]["gold"] - rows[0]["gold"]) and rows[1]["gain_se"] >= 0
    assert "Held-out gold score" in (tmp_path / "sim" / "chart.svg").read_text()
    assert "KL to the first policy" in (tmp_path / "sim" / "chart_kl.svg").read_text()
    assert "sample succeeded" in result.stdout


def test_demonstrations_then_an_sft_round_then_a_ranking_round(tmp_path):
    """InstructGPT's three steps in the app: simulated labelers write demonstrations through the write
    service, an SFT round fine-tunes on them and samples the first tasks, then a DPO round."""
    result, rows = simulate(tmp_path, "--demonstrations", "12", "--rounds", "1", "--prompts", "6",
                            "--eval-prompts", "3", "--labelers", "2")
    assert [(r["round"], r["step"]) for r in rows] == [(0, "start"), (1, "sft"), (2, "dpo")]
    assert rows[1]["demonstrations"] == 12 and rows[2]["rankings"] >= 2
    assert len({r["policy"] for r in rows}) == 3
    assert "12 demonstrations written; SFT round" in result.stdout
    assert "round 1 (sft, " in result.stdout and "round 2 (dpo, " in result.stdout

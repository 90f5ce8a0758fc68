"""``simulate_rounds --selection uncertainty`` end to end: a real Celery worker and Redis, a 2-member
reward ensemble scores pool_factor x the round's prompts and the round keeps as many tasks as prompts."""
import json
import os
import subprocess
import sys

import pytest

from config.localstack import BASE_DIR

pytestmark = pytest.mark.e2e


def test_a_selected_round_makes_as_many_tasks_as_a_plain_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(RLHF_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings.local", OMP_NUM_THREADS="1")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
    result = subprocess.run(
        [*manage, "simulate_rounds", "--quick", "--rounds", "2", "--algo", "dpo", "--prompts", "6",
         "--eval-prompts", "3", "--labelers", "2", "--selection", "uncertainty", "--set", "reward.ensemble=2",
         "--out", str(tmp_path / "sim")],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = json.loads((tmp_path / "sim" / "figures.json").read_text())
    assert [(r["round"], r.get("selection")) for r in rows] == [(0, None), (1, "uncertainty"), (2, "uncertainty")]
    assert rows[1]["tasks"] == rows[2]["tasks"] == 6  # picked 6 of 18 candidates: the plain round's count
    assert rows[2]["rankings"] >= 6  # round 2 ranked round 1's selected tasks

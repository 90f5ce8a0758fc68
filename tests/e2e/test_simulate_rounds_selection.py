"""``simulate_rounds --selection uncertainty`` end to end: a real Celery worker and Redis, a 2-member
reward ensemble scores pool_factor x the round's prompts and the round keeps as many tasks as plain
sampling of its prompts would have made."""
import pytest

from tests.e2e.test_simulate_rounds import simulate

pytestmark = pytest.mark.e2e


def test_a_selected_round_makes_as_many_tasks_as_a_plain_one(tmp_path):
    _, rows = simulate(tmp_path, "--rounds", "2", "--algo", "dpo", "--prompts", "6", "--eval-prompts", "3",
                       "--labelers", "2", "--selection", "uncertainty", "--set", "reward.ensemble=2", timeout=900)
    assert [(r["round"], r.get("selection")) for r in rows] == [(0, None), (1, "uncertainty"), (2, "uncertainty")]
    # as many tasks as plain sampling of the round's 6 prompts makes (a prompt with one distinct text drops)
    assert 0 < rows[1]["tasks"] <= 6 and 0 < rows[2]["tasks"] <= 6
    assert rows[2]["rankings"] >= 6  # round 2 ranked round 1's selected tasks

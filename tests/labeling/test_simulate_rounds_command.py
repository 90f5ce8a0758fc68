"""``simulate_rounds --set SECTION.KEY=VALUE``: round settings from the command line, bad ones refused
before anything starts (the full command runs in tests/e2e/test_simulate_rounds.py)."""
import pytest
from django.core.management import CommandError, call_command

from labeling.management.commands.simulate_rounds import round_overrides
from labeling.models import Run


def test_overrides_are_read_as_json_and_merged_over_the_base():
    base = {"reward": {"epochs": 2, "max_length": 48}}
    merged = round_overrides(base, ["reward.epochs=1", "dpo.learning_rate=5e-5", "dpo.loss_type=sigmoid"])
    assert merged == {"reward": {"epochs": 1, "max_length": 48}, "dpo": {"learning_rate": 5e-5, "loss_type": "sigmoid"}}
    assert base == {"reward": {"epochs": 2, "max_length": 48}}


@pytest.mark.parametrize("bad", ["epochs=1", "reward.epochs", "rewards.epochs=1", "reward.=1", ".epochs=1"])
def test_a_malformed_setting_is_refused_and_nothing_starts(db, bad):
    with pytest.raises(CommandError, match="expected SECTION.KEY=VALUE"):
        call_command("simulate_rounds", "--quick", "--set", bad)
    assert not Run.objects.exists()


def test_a_negative_demonstration_count_is_refused_and_nothing_starts(db):
    with pytest.raises(CommandError, match="--demonstrations must be 0 or more"):
        call_command("simulate_rounds", "--quick", "--demonstrations", "-1")
    assert not Run.objects.exists()


@pytest.mark.parametrize("bad, words", [("ppo.reward_aggregate=\"max\"", "reward_aggregate must be one of"),
                                        ("ppo.stop_patience=-1", "stop_patience must be a whole number")])
def test_a_bad_guard_setting_is_refused_before_a_worker_starts(db, bad, words):
    with pytest.raises(CommandError, match=words):
        call_command("simulate_rounds", "--quick", "--set", bad)
    assert not Run.objects.exists()

"""``simulate_rounds --selection``: the round setting from the command line, bad selection settings
refused before anything starts (a whole selected round runs in tests/e2e/test_simulate_rounds_selection.py)."""
import pytest
from django.core.management import CommandError, call_command

from labeling.models import Prompt, Run
from labeling.services.simulation import SimulationConfig, _round_prompts


@pytest.mark.parametrize("args, message", [
    (["--selection", "entropy"], "invalid choice"),
    (["--selection", "uncertainty", "--set", "sample.pool_factor=0.5"], "pool factor"),
    (["--set", "sample.random_share=2"], "random share"),
    (["--set", "sample.selection=entropy"], "Unknown task selection"),
])
def test_bad_selection_settings_are_refused_and_nothing_starts(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("simulate_rounds", "--quick", *args)
    assert not Run.objects.exists()


def test_each_round_stores_its_spare_candidates_whatever_the_selection(db):
    for selection in ("random", "uncertainty"):
        config = SimulationConfig(prompts_per_round=4, round_config={"sample": {"selection": selection}})
        chosen = _round_prompts(config, 1, frozenset())
        assert len(chosen) == 4 and Prompt.objects.count() == 12  # pool_factor 3: 8 spare prompts, stored once
    config = SimulationConfig(prompts_per_round=4, round_config={"sample": {"pool_factor": 1.5}})
    assert _round_prompts(config, 2, frozenset()) and Prompt.objects.count() == 12 + 4 + 2

"""Active task selection as a round setting: defaults, refusals, and a whole tiny round whose sample
step samples pool_factor x the prompts it was given and keeps as many tasks as prompts."""
import pytest

from labeling.errors import RejectedInput
from labeling.models import Prompt, RankingTask, Run, TrainingRound
from labeling.services.rounds import round_defaults_check, round_start
from tests.labeling.api.conftest import assert_error
from tests.labeling.test_rounds import policy, ranked, run_round_to_the_end, tiny_config  # noqa: F401 (fixtures)
from tests.labeling.test_rounds_sft import demonstrations, sft_config  # noqa: F401 (a fixture)


@pytest.fixture(autouse=True)
def _runs_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.mark.parametrize("sample, message", [
    ({"selection": "entropy"}, "Unknown task selection"),
    ({"selection": "uncertainty", "pool_factor": 0.5}, "pool factor"),
    ({"pool_factor": "3"}, "pool factor"),
    ({"random_share": 1.5}, "random share"),
    ({"random_share": -0.1}, "random share"),
    ({"diversity_penalty": -1}, "diversity penalty"),
])
def test_bad_selection_settings_are_refused_and_change_nothing(policy, ranked, sample, message):  # noqa: F811
    with pytest.raises(RejectedInput, match=message):
        round_start(algo="dpo", min_new_rankings=1, config={"sample": sample})
    assert not TrainingRound.objects.exists() and not Run.objects.exists()
    with pytest.raises(RejectedInput, match=message) as info:
        round_defaults_check({"sample": sample})
    assert info.value.field == "round_defaults"


@pytest.mark.parametrize("algo, config, recorded, members", [
    ("dpo", {}, "random", 1),  # random by default (benchmarks/RESULTS.md, "Active task selection")
    ("ppo", {}, "random", 4),  # a PPO round's reward model is an ensemble (the guard), selection still random
    ("dpo", {"reward": {"ensemble": 4}, "sample": {"selection": "variance"}}, "variance", 4),
    ("ppo", {"reward": {"ensemble": 1}, "sample": {"selection": "uncertainty"}}, "uncertainty", 1),
])
def test_a_round_records_its_selection_and_ensemble(policy, ranked, algo, config, recorded, members):  # noqa: F811
    training_round = round_start(algo=algo, min_new_rankings=1, config=config)
    sample = training_round.config["sample"]
    assert sample["selection"] == recorded and training_round.config["reward"]["ensemble"] == members
    assert (sample["pool_factor"], sample["random_share"], sample["diversity_penalty"]) == (3, 0.2, 0.5)


def test_a_round_with_an_ensemble_samples_a_pool_and_keeps_one_task_per_prompt(policy, ranked,  # noqa: F811
                                                                               tiny_bert_path):
    wanted = [Prompt.objects.create(text=f"What is {i} minus 1?").pk for i in range(2)]
    spare = [Prompt.objects.create(text=f"Name {i} colours.").pk for i in range(6)]
    config = tiny_config(tiny_bert_path)
    config["reward"]["ensemble"] = 2
    config["sample"]["random_share"], config["sample"]["selection"] = 0.5, "uncertainty"
    training_round = round_start(algo="dpo", config=config, min_new_rankings=10, prompt_ids=wanted)
    assert training_round.config["sample"]["selection"] == "uncertainty"
    assert run_round_to_the_end(training_round) == ["train_reward", "dpo", "sample"]
    sample = Run.objects.get(training_round=training_round, kind="sample")
    assert sample.inputs["prompt_ids"][:2] == wanted and set(sample.inputs["prompt_ids"][2:]) == set(spare[:4])
    assert sample.inputs["tasks_wanted"] == 2 and sample.inputs["reward_version"] == training_round.reward_id
    tasks = RankingTask.objects.filter(source_run=sample)
    assert tasks.count() == sample.outputs["selection"]["picked"] == 2  # as many tasks as plain sampling makes
    assert sorted(t.selection["rank"] for t in tasks) == [1, 2]
    assert sorted((t.selection["random_pick"], t.priority) for t in tasks) == [(False, 2.0), (True, 1.0)]
    assert sample.outputs["selection"]["members"] == 2


def test_an_sft_round_samples_plainly_whatever_its_selection(policy, demonstrations, tiny_bert_path):  # noqa: F811
    """An sft round has no reward version to score candidates with: its prompts become its tasks."""
    prompt_ids = [Prompt.objects.create(text=f"What is {i} minus 1?").pk for i in range(3)]
    Prompt.objects.create(text="A spare prompt.")
    config = sft_config(tiny_bert_path)
    config["sample"]["selection"] = "uncertainty"
    training_round = round_start(algo="sft", config=config, prompt_ids=prompt_ids)
    assert run_round_to_the_end(training_round) == ["sft", "sample"]
    sample = Run.objects.get(training_round=training_round, kind="sample")
    assert sample.inputs["prompt_ids"] == prompt_ids and "tasks_wanted" not in sample.inputs
    assert "selection" not in sample.outputs and "every prompt sampled becomes a task" in sample.log_tail
    tasks = RankingTask.objects.filter(source_run=sample)
    assert tasks.count() == sample.outputs["tasks_created"] >= 1
    assert set(tasks.values_list("selection", "priority")) == {(None, 0.0)}


def test_a_manager_picks_the_selection_on_the_form_and_in_the_api(client, admin, policy, ranked, settings):  # noqa: F811
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from django.urls import reverse

    settings.ROUND_MIN_NEW_RANKINGS = 1
    client.force_login(admin)
    form = {"algo": "dpo", "epochs": 1, "ppo_iterations": 1, "sample_prompts": 5, "k": 3}
    refused = client.post(reverse("rounds"), {**form, "selection": "entropy"})
    assert refused.status_code == 400 and b"Unknown task selection" in refused.content
    refused = client.post(reverse("rounds"), {**form, "selection": "variance", "pool_factor": 0.5})
    assert refused.status_code == 400 and not TrainingRound.objects.exists()
    assert client.post(reverse("rounds"), {**form, "selection": "variance", "pool_factor": 2}).status_code == 302
    training_round = TrainingRound.objects.get()
    assert (training_round.config["sample"]["selection"], training_round.config["sample"]["pool_factor"]) == ("variance", 2)
    training_round.delete()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=admin)[0].key}")
    response = api.post("/api/v1/rounds/", {"algo": "dpo", "selection": "entropy"}, format="json")
    assert_error(response, 400, "selection", "Unknown task selection")
    assert not TrainingRound.objects.exists()
    response = api.post("/api/v1/rounds/", {"algo": "dpo", "selection": "uncertainty"}, format="json")
    assert response.status_code == 201 and TrainingRound.objects.get().config["sample"]["selection"] == "uncertainty"


def test_the_sample_step_gets_a_pool_only_when_selecting_with_a_reward_model(policy, ranked, settings):  # noqa: F811
    from labeling.models import ModelVersion
    from labeling.services.task_selection import sample_step_inputs

    settings.ROUND_SAMPLE_PROMPTS = 3
    training_round = round_start(algo="dpo", min_new_rankings=1)
    wanted = training_round.prompt_ids
    assert training_round.config["sample"]["selection"] == "random" and len(wanted) == 3
    assert sample_step_inputs(training_round) == {}  # no reward model yet
    training_round.reward = ModelVersion.objects.create(kind="reward", name="r-1", algorithm="reward", path="/r")
    assert sample_step_inputs(training_round) == {}  # random: plain sampling
    training_round.config["sample"].update(selection="variance", pool_factor=2)
    fresh = [Prompt.objects.create(text=f"Fresh {i}?").pk for i in range(5)]
    inputs = sample_step_inputs(training_round)
    assert inputs == {"prompt_ids": wanted + fresh[:3], "tasks_wanted": 3, "reward_version": training_round.reward_id}

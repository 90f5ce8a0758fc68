"""SFT rounds: fine-tune the base policy on the project's demonstrations, then sample the first ranking
tasks with it; the next DPO round continues from it with it as the reference."""
import json

import pytest

from labeling.errors import RejectedInput
from labeling.jobs.reporter import run_directory
from labeling.models import (
    Demonstration, DemonstrationTask, ModelVersion, Prompt, Run, TrainingRound, default_project_id,
)
from labeling.selectors.runs import policy_lineage_root
from labeling.services.model_versions import model_version_register
from labeling.services.rounds import round_start
from tests.factories import UserFactory
from tests.labeling.test_jobs import _rank_everything
from tests.labeling.test_rounds import run_round_to_the_end, tiny_config


@pytest.fixture(autouse=True)
def _runs_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def policy(db, tiny_policy_dir):
    return model_version_register(kind="policy", algorithm="external", path=tiny_policy_dir)


def sft_config(tiny_bert_path) -> dict:
    return {**tiny_config(tiny_bert_path), "sft": {"epochs": 1, "max_length": 32, "batch_size": 2, "log_every": 1}}


def write(prompt_text: str, text: str, *, labeler, review_status: str = "", corrected_text: str = "") -> Demonstration:
    task = DemonstrationTask.objects.create(prompt=Prompt.objects.create(text=prompt_text))
    return Demonstration.objects.create(task=task, labeler=labeler, text=text, submission_id=f"s-{task.pk}",
                                        review_status=review_status, corrected_text=corrected_text)


@pytest.fixture
def demonstrations(db):
    writer = UserFactory()
    kept = [write(f"What is {i} plus 1?", f"{i} plus 1 is {i + 1}.", labeler=writer) for i in range(20)]
    write("What is 9 plus 1?", "I like trains.", labeler=writer, review_status="rejected")
    write("What is 7 plus 2?", "7 plus 2 is 10.", labeler=writer, review_status="corrected",
          corrected_text="7 plus 2 is 9.")
    return kept


def test_an_sft_round_fine_tunes_the_base_on_the_kept_demonstrations_then_samples(policy, demonstrations,
                                                                                 tiny_bert_path):
    prompt_ids = [Prompt.objects.create(text=f"What is {i} minus 1?").pk for i in range(3)]
    training_round = round_start(algo="sft", config=sft_config(tiny_bert_path), prompt_ids=prompt_ids)
    assert run_round_to_the_end(training_round) == ["sft", "sample"]
    assert training_round.status == TrainingRound.Status.SUCCEEDED
    sft = training_round.policy_out
    assert (sft.kind, sft.algorithm, sft.parent) == ("policy", "sft", policy)
    assert sft.metrics["sft/train_examples"] + sft.metrics["sft/eval_examples"] == 21  # 20 kept + 1 corrected
    run = Run.objects.get(training_round=training_round, kind="sft")
    lines = [json.loads(line) for line in (run_directory(run) / "demonstrations.jsonl").read_text().splitlines()]
    completions = {line["completion"] for line in lines}
    assert "I like trains." not in completions  # rejected by a reviewer
    assert "7 plus 2 is 9." in completions and "7 plus 2 is 10." not in completions  # the correction trains
    assert any("sft/loss" in point for point in run.metrics)  # the loss chart's points
    assert [p["step"] for p in run.metrics if "sft/eval_loss" in p] == [0, sft.metrics["sft/steps"]]
    sampled = Run.objects.get(training_round=training_round, kind="sample")
    assert sampled.inputs["policy_version"] == sft.pk and sampled.outputs["tasks_created"] >= 1


def test_the_next_dpo_round_starts_from_the_sft_policy_and_keeps_it_as_reference(policy, demonstrations,
                                                                                tiny_bert_path):
    config = sft_config(tiny_bert_path)
    sft_round = round_start(algo="sft", config=config, prompt_ids=[Prompt.objects.create(text="What is 3 minus 1?").pk])
    run_round_to_the_end(sft_round)
    _rank_everything([UserFactory(), UserFactory()])
    dpo_round = round_start(algo="dpo", config=config, min_new_rankings=1)
    assert dpo_round.policy_in == sft_round.policy_out
    run_round_to_the_end(dpo_round)
    assert dpo_round.status == TrainingRound.Status.SUCCEEDED, dpo_round.error
    assert policy_lineage_root(dpo_round.policy_out) == sft_round.policy_out
    assert "reference: " + sft_round.policy_out.name in Run.objects.get(training_round=dpo_round, kind="dpo").log_tail


def test_a_second_sft_round_starts_from_the_base_again(policy, demonstrations, tiny_bert_path):
    config = sft_config(tiny_bert_path)
    prompt_ids = [Prompt.objects.create(text="What is 3 minus 1?").pk]
    first = round_start(algo="sft", config=config, prompt_ids=prompt_ids)
    run_round_to_the_end(first)
    second = round_start(algo="sft", config=config, prompt_ids=prompt_ids)
    assert second.policy_in == policy != first.policy_out


def test_an_sft_round_refuses_without_demonstrations(policy):
    with pytest.raises(RejectedInput, match="no demonstrations") as info:
        round_start(algo="sft", prompt_ids=[Prompt.objects.create(text="Hi?").pk])
    assert info.value.status == 409
    assert not TrainingRound.objects.exists() and not Run.objects.exists()


def test_an_sft_round_refuses_when_every_demonstration_was_rejected(policy):
    write("What is 1 plus 1?", "No idea.", labeler=UserFactory(), review_status="rejected")
    with pytest.raises(RejectedInput, match="no demonstrations"):
        round_start(algo="sft", prompt_ids=[Prompt.objects.create(text="Hi?").pk])
    assert not TrainingRound.objects.exists()


def test_demonstrations_of_another_project_do_not_count(policy):
    from labeling.models import Project

    other = Project.objects.create(slug="other", name="Other")
    task = DemonstrationTask.objects.create(prompt=Prompt.objects.create(text="Hi?", project=other))
    Demonstration.objects.create(task=task, labeler=UserFactory(), text="Hello.", submission_id="x")
    assert default_project_id() != other.pk
    with pytest.raises(RejectedInput, match="no demonstrations"):
        round_start(algo="sft", prompt_ids=[Prompt.objects.create(text="Hi?").pk])
    assert ModelVersion.objects.count() == 1

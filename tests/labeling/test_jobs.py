"""Reward-model training and sampling runs, called directly on tiny real models."""
import pytest
from transformers import AutoModelForSequenceClassification

from labeling.models import Completion, ModelVersion, RankingTask, Run
from labeling.services.assignment import task_assign_next
from labeling.services.model_versions import model_version_register
from labeling.services.ranking import ranking_submit
from labeling.jobs.execute import run_execute
from labeling.services.runs import run_enqueue
from tests.factories import UserFactory, make_task


@pytest.fixture(autouse=True)
def _runs_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def _rank_everything(labelers):
    """Each labeler ranks every task: longer completion texts first (a rule a model can learn)."""
    for labeler in labelers:
        while (assignment := task_assign_next(labeler=labeler)) is not None:
            texts = dict(Completion.objects.filter(task=assignment.task).values_list("pk", "text"))
            order = sorted(texts, key=lambda cid: -len(texts[cid]))
            ranking_submit(labeler=labeler, assignment_id=assignment.pk, tiers=[[c] for c in order],
                           submission_id=f"{labeler.pk}-{assignment.pk}")


def test_a_reward_run_trains_on_the_stored_rankings_and_registers_a_version(db, tiny_bert_path):
    for i in range(12):
        make_task(k=3, required_rankings=2, texts=[f"a{i}", f"a much longer answer {i}", f"medium {i}"])
    labelers = [UserFactory(), UserFactory()]
    _rank_everything(labelers)
    run = run_enqueue(kind=Run.Kind.TRAIN_REWARD, config={"base_model": tiny_bert_path, "epochs": 2,
                                                          "max_length": 32, "completions_per_batch": 12})
    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
    run.refresh_from_db()
    version = ModelVersion.objects.get(kind="reward")
    assert run.outputs == {"model_version": version.pk, "rankings": 24}
    assert "reward/accuracy" in version.metrics and run.metrics
    # The dashboard's reward-model column reads the per-labeler held-out accuracy, keyed by username.
    from labeling.selectors.stats import reward_model_agreement

    by_labeler = reward_model_agreement(run.project)
    assert set(by_labeler) == {u.username for u in labelers}
    assert all(0 <= rate <= 1 for rate in by_labeler.values())
    AutoModelForSequenceClassification.from_pretrained(version.path)


def test_a_reward_run_with_no_rankings_fails_with_a_message(db, tiny_bert_path):
    run = run_enqueue(kind=Run.Kind.TRAIN_REWARD, config={"base_model": tiny_bert_path})
    assert run_execute(run_id=run.pk) == Run.Status.FAILED
    run.refresh_from_db()
    assert run.error and not ModelVersion.objects.exists()


def test_a_sample_run_turns_prompts_into_ranking_tasks(db, tiny_policy_dir):
    from labeling.models import Prompt

    policy = model_version_register(kind="policy", algorithm="external", path=tiny_policy_dir)
    prompts = [Prompt.objects.create(text=t) for t in ("List 3 fruits.", "What is 2 plus 3?")]
    run = run_enqueue(kind=Run.Kind.SAMPLE, config={"k": 3, "max_new_tokens": 8, "seed": 1, "required_rankings": 2},
                      inputs={"policy_version": policy.pk, "prompt_ids": [p.pk for p in prompts]})
    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
    run.refresh_from_db()
    tasks = RankingTask.objects.filter(pk__in=run.outputs["task_ids"])
    assert run.outputs["tasks_created"] == tasks.count() >= 1
    for task in tasks:
        texts = list(task.completions.values_list("text", flat=True))
        assert len(texts) == len(set(texts)) >= 2 and task.required_rankings == 2
        assert set(task.completions.values_list("model_version", flat=True)) == {policy.pk}
        assert (task.source_run_id, task.task_set) == (run.pk, f"run-{run.pk}")  # a sample outside any round

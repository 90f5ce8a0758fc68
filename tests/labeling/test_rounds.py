"""Training rounds: refusals, and whole tiny rounds (reward -> DPO/PPO -> sample) run step by step."""
import pytest

from labeling.errors import RejectedInput
from labeling.models import ModelVersion, RankingTask, Run, TrainingRound
from labeling.services.model_versions import model_version_register
from labeling.services.rounds import round_start
from labeling.jobs.execute import run_execute
from tests.factories import UserFactory, make_task
from tests.labeling.test_jobs import _rank_everything


@pytest.fixture(autouse=True)
def _runs_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def policy(db, tiny_policy_dir):
    return model_version_register(kind="policy", algorithm="external", path=tiny_policy_dir)


@pytest.fixture
def ranked(db):
    for i in range(8):
        make_task(k=3, required_rankings=2, prompt_text=f"What is {i} plus 1?",
                  texts=[f"{i} plus 1 is {i + 1}.", f"{i + 1}", "I like trains."])
    _rank_everything([UserFactory(), UserFactory()])


def tiny_config(tiny_bert_path):
    return {
        "reward": {"base_model": tiny_bert_path, "epochs": 1, "max_length": 32, "completions_per_batch": 12},
        "dpo": {"epochs": 1, "max_length": 48, "kl_prompts": 2, "kl_max_new_tokens": 4, "completions_per_batch": 12},
        "ppo": {"iterations": 1, "rollout_batch_size": 4, "samples_per_prompt": 2, "generation_batch_size": 4,
                "minibatch_size": 2, "ppo_epochs": 1, "max_new_tokens": 6, "reward_max_length": 32},
        "sample": {"k": 3, "max_new_tokens": 6, "seed": 3},
    }


def run_round_to_the_end(training_round):
    kinds = []
    while (run := Run.objects.filter(training_round=training_round, status=Run.Status.QUEUED).first()) is not None:
        assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
        kinds.append(run.kind)
    training_round.refresh_from_db()
    return kinds


@pytest.mark.parametrize("algo", ["dpo", "ppo"])
def test_a_round_trains_a_reward_model_improves_the_policy_and_samples_new_tasks(algo, policy, ranked, tiny_bert_path):
    training_round = round_start(algo=algo, config=tiny_config(tiny_bert_path), min_new_rankings=10)
    assert run_round_to_the_end(training_round) == ["train_reward", algo, "sample"]
    assert training_round.status == TrainingRound.Status.SUCCEEDED and not training_round.active
    new_policy = training_round.policy_out
    assert (new_policy.parent, new_policy.algorithm) == (policy, algo)
    assert training_round.reward.kind == ModelVersion.Kind.REWARD
    sampled = Run.objects.get(training_round=training_round, kind="sample")
    assert sampled.outputs["tasks_created"] >= 1
    new_tasks = RankingTask.objects.filter(pk__in=sampled.outputs["task_ids"])
    assert set(new_tasks.values_list("source_run", "task_set")) == {(sampled.pk, f"round-{training_round.pk}")}
    assert set(RankingTask.objects.filter(source_run__training_round=training_round)) == set(new_tasks)
    assert ModelVersion.objects.filter(kind="policy").count() == 2


def test_a_round_refuses_without_a_policy(db, ranked):
    with pytest.raises(RejectedInput, match="no policy"):
        round_start(algo="dpo", min_new_rankings=1)
    assert not TrainingRound.objects.exists() and not Run.objects.exists()


def test_a_round_refuses_with_too_few_rankings(policy):
    with pytest.raises(RejectedInput, match="Only 0 new rankings") as info:
        round_start(algo="dpo")
    assert info.value.status == 409 and not TrainingRound.objects.exists()


def test_a_round_refuses_while_another_runs(policy, ranked):
    first = round_start(algo="dpo", min_new_rankings=1)
    with pytest.raises(RejectedInput, match=f"Round {first.pk} is still running"):
        round_start(algo="ppo", min_new_rankings=1)
    assert TrainingRound.objects.count() == 1 and Run.objects.count() == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"algo": "grpo"}, "Choose the algorithm"),
    ({"algo": "dpo", "config": {"optimizer": {}}}, "Unknown round setting"),
    ({"algo": "dpo", "prompt_ids": [10**9]}, "do not exist"),
])
def test_bad_round_settings_are_refused(policy, ranked, kwargs, message):
    with pytest.raises(RejectedInput, match=message):
        round_start(min_new_rankings=1, **kwargs)
    assert not TrainingRound.objects.exists()


def test_a_failed_step_ends_the_round_and_a_retry_revives_it(policy, ranked, tiny_bert_path):
    from labeling.services.runs import run_retry

    config = tiny_config(tiny_bert_path)
    config["reward"]["base_model"] = "/nonexistent/checkpoint"
    training_round = round_start(algo="dpo", config=config, min_new_rankings=1)
    run = Run.objects.get(training_round=training_round)
    assert run_execute(run_id=run.pk) == Run.Status.FAILED
    training_round.refresh_from_db()
    assert training_round.status == TrainingRound.Status.FAILED and not training_round.active
    run_retry(run_id=run.pk)
    training_round.refresh_from_db()
    assert training_round.active and training_round.status == TrainingRound.Status.RUNNING


def test_a_round_starts_by_itself_after_enough_new_rankings(policy, ranked, settings):
    from labeling.services.rounds import round_autostart

    settings.ROUND_AUTO_START_EVERY = 0
    assert round_autostart() == []
    settings.ROUND_AUTO_START_EVERY = 100
    assert round_autostart() == []  # 16 rankings < 100
    settings.ROUND_AUTO_START_EVERY = 10
    [started] = round_autostart()
    assert started.algo == settings.ROUND_AUTO_ALGO
    assert round_autostart() == []  # one is running


def test_submissions_queue_the_autostart_check_after_commit(labeler, task_factory, settings,
                                                           django_capture_on_commit_callbacks):
    from labeling.services.assignment import task_assign_next
    from labeling.services.ranking import ranking_submit

    settings.ROUND_AUTO_START_EVERY = 5
    task_factory(k=2)
    assignment = task_assign_next(labeler=labeler)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ranking_submit(labeler=labeler, assignment_id=assignment.pk, submission_id="s",
                       tiers=[[c] for c in assignment.display_order])
    assert len(callbacks) == 1

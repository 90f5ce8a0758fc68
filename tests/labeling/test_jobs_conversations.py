"""Jobs hand conversation prompts to ``modeling`` as tuples of ``Message``, and match results back by value."""
import json

import pytest

from labeling.jobs.policy import job_ppo
from labeling.jobs.reward import run_rankings_write
from labeling.jobs.sample import job_sample
from labeling.models import Completion, ModelVersion, Prompt, RankingTask, Run
from labeling.services.prompts import prompt_fields
from labeling.jobs.execute import run_execute
from labeling.jobs.reporter import RunReporter
from labeling.services.runs import run_enqueue
from labeling.services.simulation import simulated_labelers_rank_open_tasks
from modeling.formats.conversation import Message
from tests.labeling.export_data import rank

CONVERSATION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "List 3 fruits."}]
PARSED = (Message("system", "Be brief."), Message("user", "List 3 fruits."))
SAME_TEXT = "System: Be brief.\n\nUser: List 3 fruits."  # a string prompt whose text is the conversation's


@pytest.fixture(autouse=True)
def _runs_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def policy(db, tmp_path):
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "config.json").write_text("{}")
    return ModelVersion.objects.create(kind="policy", name="policy-v0", algorithm="external", path=str(tmp_path / "ckpt"))


def prompts():
    return [Prompt.objects.create(**prompt_fields(value)) for value in (CONVERSATION, SAME_TEXT, SAME_TEXT)]


def test_sampling_gets_the_conversation_and_each_group_finds_its_row_by_value(policy, monkeypatch):
    import modeling.models.sampling

    given = []

    def sample(path, values, backend="generate", progress=None, **options):  # answers in another order than asked
        given.extend(values)
        return [modeling.models.sampling.SampleGroup(prompt=value, completions=[f"{n} a", f"{n} b"])
                for n, value in reversed(list(enumerate(values)))]

    monkeypatch.setattr(modeling.models.sampling, "sample_checkpoint", sample)
    rows = prompts()
    run = run_enqueue(kind=Run.Kind.SAMPLE, config={"k": 2}, inputs={"policy_version": policy.pk,
                                                                     "prompt_ids": [p.pk for p in rows]})
    outputs = job_sample(run, RunReporter(run))()
    assert given == [PARSED, SAME_TEXT, SAME_TEXT]
    assert outputs["tasks_created"] == 3
    made = {task.prompt_id: sorted(task.completions.values_list("text", flat=True))
            for task in RankingTask.objects.filter(pk__in=outputs["task_ids"])}
    assert made[rows[0].pk] == ["0 a", "0 b"]  # the conversation's, though its text is the strings' text
    assert sorted([made[rows[1].pk], made[rows[2].pk]]) == [["1 a", "1 b"], ["2 a", "2 b"]]  # one group each


def test_a_group_for_a_prompt_never_asked_for_fails_the_job(policy, monkeypatch):
    import modeling.models.sampling

    monkeypatch.setattr(modeling.models.sampling, "sample_checkpoint", lambda path, values, **kwargs: [
        modeling.models.sampling.SampleGroup(prompt="Something else", completions=["a", "b"])])
    run = run_enqueue(kind=Run.Kind.SAMPLE, inputs={"policy_version": policy.pk,
                                                    "prompt_ids": [prompts()[0].pk]})
    with pytest.raises(RuntimeError, match="not given"):
        job_sample(run, RunReporter(run))()
    assert not RankingTask.objects.exists()


def test_ppo_rolls_out_on_the_prompt_values(policy, monkeypatch):
    import modeling.training.ppo

    given = []

    def train_ppo(config, values, progress):
        given.extend(values)
        return policy.path, {}

    monkeypatch.setattr(modeling.training.ppo, "train_ppo", train_ppo)
    reward = ModelVersion.objects.create(kind="reward", name="reward-v0", algorithm="reward", path=policy.path)
    rows = prompts()
    run = run_enqueue(kind=Run.Kind.PPO, inputs={"policy_version": policy.pk, "reward_version": reward.pk,
                                                 "prompt_ids": [p.pk for p in rows]})
    job_ppo(run, RunReporter(run))
    assert given == [PARSED, SAME_TEXT, SAME_TEXT]


def test_training_rankings_carry_the_conversation(task_factory, labeler, tmp_path):
    task = task_factory(k=3, texts=["a", "b", "c"])
    Prompt.objects.filter(pk=task.prompt_id).update(**prompt_fields(CONVERSATION))
    rank(task, labeler, [[2], [0, 1]])
    run = run_enqueue(kind=Run.Kind.TRAIN_REWARD)
    (ranking,), path = run_rankings_write(run)
    assert (ranking.prompt, ranking.completions, ranking.labeler) == (PARSED, ("a", "b", "c"), "alice")
    assert json.loads(open(path).read())["prompt"] == CONVERSATION


def test_simulated_labelers_rank_a_conversation_task(db, task_factory):
    task = task_factory(k=3, texts=["apple, pear, plum", "I am not sure.", "apple"], required_rankings=1)
    Prompt.objects.filter(pk=task.prompt_id).update(**prompt_fields(CONVERSATION))
    assert simulated_labelers_rank_open_tasks(names=["sim-a"]) == 1
    (ranking,) = task.rankings.all()
    assert sorted(c for tier in ranking.tiers for c in tier) == sorted(task.completions.values_list("pk", flat=True))


def test_a_tiny_policy_samples_a_conversation_into_a_task(db, tiny_policy_dir):
    from labeling.services.model_versions import model_version_register

    version = model_version_register(kind="policy", algorithm="external", path=tiny_policy_dir)
    prompt = Prompt.objects.create(**prompt_fields(CONVERSATION))
    run = run_enqueue(kind=Run.Kind.SAMPLE, config={"k": 3, "max_new_tokens": 8, "seed": 1},
                      inputs={"policy_version": version.pk, "prompt_ids": [prompt.pk]})
    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
    run.refresh_from_db()
    for task in RankingTask.objects.filter(pk__in=run.outputs["task_ids"]):
        assert task.prompt_id == prompt.pk and task.completions.count() >= 2
    assert Completion.objects.filter(source="model").exists() == bool(run.outputs["task_ids"])

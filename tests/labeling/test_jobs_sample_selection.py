"""The sample step with active task selection, called directly: a tiny policy samples a pool of
candidates, a tiny reward model (two members, or one) scores them, and only the picks become tasks."""
import pytest

from labeling.models import Prompt, RankingTask, Run
from labeling.jobs.execute import run_execute
from labeling.services.assignment import task_assign_next
from labeling.services.model_versions import model_version_register
from labeling.services.runs import run_enqueue
from tests.factories import UserFactory
from tests.modeling.models.test_reward_ensemble import _two_member_ensemble

PROMPTS = ["List 3 fruits.", "List 3 fruit.", "What is 2 plus 3?", "Name two rivers.", "Write a haiku.",
           "Sum 4 and 5.", "Translate cat to French.", "Name a colour.", "What is 7 minus 2?"]


@pytest.fixture(autouse=True)
def _runs_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def _select_run(policy_dir, reward_path, *, wanted=3, texts=PROMPTS, **config):
    policy = model_version_register(kind="policy", algorithm="external", path=policy_dir)
    reward = model_version_register(kind="reward", algorithm="external", path=str(reward_path))
    prompts = [Prompt.objects.create(text=t) for t in texts]
    run = run_enqueue(kind=Run.Kind.SAMPLE,
                      config={"k": 3, "max_new_tokens": 8, "seed": 1, "selection": "uncertainty", **config},
                      inputs={"policy_version": policy.pk, "prompt_ids": [p.pk for p in prompts],
                              "tasks_wanted": wanted, "reward_version": reward.pk})
    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
    run.refresh_from_db()
    return run


def test_picks_n_of_the_pool_records_each_selection_and_leases_rank_one_first(db, tmp_path, tiny_policy_dir,
                                                                              tiny_bert_path):
    run = _select_run(tiny_policy_dir, _two_member_ensemble(tmp_path, tiny_bert_path))
    pool = run.outputs["selection"]["pool"]
    assert pool >= 6  # candidates: the prompts whose samples had two distinct texts
    assert run.outputs["selection"] == {"requested": "uncertainty", "method": "uncertainty", "pool": pool,
                                        "picked": 3, "random_picks": 1, "members": 2}  # round(0.2 x 3) = 1
    tasks = list(RankingTask.objects.filter(source_run=run))
    assert run.outputs["tasks_created"] == len(tasks) == 3  # unpicked candidates make no tasks
    by_rank = sorted(tasks, key=lambda t: t.selection["rank"])
    assert [t.selection["rank"] for t in by_rank] == [1, 2, 3]
    assert [t.priority for t in by_rank] == [3.0, 2.0, 1.0]
    assert [t.selection["random_pick"] for t in by_rank] == [False, False, True]
    assert [t.selection["method"] for t in by_rank] == ["uncertainty", "uncertainty", "random"]
    assert all(set(t.selection) == {"method", "score", "rank", "random_pick", "pool"} and t.selection["pool"] == pool
               and t.selection["score"] >= 0 for t in tasks)
    assert by_rank[0].selection["score"] > 0  # two differently initialised members disagree
    labeler = UserFactory()
    assert task_assign_next(labeler=labeler).task == by_rank[0]


def test_a_one_member_reward_model_picks_at_random_and_says_so(db, tmp_path, tiny_policy_dir, tiny_bert_path):
    single = _two_member_ensemble(tmp_path, tiny_bert_path) / "members" / "0"  # a plain reward checkpoint
    run = _select_run(tiny_policy_dir, single, wanted=4, selection="variance")
    assert run.outputs["selection"]["method"] == "random" and run.outputs["selection"]["members"] == 1
    assert "has one member" in run.log_tail
    tasks = RankingTask.objects.filter(source_run=run)
    assert tasks.count() == 4
    assert all(t.selection["random_pick"] and t.selection["method"] == "random" for t in tasks)
    assert sorted(tasks.values_list("priority", flat=True)) == [1.0, 2.0, 3.0, 4.0]


def test_random_selection_from_a_pool_records_each_picks_uncertainty(db, tmp_path, tiny_policy_dir, tiny_bert_path):
    run = _select_run(tiny_policy_dir, _two_member_ensemble(tmp_path, tiny_bert_path), wanted=3, selection="random")
    tasks = RankingTask.objects.filter(source_run=run)
    assert run.outputs["selection"]["method"] == "random" and run.outputs["selection"]["random_picks"] == 3
    assert tasks.count() == 3 and all(t.selection["random_pick"] and t.selection["score"] >= 0 for t in tasks)


def test_spare_prompts_with_an_own_prompts_text_do_not_raise_the_task_count(db, tmp_path, tiny_policy_dir,
                                                                           tiny_bert_path):
    """n counts the round's own rows (the first tasks_wanted prompt ids), not their texts."""
    texts = PROMPTS[:3] + PROMPTS[:3] + PROMPTS[3:6]  # spares 4-6 repeat the own prompts' texts
    run = _select_run(tiny_policy_dir, _two_member_ensemble(tmp_path, tiny_bert_path), texts=texts)
    assert run.outputs["selection"]["pool"] > 3 and 1 <= run.outputs["tasks_created"] <= 3

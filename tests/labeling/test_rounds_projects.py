"""A round in one project reads only its rankings and prompts and moves only its own policy."""
import json

from labeling.models import Membership, ModelVersion, Project, Prompt, RankingTask, Run
from labeling.jobs.reporter import run_directory
from labeling.services.rounds import round_start, starting_policy
from tests.factories import UserFactory, make_task
from tests.labeling.test_jobs import _rank_everything
from tests.labeling.test_rounds import _runs_in_tmp, policy, run_round_to_the_end, tiny_config  # noqa: F401


def _ranked_tasks_in(project: Project, word: str, n: int = 6) -> None:
    for i in range(n):
        task = make_task(k=3, required_rankings=2, prompt_text=f"{word} {i}?",
                         texts=[f"{word} answer {i}.", f"{i}", "I like trains."])
        Prompt.objects.filter(pk=task.prompt_id).update(project=project)


def test_rounds_of_two_projects_run_side_by_side_and_stay_apart(policy, tiny_bert_path):  # noqa: F811
    other = Project.objects.create(slug="other", name="Other")
    default = policy.project
    _ranked_tasks_in(default, "Default")
    _ranked_tasks_in(other, "Other")
    labelers = [UserFactory(), UserFactory()]
    for user in labelers:
        Membership.objects.create(project=other, user=user)
    _rank_everything(labelers)
    assert starting_policy(other) == policy  # a new project starts from default's first policy

    in_default = round_start(algo="dpo", config=tiny_config(tiny_bert_path), min_new_rankings=10)
    in_other = round_start(algo="dpo", config=tiny_config(tiny_bert_path), min_new_rankings=10, project=other)
    assert in_default.active and in_other.active  # one active round per project
    assert run_round_to_the_end(in_other) == ["train_reward", "dpo", "sample"]

    reward_run = Run.objects.get(training_round=in_other, kind="train_reward")
    trained_on = [json.loads(line)["prompt"] for line in open(run_directory(reward_run) / "rankings.jsonl")]
    assert len(trained_on) == 12 and all(p.startswith("Other") for p in trained_on)
    assert {r.project for r in in_other.runs.all()} == {other}
    assert (in_other.reward.project, in_other.policy_out.project) == (other, other)
    sampled = RankingTask.objects.filter(source_run__training_round=in_other)
    assert sampled and set(sampled.values_list("prompt__project__slug", flat=True)) == {"other"}
    assert starting_policy(other) == in_other.policy_out and starting_policy(default) == policy
    assert not ModelVersion.objects.filter(project=default).exclude(pk=policy.pk).exists()
    in_default.refresh_from_db()
    assert in_default.active  # untouched by the other project's round

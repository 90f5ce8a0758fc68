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


def test_a_project_round_uses_its_base_policy_reward_base_and_round_defaults(policy, tiny_policy_dir):  # noqa: F811
    base = ModelVersion.objects.create(kind=ModelVersion.Kind.POLICY, name="their base", algorithm="external",
                                       path=tiny_policy_dir)
    other = Project.objects.create(slug="other", name="Other", base_policy=base, reward_base="/their/encoder",
                                   round_defaults={"dpo": {"beta": 0.3}, "sample": {"k": 2}})
    _ranked_tasks_in(other, "Other", n=2)
    _ranked_tasks_in(policy.project, "Default", n=2)
    assert starting_policy(other) == base  # not default's first policy
    training_round = round_start(algo="dpo", config={"dpo": {"epochs": 1}}, min_new_rankings=0, project=other)
    assert training_round.policy_in == base
    assert training_round.config["reward"]["base_model"] == "/their/encoder"
    assert training_round.config["dpo"]["beta"] == 0.3 and training_round.config["dpo"]["epochs"] == 1
    assert training_round.config["sample"]["k"] == 2
    default_round = round_start(algo="dpo", min_new_rankings=0)
    assert default_round.config["dpo"]["beta"] == 0.1  # the other project's defaults stay there


def test_bad_round_defaults_are_refused_by_name(db):
    import pytest

    from labeling.errors import RejectedInput
    from labeling.services.rounds import round_defaults_check

    round_defaults_check({"dpo": {"beta": 0.2}})
    for bad in ({"rewards": {}}, {"dpo": 3}, [1]):
        with pytest.raises(RejectedInput) as refused:
            round_defaults_check(bad)
        assert refused.value.field == "round_defaults"


def test_auto_start_follows_each_projects_own_setting(policy, settings):  # noqa: F811
    from labeling.services.rounds import round_autostart

    settings.ROUND_AUTO_START_EVERY = 0  # the default project: only by hand
    eager = Project.objects.create(slug="eager", name="Eager", auto_start_every=3, auto_algo="ppo")
    patient = Project.objects.create(slug="patient", name="Patient", auto_start_every=100)
    for project in (eager, patient, policy.project):
        _ranked_tasks_in(project, project.slug, n=2)
    labelers = [UserFactory(), UserFactory()]
    for user in labelers:
        for project in (eager, patient):
            Membership.objects.create(project=project, user=user)
    _rank_everything(labelers)
    [started] = round_autostart()
    assert (started.project, started.algo) == (eager, "ppo")
    assert round_autostart() == []  # eager's round is running; patient has 4 < 100; default never

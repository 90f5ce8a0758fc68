"""The reward-hacking guard, app side: canaries set aside and never trained on, the canary check, the hold on
auto-started rounds and its acknowledgement, and the guard settings a round refuses."""
import json

import pytest

from labeling.errors import RejectedInput
from labeling.jobs.execute import run_execute
from labeling.jobs.reporter import run_directory
from labeling.jobs.reward import run_rankings_write
from labeling.models import Prompt, RankingTask, Run, TrainingRound
from labeling.services.guard import AGGREGATES, canaries_set_aside, round_guard_acknowledge, round_guard_check
from labeling.services.rounds import DEFAULT_CONFIG, round_autostart, round_defaults_check, round_start
from labeling.services.runs import run_enqueue
from tests.factories import UserFactory, make_task
from tests.labeling.guard_world import canary_round, fixed_reward, rank_against_the_model  # noqa: F401
from tests.labeling.test_jobs import _rank_everything
from tests.labeling.test_rounds import _runs_in_tmp, policy  # noqa: F401


def test_the_guard_is_on_by_default_in_rounds_and_knows_the_modeling_aggregates():
    from modeling.models.conservative_reward import AGGREGATES as MODELING_AGGREGATES

    assert DEFAULT_CONFIG["ppo"]["reward_aggregate"] == "uwo" and DEFAULT_CONFIG["ppo"]["stop_patience"] > 0
    assert DEFAULT_CONFIG["sample"]["canary_share"] == 0.05
    assert AGGREGATES == MODELING_AGGREGATES


def test_a_rounds_sample_step_sets_aside_canaries_at_its_share(policy):  # noqa: F811
    prompts = [Prompt.objects.create(text=f"Say something about {word}.") for word in "abcdefgh"]
    training_round = TrainingRound.objects.create(algo="dpo", policy_in=policy, policy_out=policy)
    run = run_enqueue(kind=Run.Kind.SAMPLE, config={"k": 3, "max_new_tokens": 6, "seed": 3, "canary_share": 0.25},
                      inputs={"policy_version": policy.pk, "prompt_ids": [p.pk for p in prompts]})
    Run.objects.filter(pk=run.pk).update(training_round=training_round)
    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED
    run.refresh_from_db()
    created = RankingTask.objects.filter(source_run=run)
    assert created.count() == run.outputs["tasks_created"] >= 4
    expected = max(1, round(0.25 * created.count()))
    assert sorted(created.filter(canary=True).values_list("pk", flat=True)) == run.outputs["canaries"]
    assert len(run.outputs["canaries"]) == expected


def test_at_least_one_canary_when_the_share_is_above_0_and_none_outside_a_dpo_or_ppo_round(policy):  # noqa: F811
    tasks = [make_task(k=2).pk for _ in range(3)]
    training_round = TrainingRound.objects.create(algo="ppo", policy_in=policy)
    run = run_enqueue(kind=Run.Kind.SAMPLE, config={"canary_share": 0.01})
    assert canaries_set_aside(run=run, task_ids=tasks) == []  # not a round's sample step
    Run.objects.filter(pk=run.pk).update(training_round=training_round)
    run.refresh_from_db()
    assert len(canaries_set_aside(run=run, task_ids=tasks)) == 1
    TrainingRound.objects.filter(pk=training_round.pk).update(algo="sft")
    run.refresh_from_db()
    RankingTask.objects.update(canary=False)
    assert canaries_set_aside(run=run, task_ids=tasks) == [] and not RankingTask.objects.filter(canary=True).exists()


def test_canary_rankings_are_never_trained_on(db):
    for i in range(4):
        make_task(k=3, required_rankings=2, prompt_text=f"Question {i}?", texts=[f"a{i}", f"bb{i}", f"ccc{i}"])
    canary = RankingTask.objects.first()
    RankingTask.objects.filter(pk=canary.pk).update(canary=True)
    _rank_everything([UserFactory(), UserFactory()])
    run = run_enqueue(kind=Run.Kind.TRAIN_REWARD, config={})
    records, path = run_rankings_write(run)
    assert len(records) == 6 and canary.prompt.text not in {r.prompt for r in records}
    assert len(open(path).read().splitlines()) == 6


def test_canary_rankings_that_disagree_with_the_reward_model_warn_and_hold(policy, fixed_reward, settings):  # noqa: F811
    settings.ROUND_GUARD_MIN_CANARY_RANKINGS = 20
    training_round = canary_round(policy, fixed_reward, tasks=11)
    assert rank_against_the_model(fixed_reward, [UserFactory(), UserFactory()]) == 22
    guard = round_guard_check(training_round_id=training_round.pk)
    training_round.refresh_from_db()
    assert training_round.guard == guard and training_round.held
    # Labelers rank by one scoring pass, the check by another (other batches and padding): a near-tie of the tiny
    # random model may flip between them, hence the tolerance.
    assert (guard["rankings"], guard["pairs"], guard["train_agreement"]) == (22, 66, 0.9)
    assert guard["agreement"] == pytest.approx(0.0, abs=0.05)
    assert "0% of pairs" in guard["warning"] and "90%" in guard["warning"]


def test_agreeing_canaries_or_too_few_of_them_show_figures_without_a_warning(policy, fixed_reward, settings):  # noqa: F811
    training_round = canary_round(policy, fixed_reward, tasks=3)
    rank_against_the_model(fixed_reward, [UserFactory(), UserFactory()])
    settings.ROUND_GUARD_MIN_CANARY_RANKINGS = 7  # 6 rankings: the check reports, but does not warn
    guard = round_guard_check(training_round_id=training_round.pk)
    assert guard["agreement"] == 0.0 and guard["warning"] == "" and not TrainingRound.objects.get().held
    other = canary_round(policy, fixed_reward, tasks=10)
    rank_against_the_model(fixed_reward, [UserFactory(), UserFactory()], agree=True)
    guard = round_guard_check(training_round_id=other.pk)
    assert guard["agreement"] == pytest.approx(1.0, abs=0.05) and guard["rankings"] == 20 and guard["warning"] == ""


def test_autostart_skips_a_held_project_and_resumes_after_an_acknowledgement(policy, fixed_reward, settings,  # noqa: F811
                                                                            admin):
    settings.ROUND_AUTO_START_EVERY, settings.ROUND_GUARD_MIN_CANARY_RANKINGS = 10, 20
    training_round = canary_round(policy, fixed_reward, tasks=11)
    rank_against_the_model(fixed_reward, [UserFactory(), UserFactory()])
    assert round_autostart() == []  # the check ran here, before the round would start, and holds the project
    training_round.refresh_from_db()
    assert training_round.held and training_round.guard["warning"]
    assert not TrainingRound.objects.filter(active=True).exists()
    round_guard_acknowledge(training_round=training_round, user=admin)
    training_round.refresh_from_db()
    assert not training_round.held and training_round.guard["acknowledged_by"] == "root"
    [started] = round_autostart()
    assert started.active and started.algo == settings.ROUND_AUTO_ALGO
    training_round.refresh_from_db()
    assert not training_round.held  # a re-check after the acknowledgement keeps it


def test_acknowledging_a_round_without_a_warning_is_refused(policy, fixed_reward, admin):  # noqa: F811
    training_round = canary_round(policy, fixed_reward, tasks=1)
    with pytest.raises(RejectedInput, match="no canary warning") as info:
        round_guard_acknowledge(training_round=training_round, user=admin)
    assert info.value.status == 409 and TrainingRound.objects.get().guard is None


@pytest.mark.parametrize("config, field, words", [
    ({"ppo": {"reward_aggregate": "max"}}, "reward_aggregate", "one of mean, min, uwo"),
    ({"ppo": {"uwo_lambda": -0.5}}, "uwo_lambda", "from 0"),
    ({"ppo": {"stop_patience": -1}}, "stop_patience", "whole number"),
    ({"ppo": {"stop_patience": 1.5}}, "stop_patience", "whole number"),
    ({"dpo": {"stop_patience": -2}}, "stop_patience", "dpo.stop_patience"),
    ({"ppo": {"stop_spread_ratio": float("nan")}}, "stop_spread_ratio", "number"),
    ({"reward": {"ensemble": 0}}, "ensemble", "from 1"),
    ({"sample": {"canary_share": 1.0}}, "canary_share", "below 1"),
])
def test_bad_guard_settings_are_refused_and_nothing_changes(policy, settings, config, field, words):  # noqa: F811
    settings.ROUND_MIN_NEW_RANKINGS = 0
    make_task()
    with pytest.raises(RejectedInput, match=words) as info:
        round_start(algo="ppo", config=config)
    assert info.value.field == field and info.value.status == 400
    with pytest.raises(RejectedInput, match=words) as info:  # a project's round defaults: the same check
        round_defaults_check(config)
    assert info.value.field == "round_defaults"
    assert not TrainingRound.objects.exists() and not Run.objects.exists()


def test_a_single_reward_model_ppo_round_runs_with_the_guard_on(policy, settings, tiny_bert_path):  # noqa: F811
    from tests.labeling.test_rounds import run_round_to_the_end, tiny_config

    for i in range(6):
        make_task(k=3, required_rankings=2, prompt_text=f"What is {i} plus 1?",
                  texts=[f"{i} plus 1 is {i + 1}.", f"{i + 1}", "I like trains."])
    _rank_everything([UserFactory(), UserFactory()])
    config = tiny_config(tiny_bert_path)
    config["ppo"]["iterations"] = 2
    training_round = round_start(algo="ppo", config=config, min_new_rankings=10)
    assert training_round.config["ppo"]["reward_aggregate"] == "uwo"
    assert run_round_to_the_end(training_round) == ["train_reward", "ppo", "sample"]
    ppo = Run.objects.get(training_round=training_round, kind="ppo")
    written = json.loads((run_directory(ppo) / "policy" / "training_config.json").read_text())
    assert json.dumps(written).count('"uwo"') >= 1
    assert training_round.policy_out.metrics["guard/stopped"] is False  # one model: the rule cannot fire


def test_the_next_rounds_reward_step_brings_the_last_rounds_canary_check_up_to_date(policy, fixed_reward,  # noqa: F811
                                                                                     settings, tiny_bert_path):
    from tests.labeling.test_rounds import tiny_config

    settings.ROUND_GUARD_MIN_CANARY_RANKINGS = 20
    last = canary_round(policy, fixed_reward, tasks=11)
    for i in range(4):
        make_task(k=3, required_rankings=2, prompt_text=f"Ordinary {i}?", texts=[f"o{i}", f"oo {i}", f"ooo {i} o"])
    assert rank_against_the_model(fixed_reward, [UserFactory(), UserFactory()]) == 30
    training_round = round_start(algo="dpo", config=tiny_config(tiny_bert_path), min_new_rankings=1)
    step = Run.objects.get(training_round=training_round, kind="train_reward")
    assert run_execute(run_id=step.pk) == Run.Status.SUCCEEDED
    last.refresh_from_db()
    assert last.held and last.guard["rankings"] == 22 and last.guard["agreement"] == 0.0
    step.refresh_from_db()
    assert "canary check of the last round" in step.log_tail and step.outputs["rankings"] == 8  # canaries left out


def test_under_active_selection_canaries_come_from_the_random_picks(policy):  # noqa: F811
    tasks = [make_task(k=2) for _ in range(10)]
    for number, task in enumerate(tasks):  # 3 random picks, 7 informed ones
        task.selection = {"method": "random" if number < 3 else "uncertainty", "score": 0.1, "rank": number + 1,
                          "random_pick": number < 3, "pool": 30}
        task.save(update_fields=["selection"])
    training_round = TrainingRound.objects.create(algo="dpo", policy_in=policy)
    run = run_enqueue(kind=Run.Kind.SAMPLE, config={"canary_share": 0.2})
    Run.objects.filter(pk=run.pk).update(training_round=training_round)
    run.refresh_from_db()
    chosen = canaries_set_aside(run=run, task_ids=[t.pk for t in tasks])
    assert len(chosen) == 2 and set(chosen) <= {t.pk for t in tasks[:3]}
    RankingTask.objects.update(canary=False)
    run.config["canary_share"] = 0.5  # 5 wanted, 3 random picks: the other 2 from the informed ones
    chosen = canaries_set_aside(run=run, task_ids=[t.pk for t in tasks])
    assert len(chosen) == 5 and {t.pk for t in tasks[:3]} <= set(chosen)

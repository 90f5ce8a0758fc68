"""The cached agreement figures (services/stats.py) and what the dashboard reads (selectors/stats.py)."""
import datetime as dt
from itertools import combinations

import krippendorff
import numpy as np
import pytest
from scipy.stats import kendalltau

from labeling import agreement
from labeling.models import (
    LabelerDay, ModelVersion, PairDay, Project, Ranking, RankingPair, RankingStats, RankingTask, Run, Skip,
    TaskAgreement, TaskDay, TrainingRound,
    default_project_id,
)
from labeling.selectors import stats as selectors
from labeling.selectors.rankings import RankingFilter
from labeling.services.simulated_rankings import SimulationSpec, rankings_simulate
from labeling.services.stats import stats_pending_tasks, stats_rebuild_all, stats_refresh, task_stats_rebuild
from modeling.simulation import oracle
from tests.factories import make_task



def stats_filter(**fields) -> RankingFilter:
    """A filter of the default project (where the factories put every task)."""
    return RankingFilter(project=Project.objects.get(pk=default_project_id()), **fields)


def everything() -> RankingFilter:
    return stats_filter()


def _rank(task, user, tiers, *, shown=None, seconds=None, when=None):
    """A ranking written directly; ``tiers`` and ``shown`` are indexes into the task's completions."""
    ids = list(task.completions.order_by("id").values_list("pk", flat=True))
    ranking = Ranking.objects.create(
        task=task, labeler=user, tiers=[[ids[i] for i in tier] for tier in tiers],
        display_order=[ids[i] for i in (shown or range(len(ids)))], seconds=seconds,
        submission_id=f"t{task.pk}-u{user.pk}",
    )
    if when is not None:
        Ranking.objects.filter(pk=ranking.pk).update(created_at=when)
    return ranking


@pytest.fixture
def simulated(db):
    spec = SimulationSpec(tasks=50, k=4, labelers=4, random_labelers=1, per_task=5, skip_rate=0.0,
                          gold_share=0.2, target_agreement=0.726, seed=7)
    counts = rankings_simulate(spec=spec)
    stats_refresh()
    return counts


def test_figures_match_independent_computations(simulated):
    by_task: dict[int, list[Ranking]] = {}
    for ranking in Ranking.objects.order_by("id"):
        by_task.setdefault(ranking.task_id, []).append(ranking)
    agree = compared = 0
    taus = []
    for rankings in by_task.values():
        for a, b in combinations(rankings, 2):
            got = oracle.pairwise_agreement(a.tiers, b.tiers)
            agree, compared = agree + got[0], compared + got[1]
            ids = a.display_order
            pos_a, pos_b = agreement.tier_of(a.tiers), agreement.tier_of(b.tiers)
            tau = kendalltau([pos_a[i] for i in ids], [pos_b[i] for i in ids]).statistic
            taus += [] if np.isnan(tau) else [tau]
    totals = selectors.stats_totals(everything())
    assert totals["rankings"] == simulated["rankings"] == 250
    assert totals["pairs_compared"] == compared
    assert totals["agreement"] == pytest.approx(agree / compared)
    assert totals["tau_b"] == pytest.approx(sum(taus) / len(taus))
    # Alpha straight from the rankings with the krippendorff package: coders x completions.
    users = sorted({r.labeler_id for rs in by_task.values() for r in rs})
    units = []
    for rankings in by_task.values():
        ranks = {r.labeler_id: agreement.midranks(r.tiers) for r in rankings}
        for cid in rankings[0].display_order:
            units.append([ranks[u][cid] if u in ranks else np.nan for u in users])
    expected = krippendorff.alpha(reliability_data=np.array(units).T, level_of_measurement="ordinal")
    assert totals["alpha"] == pytest.approx(expected, abs=1e-9)


def test_simulated_labelers_agree_near_their_configured_rate_and_the_random_one_is_flagged(simulated):
    cells = selectors.stats_pair_cells(everything())
    rows = {row["name"]: row for row in selectors.stats_labeler_rows(everything(), cells=cells)}
    sims = {rows[name]["id"] for name in rows if name.startswith("sim-")}
    among = [counts for (a, b), counts in cells.items() if a in sims and b in sims]
    rate = sum(a for a, _ in among) / sum(c for _, c in among)
    assert rate == pytest.approx(0.726, abs=0.06)
    planted = rows.pop("random-sim-1")
    assert {"pair_agreement", "consensus"} <= planted["flags"]
    assert planted["pair_agreement"] < 0.6
    for row in rows.values():
        assert not row["flags"] & {"pair_agreement", "consensus", "gold"}, row
        assert row["gold"] > 0.7


def test_refresh_counts_only_new_rankings_and_can_be_repeated(db, task_factory, labeler, other_labeler, admin):
    task = task_factory(k=3)
    _rank(task, labeler, [[0], [1], [2]])
    _rank(task, other_labeler, [[1], [0], [2]])
    assert stats_pending_tasks() == [task.pk]
    assert stats_refresh() == 2
    assert stats_pending_tasks() == [] and stats_refresh() == 0
    assert TaskAgreement.objects.get(task=task).n_rankings == 2
    _rank(task, admin, [[0], [1, 2]])
    assert stats_pending_tasks() == [task.pk]
    assert stats_refresh() == 3
    assert RankingPair.objects.filter(task=task).count() == 3
    before = sorted(RankingPair.objects.values_list("labeler_a", "labeler_b", "agree", "compared"))
    task_stats_rebuild(task_ids=[task.pk])
    assert sorted(RankingPair.objects.values_list("labeler_a", "labeler_b", "agree", "compared")) == before
    row = TaskAgreement.objects.get(task=task)
    assert (row.n_rankings, row.agree, row.compared) == (3, 3 + 1 + 1, 3 + 2 + 2)


def test_labeler_figures_by_hand(db, task_factory, labeler, other_labeler):
    tasks = [task_factory(k=3, gold_tiers=[[0], [1], [2]] if i == 0 else None) for i in range(4)]
    for i, (task, seconds) in enumerate(zip(tasks, [40, 10, 20, None])):
        # alice: submits as shown on tasks 0 and 1, and the first-shown card (index 2) wins on task 2.
        tiers = [[2], [0], [1]] if i == 2 else [[0], [1], [2]]
        _rank(task, labeler, tiers, shown=[2, 1, 0] if i == 2 else [0, 1, 2], seconds=seconds)
    for task, seconds in zip(tasks, [10, 20, 30, 40]):
        _rank(task, other_labeler, [[1, 0], [2]], shown=[2, 1, 0], seconds=seconds)
    Skip.objects.create(task=task_factory(), labeler=labeler, reason=Skip.Reason.OTHER)
    stats_refresh()
    rows = {row["name"]: row for row in selectors.stats_labeler_rows(everything())}
    alice, bob = rows["alice"], rows["bob"]
    assert (alice["median_seconds"], bob["median_seconds"]) == (20, 25)
    assert (alice["skips"], alice["skip_rate"], bob["skip_rate"]) == (1, pytest.approx(1 / 5), 0)
    assert (alice["display_order"], bob["display_order"]) == (pytest.approx(3 / 4), 0)
    # alice's first-shown card won on every task (credit 1 each, chance 1/3 each): 3x chance.
    assert alice["first_shown_rate"] == 1 and alice["first_shown"] == pytest.approx(3)
    # bob never puts the first-shown card (index 2) on top.
    assert bob["first_shown"] == 0
    # Gold on task 0 orders 0>1>2: alice 3 of 3; bob ties 0 and 1: 2 of 3.
    assert (alice["gold"], bob["gold"]) == (1, pytest.approx(2 / 3))
    # Pairs both order strictly: 0-2 and 1-2 on each task; alice disagrees with bob on task 2 only.
    assert (alice["pair_agreement"], alice["pair_compared"]) == (pytest.approx(6 / 8), 8)


def test_date_range_counts_rankings_and_pairs_submitted_in_it(db, task_factory, labeler, other_labeler):
    early, late = task_factory(k=2), task_factory(k=2)
    day = dt.datetime(2026, 3, 10, 12, tzinfo=dt.timezone.utc)
    _rank(early, labeler, [[0], [1]], when=day)
    _rank(early, other_labeler, [[0], [1]], when=day)
    _rank(late, labeler, [[0], [1]], when=day + dt.timedelta(days=5))
    _rank(late, other_labeler, [[1], [0]], when=day + dt.timedelta(days=6))
    stats_refresh()
    first = stats_filter(until=dt.date(2026, 3, 10))
    assert selectors.stats_totals(first)["rankings"] == 2
    assert selectors.stats_totals(first)["agreement"] == 1
    second = stats_filter(since=dt.date(2026, 3, 11))
    assert selectors.stats_totals(second)["agreement"] == 0
    assert [t["task_id"] for t in selectors.stats_lowest_tasks(second)] == [late.pk]
    assert selectors.stats_throughput(everything()) == [(dt.date(2026, 3, 10), 2), (dt.date(2026, 3, 15), 1),
                                                      (dt.date(2026, 3, 16), 1)]
    assert [w[1:] for w in selectors.stats_agreement_by_week(everything())] == [(1.0, 1), (0.0, 1)]


def test_empty_project(db):
    totals = selectors.stats_totals(everything())
    assert totals["rankings"] == 0 and totals["agreement"] is None and totals["alpha"] is None
    assert selectors.stats_labeler_rows(everything()) == []
    assert selectors.stats_lowest_tasks(everything()) == []


def test_reward_model_agreement_comes_from_the_newest_reward_model(db, task_factory, labeler, other_labeler, admin):
    task = task_factory(k=2)
    for user in (labeler, other_labeler, admin):
        _rank(task, user, [[0], [1]])
    stats_refresh()
    assert {row["name"]: row["reward_model"] for row in selectors.stats_labeler_rows(everything())} == {
        "alice": None, "bob": None, "root": None}
    ModelVersion.objects.create(kind=ModelVersion.Kind.REWARD, name="rm-1", algorithm="reward", path="/x",
                                metrics={"reward/agreement/alice": 0.5, "reward/agreement/bob": 0.5})
    # What modeling/training/reward_training.py writes, keyed by username; other keys and odd values are ignored.
    ModelVersion.objects.create(kind=ModelVersion.Kind.REWARD, name="rm-2", algorithm="reward", path="/x", metrics={
        "reward/accuracy": 0.7, "reward/agreement/alice": 0.75, "reward/agreement/bob": 0.625,
        "reward/agreement/root": "high", "reward/agreement/nobody": 0.9, "reward/agreement/": 0.1,
    })
    ModelVersion.objects.create(kind=ModelVersion.Kind.POLICY, name="policy-after", algorithm="dpo", path="/y",
                                metrics={"reward/agreement/alice": 0.1})
    assert selectors.reward_model_agreement(everything().project) == {"alice": 0.75, "bob": 0.625, "nobody": 0.9}
    rows = {row["name"]: row["reward_model"] for row in selectors.stats_labeler_rows(everything())}
    assert rows == {"alice": 0.75, "bob": 0.625, "root": None}
    assert RankingStats.objects.count() == 3


# --- Filters by training round and task set ---


def round_with_tasks(tasks: int, *, k: int = 3, status=TrainingRound.Status.SUCCEEDED) -> tuple[TrainingRound, list]:
    """A finished round whose sample step made ``tasks`` new tasks (written directly, no model run)."""
    policy, _ = ModelVersion.objects.get_or_create(name="policy-0", defaults={
        "kind": ModelVersion.Kind.POLICY, "algorithm": "external", "path": "/policy"})
    training_round = TrainingRound.objects.create(algo="dpo", status=status, active=False, policy_in=policy)
    run = Run.objects.create(kind=Run.Kind.SAMPLE, status=Run.Status.SUCCEEDED, training_round=training_round)
    made = [make_task(k=k) for _ in range(tasks)]
    RankingTask.objects.filter(pk__in=[t.pk for t in made]).update(
        source_run=run, task_set=f"round-{training_round.pk}")
    return training_round, made


def _imported(tasks: int, name: str, *, k: int = 3) -> list:
    made = [make_task(k=k) for _ in range(tasks)]
    RankingTask.objects.filter(pk__in=[t.pk for t in made]).update(task_set=name)
    return made


def test_round_and_task_set_filters_count_only_their_tasks(db, labeler, other_labeler):
    imported = _imported(2, "batch-1.jsonl")
    first, first_tasks = round_with_tasks(2)
    second, second_tasks = round_with_tasks(1)
    day = dt.datetime(2026, 4, 1, 9, tzinfo=dt.timezone.utc)
    for task in imported + first_tasks:  # agree everywhere
        _rank(task, labeler, [[0], [1], [2]], seconds=10, when=day)
        _rank(task, other_labeler, [[0], [1], [2]], seconds=30, when=day)
    _rank(second_tasks[0], labeler, [[0], [1], [2]], seconds=50, when=day + dt.timedelta(days=1))
    _rank(second_tasks[0], other_labeler, [[2], [1], [0]], seconds=70, when=day + dt.timedelta(days=1))
    Skip.objects.create(task=first_tasks[0], labeler=labeler, reason=Skip.Reason.OTHER)  # a skip of a ranked task
    Skip.objects.create(task=imported[0], labeler=other_labeler, reason=Skip.Reason.OTHER)
    stats_refresh()

    in_first = stats_filter(rounds=(first.pk,))
    totals = selectors.stats_totals(in_first)
    assert (totals["rankings"], totals["tasks_ranked"], totals["pairs_compared"], totals["agreement"]) == (4, 2, 6, 1)
    assert totals["skips"] == 1
    in_second = stats_filter(rounds=(second.pk,))
    assert (selectors.stats_totals(in_second)["rankings"], selectors.stats_totals(in_second)["agreement"]) == (2, 0)
    rows = {r["name"]: r for r in selectors.stats_labeler_rows(in_second)}
    assert (rows["alice"]["median_seconds"], rows["bob"]["median_seconds"]) == (50, 70)
    assert rows["alice"]["pair_agreement"] == 0 and rows["alice"]["skips"] == 0
    assert [t["task_id"] for t in selectors.stats_lowest_tasks(in_second)] == [second_tasks[0].pk]
    assert selectors.stats_throughput(in_second) == [(dt.date(2026, 4, 2), 2)]

    in_batch = stats_filter(task_sets=("batch-1.jsonl",))
    assert selectors.stats_totals(in_batch)["rankings"] == 4 and selectors.stats_totals(in_batch)["skips"] == 1
    assert {r["name"]: r["skips"] for r in selectors.stats_labeler_rows(in_batch)} == {"alice": 0, "bob": 1}
    assert selectors.stats_pair_cells(in_batch) == {(labeler.pk, other_labeler.pk): (6, 6)}
    assert selectors.stats_totals(stats_filter(task_sets=(f"round-{second.pk}",)))["rankings"] == 2
    assert selectors.stats_totals(stats_filter(task_sets=("no-such-set",)))["rankings"] == 0
    # Filters combine: round 2's tasks were ranked on 2 April only.
    assert selectors.stats_totals(stats_filter(rounds=(second.pk,), until=dt.date(2026, 4, 1)))[
        "rankings"] == 0
    assert selectors.stats_totals(stats_filter(rounds=(first.pk,), task_sets=("batch-1.jsonl",)))[
        "rankings"] == 0
    assert selectors.stats_totals(everything())["rankings"] == 10
    project = everything().project
    assert selectors.stats_task_sets(project) == sorted(["batch-1.jsonl", f"round-{first.pk}", f"round-{second.pk}"])
    assert [pk for pk, _label in selectors.stats_round_choices(project)] == [first.pk, second.pk]


def test_agreement_by_round(db, labeler, other_labeler, admin):
    imported = _imported(1, "batch.jsonl")
    first, first_tasks = round_with_tasks(2)
    second, second_tasks = round_with_tasks(1)
    _rank(imported[0], labeler, [[0], [1], [2]])
    _rank(imported[0], other_labeler, [[1], [0], [2]])  # 2 of 3 pairs agree
    for task in first_tasks:
        for user in (labeler, other_labeler, admin):
            _rank(task, user, [[0], [1], [2]])
    _rank(second_tasks[0], labeler, [[0], [1], [2]])  # one ranking: nothing to compare
    stats_refresh()
    rows = selectors.stats_agreement_by_round(everything())
    assert [r["round"] for r in rows] == [None, first, second]
    assert [(r["rankings"], r["pairs_compared"], r["agreement"]) for r in rows] == [
        (2, 3, pytest.approx(2 / 3)), (6, 18, 1), (1, 0, None)]
    assert rows[1]["tau_b"] == 1 and rows[1]["alpha"] == 1 and rows[2]["alpha"] is None
    # Every pair counted once: the rounds' rows add up to the totals.
    totals = selectors.stats_totals(everything())
    assert sum(r["pairs_compared"] for r in rows) == totals["pairs_compared"]
    only_first = stats_filter(rounds=(first.pk,))
    assert [r["round"] for r in selectors.stats_agreement_by_round(only_first)] == [first]


def test_filtered_figures_match_the_figures_of_that_subset(simulated):
    """Splitting the simulated tasks into two sets: each set's page equals one computed from its rankings."""
    tasks = sorted({r.task_id for r in Ranking.objects.all()})
    RankingTask.objects.filter(pk__in=tasks[::2]).update(task_set="even")
    RankingTask.objects.filter(pk__in=tasks[1::2]).update(task_set="odd")
    stats_rebuild_all()
    for name, chosen in (("even", set(tasks[::2])), ("odd", set(tasks[1::2]))):
        by_task: dict[int, list[Ranking]] = {}
        for ranking in Ranking.objects.filter(task_id__in=chosen).order_by("id"):
            by_task.setdefault(ranking.task_id, []).append(ranking)
        counts = [oracle.pairwise_agreement(a.tiers, b.tiers)
                  for rs in by_task.values() for a, b in combinations(rs, 2)]
        totals = selectors.stats_totals(stats_filter(task_sets=(name,)))
        assert totals["rankings"] == sum(len(rs) for rs in by_task.values())
        assert totals["tasks_ranked"] == len(by_task)
        assert totals["pairs_compared"] == sum(c for _, c in counts)
        assert totals["agreement"] == pytest.approx(sum(a for a, _ in counts) / sum(c for _, c in counts))
    both = [selectors.stats_totals(stats_filter(task_sets=(name,))) for name in ("even", "odd")]
    assert sum(t["rankings"] for t in both) == selectors.stats_totals(everything())["rankings"]


def test_a_deleted_round_is_counted_again_under_no_round(db, labeler, other_labeler):
    training_round, tasks = round_with_tasks(2)
    for task in tasks:
        _rank(task, labeler, [[0], [1], [2]])
        _rank(task, other_labeler, [[0], [1], [2]])
    stats_refresh()
    assert [r["round"] for r in selectors.stats_agreement_by_round(everything())] == [training_round]
    training_round.delete()  # its runs go with it; the tasks stay, with no source run
    assert RankingTask.objects.filter(pk__in=[t.pk for t in tasks], source_run__isnull=True).count() == 2
    assert sorted(stats_pending_tasks()) == sorted(t.pk for t in tasks)
    assert stats_refresh() == 4
    (row,) = selectors.stats_agreement_by_round(everything())
    assert (row["round"], row["rankings"], row["agreement"]) == (None, 4, 1)


def test_rebuild_all_recounts_after_a_deletion_or_a_gold_edit(db, task_factory, labeler, other_labeler, admin):
    task = task_factory(k=3)
    rankings = [_rank(task, user, [[0], [1], [2]]) for user in (labeler, other_labeler, admin)]
    stats_refresh()
    rankings[2].delete()
    task.gold_tiers = list(rankings[0].tiers)
    task.save(update_fields=["gold_tiers"])
    assert TaskAgreement.objects.get(task=task).n_rankings == 3  # stale until recounted
    assert stats_rebuild_all() == 2
    assert TaskAgreement.objects.get(task=task).n_rankings == 2
    totals = selectors.stats_totals(everything())
    assert (totals["rankings"], totals["pairs_compared"], totals["agreement"]) == (2, 3, 1)
    assert {row["name"]: row["gold"] for row in selectors.stats_labeler_rows(everything())} == {"alice": 1, "bob": 1}


def test_the_lowest_agreement_list_previews_a_conversation_by_its_last_user_turn(db, task_factory, labeler,
                                                                                  other_labeler):
    from labeling.services.prompts import prompt_fields

    task = task_factory(k=2)
    conversation = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Name a fruit."}]
    for name, value in prompt_fields(conversation).items():
        setattr(task.prompt, name, value)
    task.prompt.save()
    _rank(task, labeler, [[0], [1]])
    _rank(task, other_labeler, [[1], [0]])
    stats_refresh()
    assert [t["prompt"] for t in selectors.stats_lowest_tasks(everything())] == ["Name a fruit."]


def test_two_projects_on_the_same_day_each_sum_only_their_own_rollups(db, task_factory, labeler, other_labeler):
    mine = task_factory(k=3)
    _rank(mine, labeler, [[0], [1], [2]], seconds=10)
    _rank(mine, other_labeler, [[0], [1], [2]], seconds=30)
    theirs = task_factory(k=3)
    theirs.prompt.project = Project.objects.create(slug="other", name="Other")
    theirs.prompt.save(update_fields=["project"])
    _rank(theirs, labeler, [[0], [1], [2]], seconds=99)
    _rank(theirs, other_labeler, [[2], [1], [0]], seconds=99)
    assert stats_refresh() == 4
    # One roll-up row per project and labeler for the same day.
    assert LabelerDay.objects.filter(labeler=labeler).count() == 2
    assert PairDay.objects.count() == TaskDay.objects.count() == 2
    for project, agreement, lowest in ((default_project_id(), 1, mine), (theirs.prompt.project_id, 0, theirs)):
        f = RankingFilter(project=Project.objects.get(pk=project))
        totals = selectors.stats_totals(f)
        assert (totals["rankings"], totals["tasks_ranked"], totals["agreement"]) == (2, 1, agreement)
        assert [t["task_id"] for t in selectors.stats_lowest_tasks(f)] == [lowest.pk]
    rows = {row["name"]: row for row in selectors.stats_labeler_rows(everything())}
    assert (rows["alice"]["median_seconds"], rows["bob"]["median_seconds"]) == (10, 30)
    # Recounting one project's task leaves the other project's roll-ups as they were.
    before = list(LabelerDay.objects.filter(project=theirs.prompt.project).values_list("pk", flat=True))
    task_stats_rebuild(task_ids=[mine.pk])
    assert list(LabelerDay.objects.filter(project=theirs.prompt.project).values_list("pk", flat=True)) == before

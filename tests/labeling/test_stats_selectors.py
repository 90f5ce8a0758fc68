"""The cached agreement figures (services/stats.py) and what the dashboard reads (selectors/stats.py)."""
import datetime as dt
from itertools import combinations

import krippendorff
import numpy as np
import pytest
from scipy.stats import kendalltau

from labeling import agreement
from labeling.models import ModelVersion, Ranking, RankingPair, RankingStats, Skip, TaskAgreement
from labeling.selectors import stats as selectors
from labeling.services.simulated_rankings import SimulationSpec, rankings_simulate
from labeling.services.stats import stats_pending_tasks, stats_rebuild_all, stats_refresh, task_stats_rebuild
from modeling import oracle

EVERYTHING = selectors.StatsFilter()


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
    totals = selectors.stats_totals(EVERYTHING)
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
    cells = selectors.stats_pair_cells(EVERYTHING)
    rows = {row["name"]: row for row in selectors.stats_labeler_rows(EVERYTHING, cells=cells)}
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
    rows = {row["name"]: row for row in selectors.stats_labeler_rows(EVERYTHING)}
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
    first = selectors.StatsFilter(until=dt.date(2026, 3, 10))
    assert selectors.stats_totals(first)["rankings"] == 2
    assert selectors.stats_totals(first)["agreement"] == 1
    second = selectors.StatsFilter(since=dt.date(2026, 3, 11))
    assert selectors.stats_totals(second)["agreement"] == 0
    assert [t["task_id"] for t in selectors.stats_lowest_tasks(second)] == [late.pk]
    assert selectors.stats_throughput(EVERYTHING) == [(dt.date(2026, 3, 10), 2), (dt.date(2026, 3, 15), 1),
                                                      (dt.date(2026, 3, 16), 1)]
    assert [w[1:] for w in selectors.stats_agreement_by_week(EVERYTHING)] == [(1.0, 1), (0.0, 1)]


def test_empty_project(db):
    totals = selectors.stats_totals(EVERYTHING)
    assert totals["rankings"] == 0 and totals["agreement"] is None and totals["alpha"] is None
    assert selectors.stats_labeler_rows(EVERYTHING) == []
    assert selectors.stats_lowest_tasks(EVERYTHING) == []


def test_reward_model_agreement_comes_from_the_newest_reward_model(db, task_factory, labeler, other_labeler):
    task = task_factory(k=2)
    _rank(task, labeler, [[0], [1]])
    stats_refresh()
    ModelVersion.objects.create(kind=ModelVersion.Kind.REWARD, name="rm-1", algorithm="reward", path="/x",
                                metrics={"reward/labeler_agreement": {str(labeler.pk): [3, 4]}})
    (row,) = selectors.stats_labeler_rows(EVERYTHING)
    assert row["reward_model"] == 0.75
    assert RankingStats.objects.count() == 1


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
    totals = selectors.stats_totals(EVERYTHING)
    assert (totals["rankings"], totals["pairs_compared"], totals["agreement"]) == (2, 3, 1)
    assert {row["name"]: row["gold"] for row in selectors.stats_labeler_rows(EVERYTHING)} == {"alice": 1, "bob": 1}

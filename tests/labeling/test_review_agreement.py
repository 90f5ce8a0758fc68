"""A decision on a ranking updates the agreement cache at once (no stats_refresh): a rejected ranking
is counted in no figure, a corrected one keeps counting with the labeler's own order."""
from labeling.models import LabelerDay, RankingPair, RankingStats, TaskAgreement
from labeling.selectors import stats as stats_selectors
from labeling.services.review import review_decide
from labeling.services.stats import stats_pending_tasks, stats_refresh
from tests.factories import UserFactory
from tests.labeling.review_world import (  # noqa: F401
    completion_ids, project, project_labeler, rank, ranked, reviewer,
)


def test_a_reject_leaves_the_ranking_out_of_the_cache_at_once(project, reviewer, ranked):
    carol = UserFactory(username="carol")
    odd = rank(ranked["task"], carol, [3, 2, 1, 0])  # the reverse of alice's
    stats_refresh(project=project)
    before = TaskAgreement.objects.get(task=ranked["task"])
    assert before.n_rankings == 3 and RankingStats.objects.filter(ranking=odd).exists()
    assert LabelerDay.objects.filter(labeler=carol).exists()

    review_decide(reviewer=reviewer, project=project, ranking_id=odd.pk, action="reject", reason="reversed")

    after = TaskAgreement.objects.get(task=ranked["task"])
    assert after.n_rankings == 2 and after.share > before.share
    assert not RankingStats.objects.filter(ranking=odd).exists()
    assert not RankingPair.objects.filter(ranking_b=odd).exists() and not RankingPair.objects.filter(ranking_a=odd).exists()
    assert not LabelerDay.objects.filter(labeler=carol).exists()  # the roll-ups followed too
    assert stats_pending_tasks(project=project) == [] and stats_pending_tasks() == []  # not waiting to be counted
    names = {row["name"] for row in stats_selectors.stats_labeler_rows(
        stats_selectors.RankingFilter(project=project))}
    assert "carol" not in names and "alice" in names


def test_accepting_a_rejected_ranking_counts_it_again(project, reviewer, ranked):
    stats_refresh(project=project)
    bob = ranked["bob"]
    review_decide(reviewer=reviewer, project=project, ranking_id=bob.pk, action="reject", reason="careless")
    assert TaskAgreement.objects.get(task=ranked["task"]).n_rankings == 1
    assert not RankingStats.objects.filter(ranking=bob).exists()
    review_decide(reviewer=reviewer, project=project, ranking_id=bob.pk, action="accept")
    assert TaskAgreement.objects.get(task=ranked["task"]).n_rankings == 2
    assert RankingStats.objects.filter(ranking=bob).exists()


def test_a_corrected_ranking_counts_with_the_labelers_own_order(project, reviewer, ranked):
    stats_refresh(project=project)
    share = TaskAgreement.objects.get(task=ranked["task"]).share
    a, b, c, d = completion_ids(ranked["task"])
    review_decide(reviewer=reviewer, project=project, ranking_id=ranked["bob"].pk, action="correct",
                  corrected_tiers=[[a], [b], [c], [d]])  # alice's order: were it counted, agreement would be 1
    assert TaskAgreement.objects.get(task=ranked["task"]).share == share < 1

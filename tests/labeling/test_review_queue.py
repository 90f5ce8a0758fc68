"""The review queue: lowest agreement, gold misses, flagged completions, each labeler's last rankings
and new demonstrations; each item once, with every reason, and gone once reviewed."""
from labeling.selectors.review import QueueLimits, review_queue
from labeling.services.review import review_decide
from labeling.services.stats import stats_refresh
from tests.labeling.review_world import (  # noqa: F401
    demonstration, foreign_ranking, other_project, project, project_labeler, project_task, rank, ranked, reviewer,
)

NO_SAMPLE = QueueLimits(per_labeler=0)


def _reasons(project, limits=NO_SAMPLE) -> dict:
    return {(item["kind"], item["id"]): item["reasons"] for item in review_queue(project=project, limits=limits)}


def test_the_rankings_of_a_low_agreement_task_are_queued(project, ranked, foreign_ranking):
    stats_refresh(project=project)
    queue = _reasons(project)
    assert set(queue) == {("ranking", ranked["alice"].pk), ("ranking", ranked["bob"].pk)}
    assert queue["ranking", ranked["alice"].pk][0].startswith("Low task agreement")


def test_full_agreement_is_not_queued(project, project_labeler, other_labeler):
    task = project_task(project)
    rank(task, project_labeler, [0, 1, 2, 3])
    rank(task, other_labeler, [0, 1, 2, 3])
    stats_refresh(project=project)
    assert _reasons(project) == {}


def test_gold_misses_and_flags_are_queued_with_every_reason(project, project_labeler, other_labeler):
    gold = project_task(project, gold_tiers=[[0], [1], [2], [3]])
    miss = rank(gold, project_labeler, [1, 0, 2, 3], flags={str(gold.completions.first().pk): ["harmful"]})
    hit = rank(gold, other_labeler, [0, 1, 2, 3])
    plain = project_task(project)
    flagged = rank(plain, project_labeler, [0, 1, 2, 3])
    flagged.flags = {str(plain.completions.first().pk): ["hallucination", "harmful"]}
    flagged.save()
    stats_refresh(project=project)
    queue = _reasons(project, QueueLimits(per_labeler=0, low_agreement_tasks=0))
    assert set(queue) == {("ranking", miss.pk), ("ranking", flagged.pk)}
    assert queue["ranking", miss.pk] == ["Gold miss: 5 of 6 pairs ordered as the gold", "Flagged: harmful"]
    assert queue["ranking", flagged.pk] == ["Flagged: hallucination, harmful"]
    items = review_queue(project=project)  # with every source: the miss is also in a low-agreement task
    assert items[0]["id"] == miss.pk and len(items[0]["reasons"]) == 4
    assert ("ranking", hit.pk) in {(i["kind"], i["id"]) for i in items}


def test_each_labelers_last_rankings_are_sampled_once_each(project, project_labeler, reviewer):
    tasks = [project_task(project) for _ in range(5)]
    rankings = [rank(task, project_labeler, [0, 1, 2, 3]) for task in tasks]
    queue = _reasons(project, QueueLimits())
    assert set(queue) == {("ranking", r.pk) for r in rankings[-3:]}
    assert queue["ranking", rankings[-1].pk] == ["Sample of the labeler's recent work"]
    review_decide(reviewer=reviewer, project=project, ranking_id=rankings[-1].pk, action="accept")
    assert set(_reasons(project, QueueLimits())) == {("ranking", r.pk) for r in rankings[-3:-1]}


def test_new_demonstrations_are_queued_until_reviewed(project, other_project, project_labeler, reviewer):
    mine = demonstration(project, project_labeler)
    demonstration(other_project, project_labeler)
    assert _reasons(project) == {("demonstration", mine.pk): ["New demonstration"]}
    review_decide(reviewer=reviewer, project=project, demonstration_id=mine.pk, action="reject", reason="copied")
    assert _reasons(project) == {}


def test_an_item_reviewed_leaves_the_queue(project, reviewer, ranked):
    stats_refresh(project=project)
    review_decide(reviewer=reviewer, project=project, ranking_id=ranked["alice"].pk, action="accept")
    assert set(_reasons(project)) == {("ranking", ranked["bob"].pk)}

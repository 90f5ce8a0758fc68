"""Done when (issue 17): a bad labeler is planted, a reviewer rejects their rankings, and the next
reward run's input no longer holds them.

Four good labelers rank six tasks by the one true order (completion 0 best, 3 worst); one bad labeler
ranks every task reversed. The reviewer works from the review queue (every task has low agreement,
so the bad labeler's rankings are all in it) and rejects the bad labeler's rankings through the
service; the reward run's ``rankings.jsonl`` held them before and does not after, and the agreement
figures no longer count them.
"""
import json

from labeling.jobs.reward import run_rankings_write
from labeling.models import Membership, Ranking, Run, TaskAgreement
from labeling.selectors.review import review_queue
from labeling.services.review import review_decide
from labeling.services.stats import stats_refresh
from tests.labeling.review_world import member, project, project_task, rank, reviewer  # noqa: F401

TRUE_ORDER = [0, 1, 2, 3]


def _reward_input(project) -> list[dict]:
    run = Run.objects.create(project=project, kind=Run.Kind.TRAIN_REWARD)
    _rankings, path = run_rankings_write(run)
    with open(path) as lines:
        return [json.loads(line) for line in lines]


def test_the_next_reward_run_no_longer_reads_a_rejected_bad_labeler(project, reviewer, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    good = [member(project, f"good{i}", Membership.Role.LABELER) for i in range(4)]
    bad = member(project, "mallory", Membership.Role.LABELER)
    tasks = [project_task(project, prompt_text=f"Question {i}") for i in range(6)]
    for task in tasks:
        for user in good:
            rank(task, user, TRUE_ORDER)
        rank(task, bad, TRUE_ORDER[::-1])
    stats_refresh(project=project)

    before = _reward_input(project)
    assert sum(r["labeler"] == "mallory" for r in before) == 6
    assert {tuple(map(tuple, r["ranking"])) for r in before if r["labeler"] == "mallory"} == {((3,), (2,), (1,), (0,))}

    queued = [item for item in review_queue(project=project) if item["labeler"] == "mallory"]
    assert len(queued) == 6 and all(any("agreement" in why for why in item["reasons"]) for item in queued)
    for item in queued:
        review_decide(reviewer=reviewer, project=project, ranking_id=item["id"], action="reject",
                      reason="ranks every task in reverse")

    after = _reward_input(project)
    assert [r for r in after if r["labeler"] == "mallory"] == []
    assert len(after) == 24 and {r["labeler"] for r in after} == {u.username for u in good}
    assert Ranking.objects.filter(labeler=bad, review_status="rejected").count() == 6
    assert set(TaskAgreement.objects.filter(task__in=tasks).values_list("share", flat=True)) == {1.0}
    assert not any(item["labeler"] == "mallory" for item in review_queue(project=project))

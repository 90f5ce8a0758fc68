from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.errors import RejectedInput
from labeling.models import Assignment, Ranking
from labeling.services.assignment import task_assign_next
from labeling.services.ranking import ranking_submit


@pytest.fixture
def leased(labeler, task_factory):
    task = task_factory(k=4)
    assignment = task_assign_next(labeler=labeler)
    ids = list(task.completions.values_list("pk", flat=True))
    return assignment, ids


def submit(labeler, assignment, **overrides):
    payload = {"tiers": [[cid] for cid in assignment.display_order], "submission_id": "sub-1"}
    payload.update(overrides)
    return ranking_submit(labeler=labeler, assignment_id=assignment.pk, **payload)


def test_stores_tiers_with_ties_scores_flags_and_the_display_order(labeler, leased):
    assignment, ids = leased
    result = submit(
        labeler,
        assignment,
        tiers=[[ids[2]], [ids[0], ids[3]], [ids[1]]],
        scores={str(ids[2]): 7, ids[1]: 1},
        flags={str(ids[1]): ["hallucination", "instruction"]},
        comment="  c1 and c4 are equally fine ",
        seconds=12.5,
    )
    ranking = Ranking.objects.get()
    assert result.created and result.ranking == ranking
    assert ranking.tiers == [[ids[2]], [ids[0], ids[3]], [ids[1]]]
    assert ranking.scores == {str(ids[2]): 7, str(ids[1]): 1}
    assert ranking.flags == {str(ids[1]): ["hallucination", "instruction"]}
    assert ranking.comment == "c1 and c4 are equally fine"
    assert ranking.display_order == assignment.display_order
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SUBMITTED


def test_a_replay_with_the_same_submission_id_returns_the_first_ranking(labeler, leased):
    assignment, _ = leased
    first = submit(labeler, assignment)
    again = submit(labeler, assignment)
    assert again.ranking == first.ranking and not again.created
    assert Ranking.objects.count() == 1


def test_a_replay_succeeds_even_after_the_lease_expired(labeler, leased):
    assignment, _ = leased
    submit(labeler, assignment)
    later = timezone.now() + timedelta(hours=2)
    assert not ranking_submit(
        labeler=labeler, assignment_id=assignment.pk, tiers=[], submission_id="sub-1", now=later
    ).created


def _rejections(ids, other_task_ids):
    a, b, c, d = ids
    return {
        "tiers not a list": dict(tiers="a>b"),
        "no tiers": dict(tiers=[]),
        "tier not a list": dict(tiers=[[a], b, [c], [d]]),
        "empty tier": dict(tiers=[[a], [], [b], [c, d]]),
        "unknown id": dict(tiers=[[a], [b], [c], [d], [999999]]),
        "id from another task": dict(tiers=[[a], [b], [c], [d, other_task_ids[0]]]),
        "id not a number": dict(tiers=[[a], [b], [c], ["d"]]),
        "boolean id": dict(tiers=[[a], [b], [c], [True]]),
        "duplicate id": dict(tiers=[[a], [b, a], [c], [d]]),
        "missing id": dict(tiers=[[a], [b], [c]]),
        "score above 7": dict(scores={str(a): 8}),
        "score below 1": dict(scores={str(a): 0}),
        "score not whole": dict(scores={str(a): 3.5}),
        "score for a foreign completion": dict(scores={str(other_task_ids[0]): 3}),
        "scores not a mapping": dict(scores=[3, 4]),
        "unknown flag": dict(flags={str(a): ["boring"]}),
        "flags not a list": dict(flags={str(a): "hallucination"}),
        "oversized comment": dict(comment="x" * 2001),
        "comment not text": dict(comment=["x"]),
        "negative seconds": dict(seconds=-1),
        "seconds not a number": dict(seconds="10"),
        "missing submission id": dict(submission_id=""),
    }


REJECTION_CASES = list(_rejections([1, 2, 3, 4], [5]).keys())


@pytest.mark.parametrize("case", REJECTION_CASES)
def test_bad_submissions_are_refused_with_a_message_and_write_nothing(case, labeler, leased, task_factory):
    assignment, ids = leased
    other = list(task_factory().completions.values_list("pk", flat=True))
    with pytest.raises(RejectedInput) as info:
        submit(labeler, assignment, **_rejections(ids, other)[case])
    assert info.value.status == 400 and info.value.message and info.value.field
    assert Ranking.objects.count() == 0
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ACTIVE


def test_an_expired_lease_is_refused(labeler, leased):
    assignment, _ = leased
    with pytest.raises(RejectedInput, match="expired") as info:
        ranking_submit(
            labeler=labeler,
            assignment_id=assignment.pk,
            tiers=[[cid] for cid in assignment.display_order],
            submission_id="s",
            now=timezone.now() + timedelta(minutes=31),
        )
    assert info.value.status == 409 and Ranking.objects.count() == 0


def test_another_labelers_lease_is_refused(other_labeler, leased):
    assignment, _ = leased
    with pytest.raises(RejectedInput, match="another labeler") as info:
        submit(other_labeler, assignment)
    assert info.value.status == 403 and Ranking.objects.count() == 0


def test_a_second_ranking_of_the_same_task_is_refused(labeler, leased):
    assignment, _ = leased
    submit(labeler, assignment)
    with pytest.raises(RejectedInput, match="already ranked") as info:
        submit(labeler, assignment, submission_id="a-different-submission")
    assert info.value.status == 409 and Ranking.objects.count() == 1


def test_an_unknown_assignment_is_refused(labeler, leased):
    with pytest.raises(RejectedInput) as info:
        ranking_submit(labeler=labeler, assignment_id=10**9, tiers=[[1]], submission_id="s")
    assert info.value.status == 404

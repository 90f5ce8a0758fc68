import pytest

from labeling.errors import RejectedInput
from labeling.models import Assignment, Skip
from labeling.services.assignment import task_assign_next
from labeling.services.ranking import task_skip


def test_a_skip_is_recorded_and_the_task_goes_to_someone_else(labeler, other_labeler, task_factory):
    task = task_factory(required_rankings=1)
    assignment = task_assign_next(labeler=labeler)
    skip = task_skip(labeler=labeler, assignment_id=assignment.pk, reason="expertise", note="medical")
    assert (skip.task, skip.reason, skip.note) == (task, "expertise", "medical")
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SKIPPED
    assert task_assign_next(labeler=other_labeler).task == task


def test_skipping_twice_is_harmless(labeler, task_factory):
    task_factory()
    assignment = task_assign_next(labeler=labeler)
    assert task_skip(labeler=labeler, assignment_id=assignment.pk, reason="other") == task_skip(
        labeler=labeler, assignment_id=assignment.pk, reason="other"
    )
    assert Skip.objects.count() == 1


@pytest.mark.parametrize("reason", [None, "", "bored"])
def test_a_skip_needs_a_known_reason(labeler, task_factory, reason):
    task_factory()
    assignment = task_assign_next(labeler=labeler)
    with pytest.raises(RejectedInput, match="reason"):
        task_skip(labeler=labeler, assignment_id=assignment.pk, reason=reason)
    assert Skip.objects.count() == 0


def test_another_labelers_lease_cannot_be_skipped(labeler, other_labeler, task_factory):
    task_factory()
    assignment = task_assign_next(labeler=labeler)
    with pytest.raises(RejectedInput) as info:
        task_skip(labeler=other_labeler, assignment_id=assignment.pk, reason="other")
    assert info.value.status == 403 and Skip.objects.count() == 0

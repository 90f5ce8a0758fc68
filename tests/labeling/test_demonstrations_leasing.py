"""demonstration_assign_next and demonstration_skip: overlap, expiry, projects, what is never given twice."""
from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.errors import RejectedInput
from labeling.models import DemonstrationAssignment, Membership, Project
from labeling.services.demonstrations import demonstration_assign_next, demonstration_skip, demonstration_submit
from tests.factories import UserFactory
from tests.labeling.demonstration_helpers import default_project, make_demonstration_task


def test_overlap_two_gives_the_task_to_two_labelers_and_not_a_third(db):
    task = make_demonstration_task(required=2)
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    assert demonstration_assign_next(labeler=a).task == task
    assert demonstration_assign_next(labeler=b).task == task
    assert demonstration_assign_next(labeler=c) is None
    assert DemonstrationAssignment.objects.filter(task=task).count() == 2


def test_written_demonstrations_count_against_the_overlap(db):
    task = make_demonstration_task(required=1)
    a, b = UserFactory(), UserFactory()
    lease = demonstration_assign_next(labeler=a)
    demonstration_submit(labeler=a, assignment_id=lease.pk, submission_id="s1", text="An answer.")
    assert demonstration_assign_next(labeler=b) is None
    assert demonstration_assign_next(labeler=a) is None  # written: never again to its writer
    assert task.demonstrations.count() == 1


def test_returns_the_labelers_live_lease(labeler):
    make_demonstration_task(), make_demonstration_task()
    first = demonstration_assign_next(labeler=labeler)
    assert demonstration_assign_next(labeler=labeler) == first


def test_oldest_task_first(labeler):
    first, _second = make_demonstration_task(), make_demonstration_task()
    assert demonstration_assign_next(labeler=labeler).task == first


def test_an_expired_lease_goes_to_someone_else(labeler, other_labeler):
    task = make_demonstration_task(required=1)
    now = timezone.now()
    demonstration_assign_next(labeler=labeler, now=now)
    assert demonstration_assign_next(labeler=other_labeler, now=now) is None
    later = now + timedelta(hours=3)
    assert demonstration_assign_next(labeler=other_labeler, now=later).task == task


def test_an_expired_lease_is_renewed_for_its_labeler(labeler):
    make_demonstration_task()
    now = timezone.now()
    lease = demonstration_assign_next(labeler=labeler, now=now)
    later = now + timedelta(hours=3)
    renewed = demonstration_assign_next(labeler=labeler, now=later)
    assert renewed.pk == lease.pk and renewed.expires_at > later
    assert DemonstrationAssignment.objects.count() == 1


def test_the_lease_lasts_the_projects_lease_minutes(labeler):
    task = make_demonstration_task()
    Project.objects.filter(pk=task.prompt.project_id).update(lease_minutes=7)
    now = timezone.now()
    assert demonstration_assign_next(labeler=labeler, now=now).expires_at == now + timedelta(minutes=7)


def test_only_projects_the_labeler_labels_in(labeler):
    closed = Project.objects.create(slug="closed", name="Closed")
    task = make_demonstration_task(project=closed)
    assert demonstration_assign_next(labeler=labeler) is None
    Membership.objects.create(project=closed, user=labeler)
    assert demonstration_assign_next(labeler=labeler).task == task


def test_project_narrows_the_lease(labeler):
    other = Project.objects.create(slug="other", name="Other", open_to_all=True)
    make_demonstration_task()
    mine = make_demonstration_task(project=other)
    assert demonstration_assign_next(labeler=labeler, project=other).task == mine


def test_a_skipped_task_is_not_given_again_and_goes_to_another(labeler, other_labeler):
    task = make_demonstration_task(required=1)
    lease = demonstration_assign_next(labeler=labeler)
    skipped = demonstration_skip(labeler=labeler, assignment_id=lease.pk, reason="Not my field")
    assert skipped.status == DemonstrationAssignment.Status.SKIPPED
    assert demonstration_skip(labeler=labeler, assignment_id=lease.pk).pk == lease.pk  # again: the same
    assert demonstration_assign_next(labeler=labeler) is None
    assert demonstration_assign_next(labeler=other_labeler).task == task


def test_skip_refusals(labeler, other_labeler):
    make_demonstration_task()
    lease = demonstration_assign_next(labeler=labeler)
    with pytest.raises(RejectedInput) as refused:
        demonstration_skip(labeler=other_labeler, assignment_id=lease.pk)
    assert refused.value.status == 403
    with pytest.raises(RejectedInput) as refused:
        demonstration_skip(labeler=labeler, assignment_id=lease.pk + 1000)
    assert refused.value.status == 404
    with pytest.raises(RejectedInput) as refused:
        demonstration_skip(labeler=labeler, assignment_id=lease.pk, reason=["not", "text"])
    assert refused.value.field == "reason"
    demonstration_submit(labeler=labeler, assignment_id=lease.pk, submission_id="s", text="Done.")
    with pytest.raises(RejectedInput) as refused:
        demonstration_skip(labeler=labeler, assignment_id=lease.pk)
    assert refused.value.status == 409
    assert DemonstrationAssignment.objects.get(pk=lease.pk).status == "submitted"


def test_skip_of_an_expired_lease_is_refused(labeler):
    make_demonstration_task()
    now = timezone.now()
    lease = demonstration_assign_next(labeler=labeler, now=now)
    with pytest.raises(RejectedInput) as refused:
        demonstration_skip(labeler=labeler, assignment_id=lease.pk, now=now + timedelta(hours=3))
    assert refused.value.status == 409
    assert DemonstrationAssignment.objects.get(pk=lease.pk).status == "active"


def test_a_paused_labeler_gets_nothing_of_that_project(labeler, other_labeler):
    from labeling.models import LabelerPause

    paused_in = Project.objects.create(slug="paused", name="Paused", open_to_all=True)
    held = make_demonstration_task(project=paused_in)
    lease = demonstration_assign_next(labeler=labeler, project=paused_in)
    make_demonstration_task(project=paused_in)
    elsewhere = make_demonstration_task()
    LabelerPause.objects.create(project=paused_in, labeler=labeler, reason="Gold accuracy 40 % after 5 gold tasks.")
    assert lease.task == held
    assert demonstration_assign_next(labeler=labeler, project=paused_in) is None  # not even their live lease
    assert demonstration_assign_next(labeler=labeler).task == elsewhere
    assert demonstration_assign_next(labeler=other_labeler, project=paused_in) is not None


def test_open_counts_per_project(labeler, other_labeler):
    from labeling.selectors.demonstration_tasks import demonstration_open_counts

    other = Project.objects.create(slug="other", name="Other", open_to_all=True)
    make_demonstration_task(), make_demonstration_task(), make_demonstration_task(project=other)
    demonstration_assign_next(labeler=other_labeler)  # holds the oldest default task (required 1)
    counts = demonstration_open_counts(labeler=labeler, now=timezone.now())
    assert counts == {other.pk: 1, default_project().pk: 1}

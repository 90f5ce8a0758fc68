"""demonstration_submit: idempotent, length limits, whose lease, expiry; and making tasks."""
from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.errors import RejectedInput
from labeling.models import Completion, Demonstration, DemonstrationAssignment, DemonstrationTask, Project, Ranking
from labeling.services.demonstrations import (demonstration_assign_next, demonstration_submit,
                                              demonstration_tasks_create, rewrite_tasks_create)
from tests.labeling.demonstration_helpers import default_project, make_demonstration_task


@pytest.fixture
def lease(labeler):
    make_demonstration_task()
    return demonstration_assign_next(labeler=labeler)


def test_submit_stores_the_stripped_text_and_ends_the_lease(labeler, lease):
    demonstration, created = demonstration_submit(labeler=labeler, assignment_id=lease.pk, submission_id="s1",
                                                  text="  An **answer**.\n", seconds=12.5)
    assert created and demonstration.text == "An **answer**." and demonstration.seconds == 12.5
    assert DemonstrationAssignment.objects.get(pk=lease.pk).status == "submitted"


def test_the_same_submission_again_returns_the_stored_one(labeler, lease):
    first, _ = demonstration_submit(labeler=labeler, assignment_id=lease.pk, submission_id="s1", text="One.")
    again, created = demonstration_submit(labeler=labeler, assignment_id=lease.pk, submission_id="s1", text="One.")
    assert again.pk == first.pk and not created
    assert Demonstration.objects.count() == 1


def test_a_different_submission_for_the_same_task_is_409(labeler, lease):
    demonstration_submit(labeler=labeler, assignment_id=lease.pk, submission_id="s1", text="One.")
    with pytest.raises(RejectedInput) as refused:
        demonstration_submit(labeler=labeler, assignment_id=lease.pk, submission_id="s2", text="Two.")
    assert refused.value.status == 409
    assert list(Demonstration.objects.values_list("text", flat=True)) == ["One."]


@pytest.mark.parametrize("text, words", [("   ", "at least 5"), ("abc", "at least 5"), ("x" * 11, "limit is 10"),
                                         (None, "must be a string"), ("a\x00bcdef", "cannot be stored")])
def test_text_outside_the_projects_limits_is_400_and_stores_nothing(labeler, lease, text, words):
    Project.objects.filter(pk=lease.task.prompt.project_id).update(demonstration_min_chars=5,
                                                                   demonstration_max_chars=10)
    with pytest.raises(RejectedInput) as refused:
        demonstration_submit(labeler=labeler, assignment_id=lease.pk, submission_id="s1", text=text)
    assert refused.value.status == 400 and refused.value.field == "text" and words in refused.value.message
    assert not Demonstration.objects.exists()
    assert DemonstrationAssignment.objects.get(pk=lease.pk).status == "active"


def test_limits_are_measured_on_the_stripped_text(labeler, lease):
    Project.objects.filter(pk=lease.task.prompt.project_id).update(demonstration_min_chars=5,
                                                                   demonstration_max_chars=10)
    demonstration, _ = demonstration_submit(labeler=labeler, assignment_id=lease.pk, submission_id="s1",
                                            text="\n\n  0123456789  \n")
    assert demonstration.text == "0123456789"


def test_another_labelers_lease_is_403_and_an_unknown_one_404(labeler, other_labeler, lease):
    with pytest.raises(RejectedInput) as refused:
        demonstration_submit(labeler=other_labeler, assignment_id=lease.pk, submission_id="s1", text="Mine.")
    assert refused.value.status == 403
    with pytest.raises(RejectedInput) as refused:
        demonstration_submit(labeler=labeler, assignment_id=lease.pk + 999, submission_id="s1", text="Mine.")
    assert refused.value.status == 404
    assert not Demonstration.objects.exists()


def test_an_expired_lease_is_409(labeler, lease):
    with pytest.raises(RejectedInput) as refused:
        demonstration_submit(labeler=labeler, assignment_id=lease.pk, submission_id="s1", text="Late.",
                             now=timezone.now() + timedelta(hours=3))
    assert refused.value.status == 409 and "expired" in refused.value.message
    assert not Demonstration.objects.exists()


@pytest.mark.parametrize("seconds, submission_id, field", [(-1, "s1", "seconds"), ("ten", "s1", "seconds"),
                                                           (None, "", "submission_id"), (None, 7, "submission_id")])
def test_bad_seconds_or_submission_id_are_400(labeler, lease, seconds, submission_id, field):
    with pytest.raises(RejectedInput) as refused:
        demonstration_submit(labeler=labeler, assignment_id=lease.pk, submission_id=submission_id, text="Fine.",
                             seconds=seconds)
    assert refused.value.field == field
    assert not Demonstration.objects.exists()


def test_tasks_from_prompt_values_and_rows(db):
    project = default_project()
    tasks = demonstration_tasks_create(project=project, prompts=["Say hi.", [{"role": "user", "content": "Hi?"}]],
                                       required=2, task_set="batch")
    assert [t.required_demonstrations for t in tasks] == [2, 2] and tasks[1].prompt.messages
    again = demonstration_tasks_create(project=project, prompts=[tasks[0].prompt])
    assert again[0].prompt == tasks[0].prompt and again[0].required_demonstrations == 1


@pytest.mark.parametrize("required", [0, 51, True, "2"])
def test_required_outside_1_to_50_is_refused(db, required):
    with pytest.raises(RejectedInput):
        demonstration_tasks_create(project=default_project(), prompts=["Say hi."], required=required)
    assert not DemonstrationTask.objects.exists()


def test_a_prompt_of_another_project_is_refused(db):
    other = Project.objects.create(slug="other", name="Other")
    task = make_demonstration_task(project=other)
    with pytest.raises(RejectedInput):
        demonstration_tasks_create(project=default_project(), prompts=[task.prompt])


def test_rewrite_tasks_start_from_the_best_ranked_completion(labeler, other_labeler, task_factory):
    ranked, unranked = task_factory(k=3), task_factory(k=3)
    a, b, c = ranked.completions.values_list("pk", flat=True)
    # mean tier positions: a (1 + 0) / 2 = 0.5, b (0 + 2) / 2 = 1, c (2 + 1) / 2 = 1.5; a rejected one is ignored
    Ranking.objects.create(task=ranked, labeler=labeler, tiers=[[b], [a], [c]], display_order=[], submission_id="1")
    Ranking.objects.create(task=ranked, labeler=other_labeler, tiers=[[a], [c], [b]], display_order=[],
                           submission_id="2")
    from tests.factories import UserFactory
    Ranking.objects.create(task=ranked, labeler=UserFactory(), tiers=[[c], [b], [a]], display_order=[],
                           submission_id="3", review_status="rejected")
    tasks = rewrite_tasks_create(project=default_project())
    assert len(tasks) == 1 and tasks[0].source_completion == Completion.objects.get(pk=a)
    assert tasks[0].prompt == ranked.prompt and tasks[0].is_rewrite
    assert rewrite_tasks_create(project=default_project()) == []  # already has its rewrite task
    assert not DemonstrationTask.objects.filter(prompt=unranked.prompt).exists()


def test_rewrite_follows_a_reviewers_correction(labeler, task_factory):
    task = task_factory(k=2)
    a, b = task.completions.values_list("pk", flat=True)
    Ranking.objects.create(task=task, labeler=labeler, tiers=[[a], [b]], display_order=[], submission_id="1",
                           review_status="corrected", corrected_tiers=[[b], [a]])
    assert rewrite_tasks_create(project=default_project(), task_ids=[task.pk])[0].source_completion_id == b

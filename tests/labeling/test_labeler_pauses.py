"""A labeler whose gold accuracy falls under the project's threshold after ``gold_min_tasks`` gold
tasks is paused there: no new tasks (page, API), a message saying why, shown to managers, who lift it."""
from html import escape

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling.errors import RejectedInput
from labeling.models import Assignment, Membership, Prompt, RankingTask
from labeling.review_models import LabelerPause
from labeling.selectors.pauses import gold_record, labeler_paused, paused_project_ids
from labeling.services.assignment import task_assign_next
from labeling.services.pauses import pause_lift
from labeling.services.ranking import ranking_submit
from labeling.services.stats import stats_catch_up
from tests.factories import make_task
from tests.labeling.test_honeypots import FixedDraw
from tests.labeling.project_people import labeler_a, manager_a, project_a, signed_in  # noqa: F401


def _task_in(project, **kwargs) -> RankingTask:
    task = make_task(**kwargs)
    Prompt.objects.filter(pk=task.prompt_id).update(project=project)
    return RankingTask.objects.get(pk=task.pk)


@pytest.fixture
def strict(project_a):
    """``helpful`` with a 70 % threshold after 3 gold tasks, every lease a honeypot while gold is left."""
    project_a.gold_min_accuracy, project_a.gold_min_tasks, project_a.gold_rate = 0.7, 3, 1.0
    project_a.save()
    return project_a


def _rank_gold(labeler, project, *, right: bool):
    """Lease the next task of ``project`` (a honeypot: the rate is 1) and rank it right or reversed."""
    lease = task_assign_next(labeler=labeler, project=project, rng=FixedDraw(0.0))
    assert lease.task.is_gold
    order = [tier[0] for tier in lease.task.gold_tiers]
    ranking_submit(labeler=labeler, assignment_id=lease.pk, tiers=[[c] for c in (order if right else order[::-1])],
                   submission_id=f"s-{lease.pk}")


def _gold_and_work(project, n_gold: int):
    for _ in range(n_gold):
        _task_in(project, k=3, gold_tiers=[[0], [1], [2]])
    for _ in range(3):
        _task_in(project, k=3, required_rankings=5)


def test_under_the_threshold_after_enough_gold_tasks_pauses_with_the_reason(strict, labeler_a):
    _gold_and_work(strict, 6)
    _rank_gold(labeler_a, strict, right=True)
    _rank_gold(labeler_a, strict, right=False)
    assert labeler_paused(labeler_a, strict) is None  # 1 of 2 right, but under gold_min_tasks
    _rank_gold(labeler_a, strict, right=False)
    pause = labeler_paused(labeler_a, strict)
    assert pause is not None and pause.gold_tasks == 3 and pause.gold_accuracy == pytest.approx(1 / 3)
    assert pause.reason == ("Your accuracy on quality-check tasks is 33% over 3 tasks, under this project's 70%. "
                            "A project manager has been told and can let you continue.")
    assert gold_record(labeler=labeler_a, project=strict).accuracy == pytest.approx(1 / 3)
    assert list(paused_project_ids(labeler_a).values_list("project", flat=True)) == [strict.pk]
    assert task_assign_next(labeler=labeler_a, project=strict, rng=FixedDraw(0.0)) is None
    assert task_assign_next(labeler=labeler_a, rng=FixedDraw(0.0)) is None  # nothing of helpful, any way asked


def test_at_the_threshold_or_without_one_nobody_is_paused(strict, labeler_a, other_labeler):
    _gold_and_work(strict, 8)
    Membership.objects.create(project=strict, user=other_labeler)
    for right in (True, True, True, False):  # 9 of 12 pairs: 75 %, over 70 %
        _rank_gold(labeler_a, strict, right=right)
    assert labeler_paused(labeler_a, strict) is None
    strict.gold_min_accuracy = None
    strict.save()
    for _ in range(4):
        _rank_gold(other_labeler, strict, right=False)
    assert not LabelerPause.objects.exists()


def test_a_paused_labeler_gets_other_projects_tasks_and_sees_why(strict, labeler_a, client):
    _gold_and_work(strict, 3)
    elsewhere = make_task(k=3)  # default, open to all
    for _ in range(3):
        _rank_gold(labeler_a, strict, right=False)
    reason = labeler_paused(labeler_a, strict).reason
    assert task_assign_next(labeler=labeler_a, rng=FixedDraw(0.0)).task == elsewhere
    client.force_login(labeler_a)
    page = client.get("/label/?project=helpful")
    assert page.status_code == 200 and escape(reason) in page.content.decode()
    stats_catch_up(project=strict)  # what the worker does soon after: the home's figures come from that cache
    home = client.get("/").content.decode()
    assert escape(reason) in home and 'data-paused="helpful"' in home
    assert "<dt>Gold accuracy</dt><dd>0.0%</dd>" in home  # the honeypots count in their own gold accuracy
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=labeler_a).key}")
    refused = api.get("/api/v1/tasks/next/?project=helpful")
    assert refused.status_code == 403 and refused.json()["error"] == {"message": reason, "field": "project"}
    assert api.get("/api/v1/tasks/next/").json()["task"]["id"] == elsewhere.pk  # the lease it already holds


def test_managers_see_the_pause_and_lift_it(strict, labeler_a, manager_a):
    _gold_and_work(strict, 9)
    for _ in range(3):
        _rank_gold(labeler_a, strict, right=False)
    manager = signed_in(manager_a)
    members = manager.get("/projects/helpful/members/").content.decode()
    assert 'data-paused="alice"' in members and "0% over 3 tasks" in members
    stats = manager.get("/stats/?project=helpful").content.decode()
    assert 'data-paused="alice"' in stats
    response = manager.post(f"/projects/helpful/pauses/{labeler_a.pk}/lift")
    assert response.status_code == 302
    pause = LabelerPause.objects.get()
    assert pause.lifted_by == manager_a and pause.lifted_at is not None
    assert labeler_paused(labeler_a, strict) is None
    assert 'data-paused="alice"' not in manager.get("/projects/helpful/members/").content.decode()
    # only gold rankings after the lift count: one more miss does not pause again, three do
    _rank_gold(labeler_a, strict, right=False)
    assert labeler_paused(labeler_a, strict) is None
    _rank_gold(labeler_a, strict, right=False), _rank_gold(labeler_a, strict, right=False)
    assert labeler_paused(labeler_a, strict).gold_tasks == 3


def test_a_labeler_cannot_lift_a_pause(strict, labeler_a):
    _gold_and_work(strict, 3)
    for _ in range(3):
        _rank_gold(labeler_a, strict, right=False)
    assert signed_in(labeler_a).post(f"/projects/helpful/pauses/{labeler_a.pk}/lift").status_code == 403
    with pytest.raises(RejectedInput) as refused:
        pause_lift(project=strict, labeler=labeler_a, by=labeler_a)
    assert refused.value.status == 403
    assert labeler_paused(labeler_a, strict) is not None


def test_lifting_where_nobody_is_paused_is_refused(strict, labeler_a, manager_a):
    with pytest.raises(RejectedInput) as refused:
        pause_lift(project=strict, labeler=labeler_a, by=manager_a)
    assert refused.value.status == 404
    manager = signed_in(manager_a)
    assert manager.post(f"/projects/helpful/pauses/{labeler_a.pk}/lift").status_code == 404
    assert manager.post("/projects/helpful/pauses/999999/lift").status_code == 404
    assert manager.get(f"/projects/helpful/pauses/{labeler_a.pk}/lift").status_code == 405
    assert not Assignment.objects.exists()

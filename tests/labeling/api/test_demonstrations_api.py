"""GET /api/v1/demonstrations/next/, POST /api/v1/demonstrations/assignments/{id}/ and .../skip/."""
import json

import pytest
from rest_framework.renderers import JSONRenderer

from labeling.api.demonstration_serializers import NextDemonstrationSerializer
from labeling.api.views.demonstrations import demonstration_lease
from labeling.models import Demonstration, DemonstrationAssignment, Project, Ranking
from labeling.services.demonstrations import rewrite_tasks_create
from tests.labeling.api.conftest import assert_error
from tests.labeling.demonstration_helpers import default_project, make_demonstration_task

NEXT = "/api/v1/demonstrations/next/"


def submit_url(assignment_id):
    return f"/api/v1/demonstrations/assignments/{assignment_id}/"


def test_next_leases_a_write_task_with_its_limits(api, labeler):
    task = make_demonstration_task(prompt_text="Say hi.")
    body = api(labeler).get(NEXT).json()["assignment"]
    lease = DemonstrationAssignment.objects.get(labeler=labeler)
    assert body["assignment_id"] == lease.pk and body["task_id"] == task.pk and body["kind"] == "write"
    assert body["prompt"] == "Say hi." and body["source_completion"] is None and body["messages"] is None
    assert body["limits"] == {"min_chars": 1, "max_chars": 8000} and body["project"]["slug"] == "default"
    assert api(labeler).get(NEXT).json()["assignment"]["assignment_id"] == lease.pk


def test_next_sends_a_rewrite_with_its_source_completion_as_its_schema_renders(api, labeler, other_labeler,
                                                                             task_factory):
    task = task_factory(k=2, texts=["best", "worst"])
    best, worst = task.completions.order_by("pk").values_list("pk", flat=True)
    Ranking.objects.create(task=task, labeler=other_labeler, tiers=[[best], [worst]], display_order=[],
                           submission_id="r")
    rewrite_tasks_create(project=default_project())
    sent = api(labeler).get(NEXT).json()
    assert sent["assignment"]["kind"] == "rewrite" and sent["assignment"]["source_completion"] == {"id": best,
                                                                                                  "text": "best"}
    lease = DemonstrationAssignment.objects.get(labeler=labeler)
    serialized = NextDemonstrationSerializer({"assignment": demonstration_lease(lease)}).data
    rendered = json.loads(JSONRenderer().render(serialized))
    assert sent == rendered


def test_next_with_nothing_left_is_null_and_an_unknown_project_404(api, labeler):
    assert api(labeler).get(NEXT).json() == {"assignment": None}
    assert_error(api(labeler).get(NEXT + "?project=nope"), 404, "project")
    assert api().get(NEXT).status_code == 401


def test_next_narrows_to_a_project(api, labeler):
    other = Project.objects.create(slug="other", name="Other", open_to_all=True)
    make_demonstration_task()
    mine = make_demonstration_task(project=other)
    assert api(labeler).get(NEXT + "?project=other").json()["assignment"]["task_id"] == mine.pk


def test_submit_replay_conflict(api, labeler):
    make_demonstration_task()
    lease_id = api(labeler).get(NEXT).json()["assignment"]["assignment_id"]
    payload = {"text": "Hello!", "submission_id": "s1", "seconds": 3}
    first = api(labeler).post(submit_url(lease_id), payload, format="json")
    again = api(labeler).post(submit_url(lease_id), payload, format="json")
    assert first.status_code == 201 and first.json()["created"] is True
    assert again.status_code == 200 and again.json()["created"] is False
    assert first.json()["demonstration_id"] == again.json()["demonstration_id"]
    conflict = api(labeler).post(submit_url(lease_id), {**payload, "submission_id": "s2"}, format="json")
    assert_error(conflict, 409, "task")
    assert Demonstration.objects.count() == 1


def test_submit_without_a_submission_id_gets_one(api, labeler):
    make_demonstration_task()
    lease_id = api(labeler).get(NEXT).json()["assignment"]["assignment_id"]
    assert api(labeler).post(submit_url(lease_id), {"text": "Hi!"}, format="json").status_code == 201
    assert Demonstration.objects.get().submission_id.startswith("api-")


@pytest.mark.parametrize("text", ["ab", "x" * 7, "   ", None])
def test_text_outside_the_limits_is_400(api, labeler, text):
    task = make_demonstration_task()
    Project.objects.filter(pk=task.prompt.project_id).update(demonstration_min_chars=3, demonstration_max_chars=6)
    lease_id = api(labeler).get(NEXT).json()["assignment"]["assignment_id"]
    assert_error(api(labeler).post(submit_url(lease_id), {"text": text, "submission_id": "s"}, format="json"),
                 400, "text")
    assert not Demonstration.objects.exists()


def test_another_labelers_lease_is_403_and_a_missing_one_404(api, labeler, other_labeler, admin):
    make_demonstration_task()
    lease_id = api(labeler).get(NEXT).json()["assignment"]["assignment_id"]
    for user in (other_labeler, admin):
        assert_error(api(user).post(submit_url(lease_id), {"text": "Mine", "submission_id": "s"}, format="json"),
                     403, "assignment")
        assert_error(api(user).post(submit_url(lease_id) + "skip/", {}, format="json"), 403, "assignment")
    assert_error(api(labeler).post(submit_url(lease_id + 50), {"text": "Hi", "submission_id": "s"}, format="json"),
                 404, "assignment")
    assert not Demonstration.objects.exists()


def test_skip_then_submit_is_409(api, labeler):
    make_demonstration_task()
    lease_id = api(labeler).get(NEXT).json()["assignment"]["assignment_id"]
    skipped = api(labeler).post(submit_url(lease_id) + "skip/", {"reason": "unclear"}, format="json")
    assert skipped.status_code == 201 and skipped.json() == {"assignment_id": lease_id, "status": "skipped"}
    assert_error(api(labeler).post(submit_url(lease_id), {"text": "Hi", "submission_id": "s"}, format="json"),
                 409, "assignment", "skipped")


def test_the_schema_documents_the_three_calls(api, admin):
    paths = api(admin).get("/api/v1/schema/?format=json").json()["paths"]
    assert {"get"} <= set(paths["/api/v1/demonstrations/next/"])
    assert "post" in paths["/api/v1/demonstrations/assignments/{assignment_id}/"]
    assert "post" in paths["/api/v1/demonstrations/assignments/{assignment_id}/skip/"]

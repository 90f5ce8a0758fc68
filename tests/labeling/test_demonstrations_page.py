"""The /write/ editor and its calls through Django's test client; the home's Write button; the
managers' download and rewrite button."""
import json

import pytest
from django.urls import reverse

from labeling.models import Demonstration, DemonstrationAssignment, Membership, Project, Ranking
from labeling.services.demonstrations import demonstration_assign_next, rewrite_tasks_create
from tests.labeling.demonstration_helpers import default_project, make_demonstration_task

XSS = "<script>alert(1)</script>"


def post_json(client, url, payload):
    return client.post(url, data=json.dumps(payload), content_type="application/json")


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("write"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert post_json(client, reverse("write-preview"), {"text": "x"}).status_code == 401


def test_the_page_shows_the_prompt_escaped_and_an_empty_editor(labeler, labeler_client):
    make_demonstration_task(prompt_text=f"Explain {XSS}")
    response = labeler_client.get(reverse("write"))
    body = response.content.decode()
    lease = DemonstrationAssignment.objects.get(labeler=labeler)
    assert response.status_code == 200 and XSS not in body and "&lt;script&gt;" in body
    assert f'data-assignment-id="{lease.pk}"' in body and 'id="writer-text"' in body
    assert "Write the response" in body and "<script>" not in body.replace("<script src=", "")


def test_a_rewrite_prefills_the_editor_with_the_best_completion(labeler, other_labeler, labeler_client, task_factory):
    task = task_factory(k=2, texts=["The best answer", "A worse one"])
    best, worse = task.completions.order_by("pk").values_list("pk", flat=True)
    Ranking.objects.create(task=task, labeler=other_labeler, tiers=[[best], [worse]], display_order=[],
                           submission_id="r")
    rewrite_tasks_create(project=default_project())
    body = labeler_client.get(reverse("write")).content.decode()
    assert "Rewrite the response" in body
    assert 'aria-describedby="writer-count">\nThe best answer</textarea>' in body
    assert 'id="source-text"' in body


def test_submit_replay_and_conflict_through_the_page(labeler, labeler_client):
    make_demonstration_task()
    lease = demonstration_assign_next(labeler=labeler)
    url = reverse("write-submit", args=[lease.pk])
    payload = {"text": "My answer.", "submission_id": "abc", "seconds": 30}
    first, again = post_json(labeler_client, url, payload), post_json(labeler_client, url, payload)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json() == again.json() and first.json()["next_url"] == reverse("write")
    conflict = post_json(labeler_client, url, {**payload, "submission_id": "other"})
    assert conflict.status_code == 409 and conflict.json()["field"] == "task"
    assert Demonstration.objects.get().seconds == 30


def test_too_short_and_too_long_are_400_with_the_message(labeler, labeler_client):
    task = make_demonstration_task()
    Project.objects.filter(pk=task.prompt.project_id).update(demonstration_min_chars=3, demonstration_max_chars=6)
    lease = demonstration_assign_next(labeler=labeler)
    url = reverse("write-submit", args=[lease.pk])
    for text in ("ab", "abcdefg"):
        response = post_json(labeler_client, url, {"text": text, "submission_id": "s"})
        assert response.status_code == 400 and response.json()["field"] == "text"
    assert not Demonstration.objects.exists()


def test_another_labelers_lease_is_refused_on_the_page(labeler, other_labeler, client):
    make_demonstration_task()
    lease = demonstration_assign_next(labeler=labeler)
    client.force_login(other_labeler)
    assert post_json(client, reverse("write-submit", args=[lease.pk]), {"text": "Hi!", "submission_id": "s"}
                     ).status_code == 403
    assert post_json(client, reverse("write-skip", args=[lease.pk]), {}).status_code == 403
    assert post_json(client, reverse("write-submit", args=[lease.pk + 99]), {"text": "Hi!", "submission_id": "s"}
                     ).status_code == 404
    assert not Demonstration.objects.exists()


def test_skip_then_the_empty_state(labeler, labeler_client):
    make_demonstration_task()
    lease = demonstration_assign_next(labeler=labeler)
    response = post_json(labeler_client, reverse("write-skip", args=[lease.pk]), {"reason": "No idea"})
    assert response.status_code == 201 and response.json()["next_url"] == reverse("write")
    empty = labeler_client.get(reverse("write"))
    assert "labeling/write_empty.html" in [t.name for t in empty.templates]
    assert "Nothing to write right now" in empty.content.decode()


def test_preview_is_the_servers_sanitised_markdown(labeler_client):
    response = post_json(labeler_client, reverse("write-preview"), {"text": f"**bold** {XSS} [x](javascript:alert(1))"})
    html = response.json()["html"]
    assert response.status_code == 200 and "<strong>bold</strong>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "href=" not in html
    assert post_json(labeler_client, reverse("write-preview"), {"text": 5}).status_code == 400


def test_project_choice_narrows_the_page(labeler, labeler_client):
    other = Project.objects.create(slug="other", name="Other", open_to_all=True)
    make_demonstration_task()
    mine = make_demonstration_task(project=other)
    assert labeler_client.get(reverse("write") + "?project=other").status_code == 200
    assert DemonstrationAssignment.objects.get(labeler=labeler).task == mine
    assert labeler_client.get(reverse("write") + "?project=nope").status_code == 404


def test_home_shows_a_write_button_with_the_open_count(labeler, labeler_client):
    make_demonstration_task(), make_demonstration_task()
    body = labeler_client.get(reverse("home")).content.decode()
    assert f'href="{reverse("write")}?project=default">Write (2 open)</a>' in body


@pytest.fixture
def written(labeler):
    task = make_demonstration_task(prompt_text="Say hi.")
    Demonstration.objects.create(task=task, labeler=labeler, text="Hi!", submission_id="a")
    Demonstration.objects.create(task=make_demonstration_task(prompt_text="Say no."), labeler=labeler, text="No.",
                                 submission_id="b", review_status="rejected")
    return task


def test_managers_download_the_projects_demonstrations(written, admin, client):
    client.force_login(admin)
    url = reverse("project-demonstrations-download", args=["default"])
    lines = [json.loads(line) for line in b"".join(client.get(url).streaming_content).decode().splitlines()]
    assert [(r["prompt"], r["completion"]) for r in lines] == [("Say hi.", "Hi!")]
    with_rejected = b"".join(client.get(url + "?include_rejected=1").streaming_content).decode().splitlines()
    assert len(with_rejected) == 2


def test_labelers_cannot_download_or_make_rewrites(written, labeler_client, other_labeler):
    assert labeler_client.get(reverse("project-demonstrations-download", args=["default"])).status_code == 403
    assert labeler_client.post(reverse("project-rewrite-tasks", args=["default"])).status_code == 403
    closed = Project.objects.create(slug="closed", name="Closed")
    Membership.objects.create(project=closed, user=other_labeler, role="manager")
    assert labeler_client.get(reverse("project-demonstrations-download", args=["closed"])).status_code == 404


def test_managers_make_rewrite_tasks_from_the_settings_page(admin, client, labeler, task_factory):
    task = task_factory(k=2)
    tiers = [[c] for c in task.completions.values_list("pk", flat=True)]
    Ranking.objects.create(task=task, labeler=labeler, tiers=tiers,
                           display_order=[], submission_id="r")
    client.force_login(admin)
    assert 'id="demonstrations"' in client.get(reverse("project-settings", args=["default"])).content.decode()
    response = client.post(reverse("project-rewrite-tasks", args=["default"]))
    assert response.status_code == 302 and task.prompt.demonstration_tasks.get().is_rewrite


def test_a_paused_labeler_is_told_why_on_the_page_and_in_the_api(labeler, labeler_client):
    from rest_framework.test import APIClient

    from labeling.models import LabelerPause

    make_demonstration_task()
    LabelerPause.objects.create(project=default_project(), labeler=labeler, reason="Gold accuracy 40 %.")
    body = labeler_client.get(reverse("write") + "?project=default").content.decode()
    assert 'data-paused="default"' in body and "Gold accuracy 40 %." in body
    api = APIClient()
    api.force_authenticate(labeler)
    response = api.get("/api/v1/demonstrations/next/?project=default")
    assert response.status_code == 403 and response.json()["error"]["message"] == "Gold accuracy 40 %."
    assert not DemonstrationAssignment.objects.exists()

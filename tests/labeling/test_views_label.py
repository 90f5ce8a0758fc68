import json

import pytest
from django.test import Client
from django.urls import reverse

from labeling.models import Ranking, Skip
from labeling.services.assignment import task_assign_next

XSS = "<script>alert(1)</script>"


def post_json(client, url, payload):
    return client.post(url, data=json.dumps(payload), content_type="application/json")


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(reverse("label"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_page_shows_the_task_with_untrusted_text_escaped(labeler_client, task_factory):
    task_factory(prompt_text=f"Prompt {XSS}", texts=[XSS, "plain", "a < b & c", "fine"])
    response = labeler_client.get(reverse("label"))
    body = response.content.decode()
    assert response.status_code == 200
    assert XSS not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "a &lt; b &amp; c" in body


def test_with_nothing_left_the_page_says_so(labeler_client):
    response = labeler_client.get(reverse("label"))
    assert response.status_code == 200
    assert "labeling/label_empty.html" in [t.name for t in response.templates]


def test_submitting_through_the_page_endpoint_stores_the_ranking(labeler, labeler_client, task_factory):
    task_factory(k=3)
    assignment = task_assign_next(labeler=labeler)
    url = reverse("label-submit", args=[assignment.pk])
    payload = {"tiers": [[c] for c in assignment.display_order], "submission_id": "abc", "seconds": 4}
    first = post_json(labeler_client, url, payload)
    retry = post_json(labeler_client, url, payload)
    assert first.status_code == 201 and retry.status_code == 200
    assert first.json()["ranking_id"] == retry.json()["ranking_id"]
    assert first.json()["next_url"] == reverse("label")
    assert Ranking.objects.count() == 1


def test_a_bad_submission_gets_a_4xx_with_the_message_and_field(labeler, labeler_client, task_factory):
    task_factory(k=3)
    assignment = task_assign_next(labeler=labeler)
    url = reverse("label-submit", args=[assignment.pk])
    response = post_json(labeler_client, url, {"tiers": [[assignment.display_order[0]]], "submission_id": "x"})
    assert response.status_code == 400
    assert response.json()["field"] == "tiers" and "missing" in response.json()["error"]
    assert Ranking.objects.count() == 0


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]"])
def test_a_malformed_body_is_refused(labeler, labeler_client, task_factory, body):
    task_factory()
    assignment = task_assign_next(labeler=labeler)
    response = labeler_client.post(reverse("label-submit", args=[assignment.pk]), data=body, content_type="application/json")
    assert response.status_code == 400 and response.json()["field"] == "body"


def test_another_labeler_cannot_submit_or_skip_my_task(labeler, other_labeler, task_factory):
    task_factory()
    assignment = task_assign_next(labeler=labeler)
    client = Client()
    client.force_login(other_labeler)
    submit = post_json(client, reverse("label-submit", args=[assignment.pk]), {"tiers": [], "submission_id": "x"})
    skip = post_json(client, reverse("label-skip", args=[assignment.pk]), {"reason": "other"})
    assert submit.status_code == 403 and skip.status_code == 403
    assert Ranking.objects.count() == 0 and Skip.objects.count() == 0


def test_anonymous_calls_get_401_json(client, labeler, task_factory):
    task_factory()
    assignment = task_assign_next(labeler=labeler)
    response = post_json(client, reverse("label-submit", args=[assignment.pk]), {})
    assert response.status_code == 401 and "error" in response.json()


def test_csrf_stays_on(labeler, task_factory):
    task_factory(k=2)
    assignment = task_assign_next(labeler=labeler)
    client = Client(enforce_csrf_checks=True)
    client.force_login(labeler)
    payload = {"tiers": [[c] for c in assignment.display_order], "submission_id": "abc"}
    response = post_json(client, reverse("label-submit", args=[assignment.pk]), payload)
    assert response.status_code == 403 and Ranking.objects.count() == 0


def test_skip_through_the_page_endpoint(labeler, labeler_client, task_factory):
    task_factory()
    assignment = task_assign_next(labeler=labeler)
    response = post_json(labeler_client, reverse("label-skip", args=[assignment.pk]), {"reason": "unclear"})
    assert response.status_code == 201 and Skip.objects.get().reason == "unclear"


def test_labelers_cannot_reach_the_admin(labeler_client):
    response = labeler_client.get("/admin/labeling/ranking/")
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_admin_pages_escape_untrusted_text(admin, client, task_factory):
    task = task_factory(prompt_text=XSS, texts=[XSS, "b"])
    client.force_login(admin)
    for url in ["/admin/labeling/rankingtask/", f"/admin/labeling/rankingtask/{task.pk}/change/",
                "/admin/labeling/completion/", "/admin/labeling/prompt/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert XSS not in response.content.decode(), url


def test_the_page_renders_prompt_and_completions_as_markdown_and_a_conversation_as_turns(
        labeler_client, task_factory):
    from labeling.models import Prompt

    task = task_factory(k=2, texts=["Use `sorted()`:\n\n```python\nsorted(xs)\n```", "- one\n- two"])
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Sort **this**"},
                {"role": "assistant", "content": "Which list?"}, {"role": "user", "content": "| a |\n|---|\n| 3 |"}]
    Prompt.objects.filter(pk=task.prompt_id).update(messages=messages, text="plain text of the conversation")
    response = labeler_client.get(reverse("label"))
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["prompt"].pk == task.prompt_id and response.context["prompt"].is_conversation
    prompt_area = body[body.index('id="prompt-text"'):body.index('id="labeler-alert"')]
    assert [role for role in ("System", "User", "Assistant") if f'<div class="turn-role">{role}</div>' in prompt_area] \
        == ["System", "User", "Assistant"]
    assert "<strong>this</strong>" in prompt_area and "<td>3</td>" in prompt_area
    assert "plain text of the conversation" not in body
    for completion in task.completions.all():
        assert f'<div class="card-text" id="card-{completion.pk}-text"><div class="text-view">' in body
    assert "<pre><code>sorted(xs)\n</code></pre>" in body and "<li>one</li>" in body
    assert body.count('class="raw-toggle"') == 4 + 2  # one per message, one per completion

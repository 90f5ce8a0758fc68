"""The Idempotency-Key header: a retried POST gets the first response and writes nothing more."""
import threading

import pytest
from django.db import connections
from django.urls import get_resolver

from labeling.models import IdempotencyKey, Prompt, Ranking
from tests.labeling.api.conftest import assert_error


def _post(client, url, body, key):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_gets_the_first_response_and_writes_one_ranking(api, labeler, leased):
    url, body = f"/api/v1/tasks/{leased.task_id}/ranking/", {"tiers": [leased.display_order]}  # no submission_id
    first = _post(api(labeler), url, body, "k-1")
    retry = _post(api(labeler), url, body, "k-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry["Idempotent-Replayed"] == "true"
    assert Ranking.objects.count() == 1 and IdempotencyKey.objects.get().response_status == 201
    # Without the key the service runs again, and refuses a second ranking: the replay above did not run it.
    assert api(labeler).post(url, body, format="json").status_code == 409


def test_the_same_key_with_another_body_is_422_and_changes_nothing(api, admin):
    assert _post(api(admin), "/api/v1/prompts/", [{"prompt": "a"}], "k").status_code == 201
    response = _post(api(admin), "/api/v1/prompts/", [{"prompt": "b"}], "k")
    assert_error(response, 422, "Idempotency-Key", "different request")
    assert list(Prompt.objects.values_list("text", flat=True)) == ["a"]


def test_a_key_is_scoped_to_its_user_and_path(api, admin, labeler, task_factory):
    assert _post(api(admin), "/api/v1/prompts/", [{"prompt": "a"}], "k").status_code == 201
    tasks = _post(api(admin), "/api/v1/tasks/", [{"prompt": "b", "completions": ["x", "y"]}], "k")
    assert tasks.status_code == 201 and "Idempotent-Replayed" not in tasks
    other_admin = type(admin).objects.create(username="carol", is_staff=True)
    assert _post(api(other_admin), "/api/v1/prompts/", [{"prompt": "a"}], "k").status_code == 201
    assert Prompt.objects.count() == 3


def test_a_refused_request_stores_nothing_so_a_corrected_retry_runs(api, labeler, leased):
    url = f"/api/v1/tasks/{leased.task_id}/ranking/"
    assert_error(_post(api(labeler), url, {"tiers": []}, "k"), 400, "tiers", "rank the completions")
    assert not IdempotencyKey.objects.exists()
    assert _post(api(labeler), url, {"tiers": [leased.display_order]}, "k").status_code == 201


@pytest.mark.parametrize("key", ["", "   ", "x" * 256])
def test_a_bad_key_is_refused(api, admin, key):
    assert_error(_post(api(admin), "/api/v1/prompts/", [{"prompt": "a"}], key), 400, "Idempotency-Key", "1 to 255")
    assert not Prompt.objects.exists()


def test_every_post_endpoint_honours_the_key():
    posts = []
    for pattern in get_resolver("labeling.api.urls").url_patterns:
        view = getattr(pattern.callback, "view_class", None)
        if view is not None and hasattr(view, "post") and pattern.name != "api-not-found":
            posts.append(pattern.name)
            assert getattr(view.post, "idempotent", False), f"{pattern.name}: post is not @idempotent"
    assert len(posts) == 11  # POST /api/v1/rounds/<id>/acknowledge/ the newest


@pytest.mark.django_db(transaction=True)
def test_two_identical_requests_at_once_write_once(api, labeler, task_factory):
    from labeling.services.assignment import task_assign_next

    task_factory(k=2)
    assignment = task_assign_next(labeler=labeler)
    url, body = f"/api/v1/tasks/{assignment.task_id}/ranking/", {"tiers": [assignment.display_order]}
    clients, barrier, responses = [api(labeler), api(labeler)], threading.Barrier(2), []

    def send(client):
        barrier.wait()
        try:
            responses.append(_post(client, url, body, "race"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r.status_code for r in responses) == [201, 201]
    assert responses[0].json() == responses[1].json() and Ranking.objects.count() == 1
    assert sum(r.has_header("Idempotent-Replayed") for r in responses) == 1

"""GET /api/v1/review/queue/ and POST /api/v1/rankings/<id>/review/ and /demonstrations/<id>/review/:
a project's reviewers; refusals in the API's error shape, changing nothing."""
import pytest

from labeling.models import Membership, ReviewDecision
from tests.labeling.api.conftest import assert_error
from tests.labeling.review_world import (  # noqa: F401
    completion_ids, demonstration, foreign_ranking, member, other_project, project, project_labeler, ranked, reviewer,
)


def _post(client, path: str, body: dict, project: str = "helpful"):
    return client.post(f"{path}?project={project}", body, format="json")


def test_the_queue_lists_items_with_reasons(api, project, reviewer, ranked):
    response = api(reviewer).get("/api/v1/review/queue/?project=helpful")
    assert response.status_code == 200
    items = {(item["kind"], item["id"]): item for item in response.json()}
    assert set(items) == {("ranking", ranked["alice"].pk), ("ranking", ranked["bob"].pk)}
    assert items["ranking", ranked["bob"].pk]["labeler"] == "bob"
    assert any(why.startswith("Low task agreement") for why in items["ranking", ranked["bob"].pk]["reasons"])


def test_a_reject_is_recorded(api, project, reviewer, ranked):
    response = _post(api(reviewer), f"/api/v1/rankings/{ranked['bob'].pk}/review/",
                     {"action": "reject", "reason": "careless"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["action"], body["reviewer"], body["ranking"], body["reason"]) == (
        "reject", "rita", ranked["bob"].pk, "careless")
    assert body["before"]["review_status"] == "" and body["after"]["review_status"] == "rejected"


def test_a_correction_takes_completion_ids(api, project, reviewer, ranked):
    a, b, c, d = completion_ids(ranked["task"])
    response = _post(api(reviewer), f"/api/v1/rankings/{ranked['alice'].pk}/review/",
                     {"action": "correct", "corrected_tiers": [[d], [c], [b], [a]]})
    assert response.status_code == 201
    ranked["alice"].refresh_from_db()
    assert ranked["alice"].final_tiers == [[d], [c], [b], [a]]


@pytest.mark.parametrize("body, field, words", [
    ({"action": "reject"}, "reason", "reason is required"),
    ({"action": "approve"}, "action", "choose an action"),
    ({"action": "correct", "corrected_tiers": "first"}, "corrected_tiers", "missing"),  # only its first completion
    ({"action": "correct"}, "corrected_tiers", "corrected order"),
])
def test_bad_bodies_are_refused(api, project, reviewer, ranked, body, field, words):
    if body.get("corrected_tiers") == "first":  # a real id of the task (ids differ between databases)
        body = {**body, "corrected_tiers": [[completion_ids(ranked["task"])[0]]]}
    response = _post(api(reviewer), f"/api/v1/rankings/{ranked['alice'].pk}/review/", body)
    assert_error(response, 400, field, words)
    assert not ReviewDecision.objects.exists()


def test_a_body_that_is_not_an_object_is_refused(api, project, reviewer, ranked):
    response = _post(api(reviewer), f"/api/v1/rankings/{ranked['alice'].pk}/review/", ["accept"])
    assert_error(response, 400, "body", "JSON object")


def test_a_ranking_of_another_project_is_404(api, project, reviewer, ranked, foreign_ranking):
    response = _post(api(reviewer), f"/api/v1/rankings/{foreign_ranking.pk}/review/", {"action": "accept"})
    assert_error(response, 404, "ranking", "no ranking")
    assert not ReviewDecision.objects.exists()


def test_a_labeler_is_403_and_a_stranger_404(api, project, project_labeler, other_project, ranked):
    for path in ("/api/v1/review/queue/?project=helpful",):
        assert_error(api(project_labeler).get(path), 403, None, "reviewer")
    response = _post(api(project_labeler), f"/api/v1/rankings/{ranked['bob'].pk}/review/", {"action": "accept"})
    assert_error(response, 403, None, "reviewer")
    stranger = member(other_project, "sam", Membership.Role.MANAGER)
    response = _post(api(stranger), f"/api/v1/rankings/{ranked['bob'].pk}/review/", {"action": "accept"})
    assert response.status_code == 404
    assert api().get("/api/v1/review/queue/").status_code == 401
    assert not ReviewDecision.objects.exists()


def test_a_demonstration_is_corrected(api, project, reviewer, project_labeler):
    demo = demonstration(project, project_labeler)
    response = _post(api(reviewer), f"/api/v1/demonstrations/{demo.pk}/review/",
                     {"action": "correct", "corrected_text": "A better answer."})
    assert response.status_code == 201
    assert response.json()["after"] == {"review_status": "corrected", "text": "A better answer."}
    response = _post(api(reviewer), f"/api/v1/demonstrations/{demo.pk}/review/",
                     {"action": "correct", "corrected_text": ""})
    assert_error(response, 400, "corrected_text", "characters long")


def test_the_endpoints_are_in_the_schema(api, admin):
    paths = api(admin).get("/api/v1/schema/?format=json").json()["paths"]
    assert "/api/v1/review/queue/" in paths
    assert "requestBody" in paths["/api/v1/rankings/{id}/review/"]["post"]
    assert "/api/v1/demonstrations/{id}/review/" in paths


def test_the_queue_filters_by_kind(api, project, reviewer, ranked, project_labeler):
    demo = demonstration(project, project_labeler)
    client = api(reviewer)
    items = client.get("/api/v1/review/queue/?project=helpful&kind=demonstration").json()
    assert [(item["kind"], item["id"]) for item in items] == [("demonstration", demo.pk)]
    assert {item["kind"] for item in client.get("/api/v1/review/queue/?project=helpful&kind=ranking").json()} == {
        "ranking"}
    assert_error(client.get("/api/v1/review/queue/?project=helpful&kind=task"), 400, "kind", "ranking or demonstration")

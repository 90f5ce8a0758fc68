"""GET /api/v1/tasks/next/, POST /api/v1/tasks/{id}/ranking/ and /skip/ for every persona."""
import pytest

from labeling.models import Assignment, Ranking, Skip
from tests.labeling.api.conftest import assert_error

NEXT = "/api/v1/tasks/next/"


def ranking_url(task_id):
    return f"/api/v1/tasks/{task_id}/ranking/"


def skip_url(task_id):
    return f"/api/v1/tasks/{task_id}/skip/"


def test_next_leases_a_task_with_the_completions_in_the_labelers_order(api, labeler, task_factory):
    task = task_factory(k=4, prompt_text="Name a fruit.")
    response = api(labeler).get(NEXT)
    assert response.status_code == 200
    body = response.json()["task"]
    assignment = Assignment.objects.get(task=task, labeler=labeler)
    assert body["id"] == task.pk and body["assignment_id"] == assignment.pk and body["prompt"] == "Name a fruit."
    assert [c["id"] for c in body["completions"]] == assignment.display_order
    assert {c["text"] for c in body["completions"]} == set(task.completions.values_list("text", flat=True))
    assert body["lease_expires_at"].startswith(assignment.expires_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert api(labeler).get(NEXT).json()["task"]["assignment_id"] == assignment.pk  # the same lease again


@pytest.mark.parametrize("conversation", [False, True])
def test_next_sends_exactly_what_its_schema_serializer_renders(api, labeler, task_factory, conversation):
    """The view sends its dict without NextTaskSerializer (too slow per request); the two must agree."""
    import json

    from rest_framework.renderers import JSONRenderer

    from labeling.api.serializers import NextTaskSerializer
    from labeling.api.views.labeler import _leased_task
    from labeling.models import Project, Prompt
    from labeling.services.prompts import prompt_fields

    task = task_factory(k=3, prompt_text="Name a fruit.")
    if conversation:
        Prompt.objects.filter(pk=task.prompt_id).update(**prompt_fields(
            [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "A fruit?"}]))
    Project.objects.filter(pk=task.prompt.project_id).update(instructions="Rank **best** first.", ask_scores=True)
    sent = api(labeler).get(NEXT).json()
    assignment = Assignment.objects.select_related("task__prompt__project").get(task=task, labeler=labeler)
    rendered = json.loads(JSONRenderer().render(NextTaskSerializer({"task": _leased_task(assignment)}).data))
    assert sent == rendered and sent["task"]["project"]["instructions_html"]
    assert (sent["task"]["messages"] is not None) == conversation


def test_next_with_nothing_left_is_200_with_task_null(api, labeler, admin):
    for user in (labeler, admin):
        response = api(user).get(NEXT)
        assert response.status_code == 200 and response.json() == {"task": None}


def test_a_labeler_ranks_the_leased_task(api, labeler, leased):
    order = leased.display_order
    payload = {"tiers": [[order[0]], [order[1], order[2]]], "scores": {str(order[0]): 7}, "flags":
               {str(order[2]): ["hallucination"]}, "comment": " fine ", "seconds": 12.5, "submission_id": "s1"}
    response = api(labeler).post(ranking_url(leased.task_id), payload, format="json")
    ranking = Ranking.objects.get()
    assert response.status_code == 201
    assert response.json() == {"ranking_id": ranking.pk, "task_id": leased.task_id, "created": True}
    assert ranking.tiers == payload["tiers"] and ranking.scores == {str(order[0]): 7} and ranking.comment == "fine"
    assert ranking.flags == {str(order[2]): ["hallucination"]} and ranking.seconds == 12.5
    assert ranking.display_order == order
    leased.refresh_from_db()
    assert leased.status == Assignment.Status.SUBMITTED
    again = api(labeler).post(ranking_url(leased.task_id), payload, format="json")  # same submission_id
    assert again.status_code == 200 and again.json()["created"] is False and Ranking.objects.count() == 1


def test_a_second_ranking_without_the_submission_id_is_refused(api, labeler, leased):
    payload = {"tiers": [leased.display_order]}
    assert api(labeler).post(ranking_url(leased.task_id), payload, format="json").status_code == 201
    assert_error(api(labeler).post(ranking_url(leased.task_id), payload, format="json"), 409, "task", "already ranked")
    assert Ranking.objects.count() == 1


def _tiers(leased):
    return [[cid] for cid in leased.display_order]


BAD_RANKINGS = [
    (lambda a: {"tiers": [[a.display_order[0]]]}, "tiers", "missing"),
    (lambda a: {"tiers": "best first"}, "tiers", "list of tiers"),
    (lambda a: {"tiers": [[a.display_order[0], a.display_order[0]], a.display_order[1:]]}, "tiers", "more than once"),
    (lambda a: {"tiers": _tiers(a) + [[999999]]}, "tiers", "not part of this task"),
    (lambda a: {"tiers": _tiers(a), "scores": {str(a.display_order[0]): 8}}, "scores", "1 to 7"),
    (lambda a: {"tiers": _tiers(a), "flags": {str(a.display_order[0]): ["rude"]}}, "flags", "unknown flag"),
    (lambda a: {"tiers": _tiers(a), "comment": "x" * 2001}, "comment", "limit"),
    (lambda a: {"tiers": _tiers(a), "seconds": -1}, "seconds", "between"),
    (lambda a: {"tiers": _tiers(a), "submission_id": ""}, "submission_id", "non-empty"),
    (lambda a: [1, 2], "body", "json object"),
]


@pytest.mark.parametrize("make_body, field, words", BAD_RANKINGS)
def test_a_bad_ranking_gets_the_error_shape_and_changes_nothing(api, labeler, leased, make_body, field, words):
    response = api(labeler).post(ranking_url(leased.task_id), make_body(leased), format="json")
    assert_error(response, 400, field, words)
    leased.refresh_from_db()
    assert not Ranking.objects.exists() and leased.status == Assignment.Status.ACTIVE


def test_a_body_that_is_not_json_is_refused(api, labeler, leased):
    response = api(labeler).post(ranking_url(leased.task_id), b"{not json", content_type="application/json")
    assert_error(response, 400, "body", "JSON parse error")
    form = api(labeler).post(ranking_url(leased.task_id), {"tiers": "1"}, format="multipart")
    assert_error(form, 415, "Content-Type", "unsupported media type")
    assert not Ranking.objects.exists()


def test_the_other_labeler_cannot_rank_or_skip_a_task_leased_to_the_labeler(api, other_labeler, leased):
    client = api(other_labeler)
    assert_error(client.post(ranking_url(leased.task_id), {"tiers": _tiers(leased)}, format="json"), 409, "task",
                 "no lease")
    assert_error(client.post(skip_url(leased.task_id), {"reason": "other"}, format="json"), 409, "task", "no lease")
    assert not Ranking.objects.exists() and not Skip.objects.exists()
    assert not Assignment.objects.filter(labeler=other_labeler).exists()


def test_an_unknown_task_is_404_and_an_expired_lease_409(api, labeler, leased):
    assert_error(api(labeler).post(ranking_url(10**12), {"tiers": []}, format="json"), 404, "task", "no such task")
    assert_error(api(labeler).post(ranking_url(10**19), {"tiers": []}, format="json"), 404, None, "no endpoint")
    Assignment.objects.filter(pk=leased.pk).update(expires_at="2000-01-01T00:00Z")
    assert_error(api(labeler).post(ranking_url(leased.task_id), {"tiers": _tiers(leased)}, format="json"), 409,
                 "assignment", "expired")
    assert not Ranking.objects.exists()


def test_a_labeler_skips_the_leased_task_and_gets_another(api, labeler, leased, task_factory):
    second = task_factory(k=2)
    response = api(labeler).post(skip_url(leased.task_id), {"reason": "unclear", "note": "?"}, format="json")
    skip = Skip.objects.get()
    assert response.status_code == 201 and response.json() == {"skip_id": skip.pk, "task_id": leased.task_id}
    assert skip.reason == "unclear" and skip.labeler == labeler
    assert api(labeler).get(NEXT).json()["task"]["id"] == second.pk
    assert_error(api(labeler).post(ranking_url(leased.task_id), {"tiers": _tiers(leased)}, format="json"), 409,
                 "assignment", "skipped")


def test_a_skip_without_a_valid_reason_is_refused(api, labeler, leased):
    assert_error(api(labeler).post(skip_url(leased.task_id), {"reason": "bored"}, format="json"), 400, "reason",
                 "reason")
    assert_error(api(labeler).post(skip_url(leased.task_id), {}, format="json"), 400, "reason", "reason")
    leased.refresh_from_db()
    assert not Skip.objects.exists() and leased.status == Assignment.Status.ACTIVE


@pytest.mark.parametrize("method, url", [("get", NEXT), ("post", ranking_url(1)), ("post", skip_url(1))])
def test_anonymous_callers_get_401(api, leased, method, url):
    response = getattr(api(), method)(url, {}, format="json")
    assert_error(response, 401, None, "credentials were not provided")
    assert response["WWW-Authenticate"] == "Token"
    assert not Ranking.objects.exists() and not Skip.objects.exists()

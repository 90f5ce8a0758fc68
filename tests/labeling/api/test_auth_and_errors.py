"""Token and session auth, the one error shape for DRF's own errors, the schema and the docs page."""
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from labeling.models import Ranking
from tests.labeling.api.conftest import assert_error


def test_drf_create_token_makes_a_token_that_authenticates(labeler, capsys):
    call_command("drf_create_token", "alice")
    key = Token.objects.get(user=labeler).key
    assert key in capsys.readouterr().out
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/tasks/next/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert_error(client.get("/api/v1/tasks/next/"), 401, None, "invalid token")


def test_session_auth_works_and_posts_need_the_csrf_token(labeler, leased):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(labeler)
    assert client.get("/api/v1/tasks/next/").json()["task"]["id"] == leased.task_id
    url, body = f"/api/v1/tasks/{leased.task_id}/ranking/", {"tiers": [leased.display_order]}
    assert_error(client.post(url, body, format="json"), 403, None, "CSRF")
    assert not Ranking.objects.exists()
    client.get("/accounts/login/")  # sets the csrftoken cookie
    response = client.post(url, body, format="json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 201 and Ranking.objects.count() == 1


def test_unknown_paths_and_methods_answer_in_the_error_shape(api, labeler):
    assert_error(api(labeler).get("/api/v1/nothing/here/"), 404, None, "no endpoint /api/v1/nothing/here/")
    assert_error(api().get("/api/v1/tasks/next"), 404, None, "did you mean /api/v1/tasks/next/")
    assert_error(api(labeler).get("/api/v1/tasks/1/ranking/"), 405, None, 'method "get" not allowed')
    response = api(labeler).post("/api/v1/tasks/next/")
    assert_error(response, 405, None, "not allowed") and response["Allow"] == "GET, HEAD, OPTIONS"


def test_the_schema_and_the_docs_page_are_served_without_a_cdn(client):
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/tasks/{task_id}/ranking/" in paths and "/api/v1/stats/" in paths
    assert not any(path.startswith("/api/v1/schema") for path in paths)
    page = client.get("/api/v1/docs/")
    html = page.content.decode()
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert 'fetch("../schema/?format=json"' in html and "https://" not in html and "http://" not in html


def test_text_the_database_cannot_store_is_a_400_naming_the_field(api, admin, labeler, leased):
    from labeling.models import Prompt

    url = f"/api/v1/tasks/{leased.task_id}/ranking/"
    surrogate = b'{"tiers": [[1]], "comment": "bad \\ud800"}'
    assert_error(api(labeler).post(url, surrogate, content_type="application/json"), 400, "comment", "surrogate")
    nul = b'[{"prompt": "ok", "metadata": {"k": ["\\u0000"]}}]'
    assert_error(api(admin).post("/api/v1/prompts/", nul, content_type="application/json"), 400, "0.metadata.k.0",
                 "NUL")
    assert_error(api(admin).get("/api/v1/rankings/?labeler=a%00b"), 400, "labeler", "without NUL")
    assert_error(api(admin).get("/api/v1/exports/pairs/?labeler=a%00b"), 400, "labeler", "without NUL")
    assert not Ranking.objects.exists() and Prompt.objects.count() == 1  # the leased task's

"""CSRF: a POST without the token is refused on every URL pattern of the project, for a logged-in
staff user (the most a forged request could do) and for a visitor (login CSRF), and changes nothing.

The URLs come from the access matrix (tests/security/test_access_matrix.py), which itself must cover
every pattern ``get_resolver()`` knows, so a new form or endpoint is checked here without a new row.
The API accepts token-authenticated calls without a CSRF token (no cookie rides along with them);
a session-authenticated API call needs one like any form.
"""
from __future__ import annotations

import json
import re

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from labeling.models import (Assignment, Demonstration, DemonstrationAssignment, Prompt, Ranking, RankingTask,
                             ReviewDecision, Run, Skip, TrainingRound)
from tests.security.conftest import World, ranking_body
from tests.security.test_access_matrix import ADMIN_OBJECTS, AUTH_USER, ROWS, _admin_model_rows

# The API's catch-all 404 answers before any state could change.
NOT_CSRF_PROTECTED = {"api/v1/^(?P<rest>.*)$": 404}
# A visitor has no session, so nothing to forge: the API asks for credentials (401), except its public
# read-only schema (405 to a POST) and docs page (a plain Django view: the CSRF middleware's 403).
ANONYMOUS_API = {"api/v1/schema/": 405, "api/v1/docs/": 403}


def snapshot() -> tuple:
    return (Ranking.objects.count(), Skip.objects.count(), Run.objects.count(), TrainingRound.objects.count(),
            Prompt.objects.count(), RankingTask.objects.count(), get_user_model().objects.count(),
            Token.objects.count(), sorted(Assignment.objects.values_list("pk", "status")),
            sorted(Run.objects.values_list("pk", "status", "cancel_requested")), Demonstration.objects.count(),
            sorted(DemonstrationAssignment.objects.values_list("pk", "status")), ReviewDecision.objects.count())


def _urls(world: World) -> dict[str, str]:
    urls = {route: row.url(world) for route, row in ROWS.items()}
    for route, (label, _screen) in _admin_model_rows().items():
        model = next(m for m in django_admin.site._registry if m._meta.label_lower == label)
        obj = world.admin if label == AUTH_USER else ADMIN_OBJECTS[model](world)
        urls[route] = "/" + re.sub(r"<(path:object_id|id)>", str(obj.pk), route)
    return urls


@pytest.mark.parametrize("persona", ["admin", "anonymous"])
def test_every_post_without_the_token_is_refused(world, persona):
    client = Client(enforce_csrf_checks=True)
    if persona == "admin":
        client.force_login(world.admin)
    wrong = {}
    for route, url in _urls(world).items():
        before = snapshot()
        body = json.dumps(ranking_body(world)) if "ranking" in route else "{}"
        response = client.post(url, data=body, content_type="application/json")
        expected = NOT_CSRF_PROTECTED.get(route, 403)
        if persona == "anonymous" and route.startswith("api/v1/") and expected == 403:
            expected = ANONYMOUS_API.get(route, 401)
        if response.status_code != expected or snapshot() != before:
            wrong[route] = response.status_code
        elif expected == 403:
            assert b"CSRF" in response.content, route
    assert not wrong, wrong


def _token_post(client: Client, page: str, url: str, data: dict, **extra):
    client.get(page)
    return client.post(url, data=json.dumps(data), content_type="application/json",
                       HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value, **extra)


def test_with_the_token_the_same_calls_go_through(world):
    """The refusals above are the CSRF check's: the same requests with the token succeed."""
    labeler = Client(enforce_csrf_checks=True)
    labeler.force_login(world.labeler)
    response = _token_post(labeler, "/label/", f"/label/assignments/{world.assignment.pk}/ranking",
                           ranking_body(world))
    assert response.status_code == 201
    admin = Client(enforce_csrf_checks=True)
    admin.force_login(world.admin)
    admin.get("/runs/")
    response = admin.post("/runs/bootstrap", {"csrfmiddlewaretoken": admin.cookies["csrftoken"].value})
    assert response.status_code == 302 and Run.objects.filter(kind=Run.Kind.BOOTSTRAP).exists()


def test_the_api_over_a_session_needs_the_token_but_a_token_call_does_not(world):
    session = Client(enforce_csrf_checks=True)
    session.force_login(world.labeler)
    url = f"/api/v1/tasks/{world.task.pk}/skip/"
    refused = session.post(url, data='{"reason": "other"}', content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    token = Token.objects.create(user=world.labeler)
    api = Client(enforce_csrf_checks=True)
    response = api.post(url, data='{"reason": "other"}', content_type="application/json",
                        HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 201 and Skip.objects.filter(labeler=world.labeler).exists()


def test_every_form_in_the_templates_carries_the_token():
    from pathlib import Path

    from django.conf import settings

    forms = 0
    for path in (Path(settings.BASE_DIR) / "templates").rglob("*.html"):
        for form in re.findall(r"<form\b[^>]*>.*?</form>", path.read_text(), re.S | re.I):
            if re.search(r'method="post"', form, re.I):
                forms += 1
                assert "{% csrf_token %}" in form, f"{path}: a POST form without {{% csrf_token %}}"
    assert forms >= 5

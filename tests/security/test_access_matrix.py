"""Who may reach what: every URL pattern of the project x anonymous / labeler / other labeler / admin.

The patterns are read from ``django.urls.get_resolver()``; a pattern without a row here fails
``test_every_url_pattern_has_a_row`` with its route, so no page or endpoint can be added unclassified.
Django admin screens are rows too: the site's own pages one by one, and for every registered model its
changelist, add, change, delete and history screens (a newly registered model needs an object in
``ADMIN_OBJECTS``). The labeler's own assignment and task ids are used for the other labeler, so
object-level access is checked, not just the login wall.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Callable

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import TokenProxy

from labeling.models import (Assignment, Completion, ModelVersion, Project, Prompt, Ranking, RankingTask, Run, Skip,
                             TrainingRound)
from labeling.models import ProjectInvite
from labeling.selectors.people import invite_token_hash
from labeling.services.demonstrations import demonstration_assign_next, demonstration_submit, demonstration_tasks_create
from tests.security.conftest import SCRIPT, World, ranking_body

PERSONAS = ("anonymous", "labeler", "other_labeler", "admin")
LOGIN = "login"  # a redirect to a login page (/accounts/login/ or /admin/login/)
HEALTH = frozenset({200, 503})  # public by design; 503 where this machine has no Redis or worker
STAFF_PAGE = (LOGIN, 403, 403, 200)
STAFF_POST = (LOGIN, 403, 403, 302)
STAFF_API = (401, 403, 403, 200)
ADMIN_ONLY = (LOGIN, LOGIN, LOGIN, 200)


@dataclass(frozen=True)
class Row:
    url: Callable[[World], str]
    expect: tuple  # per persona in PERSONAS: a status, a set of statuses, or LOGIN
    method: str = "get"
    body: Callable[[World], dict] | None = None


def _api(path: str) -> Callable[[World], str]:
    return lambda w: "/api/v1/" + path.format(w=w)


MATRIX_INVITE_TOKEN = "matrix-invite-token"


def _open_invite(w: World) -> ProjectInvite:
    """An open invite to the world's project whose token is known, for the invite rows."""
    from datetime import timedelta

    from django.utils import timezone

    invite, _ = ProjectInvite.objects.get_or_create(
        token_hash=invite_token_hash(MATRIX_INVITE_TOKEN),
        defaults={"project": w.task.prompt.project, "created_by": w.admin,
                  "expires_at": timezone.now() + timedelta(days=1)})
    return invite


def _project_page(rest: str) -> Callable[[World], str]:
    """A page of the world's project (``default``: its labelers are labelers there, not managers)."""
    return lambda w: f"/projects/{w.task.prompt.project.slug}/{rest.format(invite=_open_invite(w).pk)}"


def _paused_labeler_lift(w: World) -> str:
    """The lift of the labeler's pause in the world's project (paused again for each persona's try)."""
    from labeling.review_models import LabelerPause

    project = w.task.prompt.project
    LabelerPause.objects.get_or_create(project=project, labeler=w.labeler, lifted_at=None,
                                       defaults={"reason": "Paused by the matrix."})
    return f"/projects/{project.slug}/pauses/{w.labeler.pk}/lift"


def _member_training(w: World) -> str:
    """The training switch of the labeler's membership of the world's project (made a member first: the
    switch belongs to a membership)."""
    from labeling.models import Membership

    project = w.task.prompt.project
    Membership.objects.get_or_create(project=project, user=w.labeler)
    return f"/projects/{project.slug}/members/{w.labeler.pk}/training"


def _demonstration_lease(w: World):
    """The labeler's lease of a demonstration task of the world's project; the other labeler holds none.
    Looked up first, since the pause row pauses the labeler and the leasing service then gives nothing."""
    from labeling.models import DemonstrationAssignment

    project = w.task.prompt.project
    lease = DemonstrationAssignment.objects.filter(labeler=w.labeler, task__prompt__project=project).first()
    if lease is None:
        demonstration_tasks_create(project=project, prompts=[w.task.prompt])
        lease = demonstration_assign_next(labeler=w.labeler, project=project)
    return lease


def _demonstration(w: World):
    """evil's demonstration of a task of the world's project, written through the service, for the review rows."""
    project = w.task.prompt.project
    demonstration_tasks_create(project=project, prompts=[w.task.prompt])
    lease = demonstration_assign_next(labeler=w.evil, project=project)
    return demonstration_submit(labeler=w.evil, assignment_id=lease.pk, submission_id="matrix-written",
                                text=f"An answer {SCRIPT}")[0]


def demonstration_body(w: World) -> dict:
    return {"text": "A careful answer, written by the matrix.", "submission_id": "matrix"}


def _review_page(kind: str, item: Callable[[World], object]) -> Callable[[World], str]:
    """The review page of a ranking or demonstration of the world's project."""
    return lambda w: f"/projects/{w.task.prompt.project.slug}/review/{kind}/{item(w).pk}/"


def accept_body(w: World) -> dict:
    return {"action": "accept"}


ROWS: dict[str, Row] = {
    # --- labeler pages and the page's two JSON calls
    "": Row(lambda w: "/", (LOGIN, 200, 200, 200)),  # the home page: the projects a person labels in
    "label/": Row(lambda w: "/label/", (LOGIN, 200, 200, 200)),
    "label/assignments/<int:assignment_id>/ranking": Row(
        lambda w: f"/label/assignments/{w.assignment.pk}/ranking", (401, 201, 403, 403), "post", ranking_body),
    "label/assignments/<int:assignment_id>/skip": Row(
        lambda w: f"/label/assignments/{w.assignment.pk}/skip", (401, 201, 403, 403), "post",
        lambda w: {"reason": "other"}),
    # the demonstration editor: the page leases, its calls are keyed by the labeler's own lease
    "write/": Row(lambda w: _demonstration_lease(w) and "/write/", (LOGIN, 200, 200, 200)),
    "write/assignments/<int:assignment_id>/demonstration": Row(
        lambda w: f"/write/assignments/{_demonstration_lease(w).pk}/demonstration", (401, 201, 403, 403), "post",
        demonstration_body),
    "write/assignments/<int:assignment_id>/skip": Row(
        lambda w: f"/write/assignments/{_demonstration_lease(w).pk}/skip", (401, 201, 403, 403), "post",
        lambda w: {"reason": "other"}),
    "write/preview": Row(lambda w: "/write/preview", (401, 200, 200, 200), "post", lambda w: {"text": "**so**"}),
    "healthz": Row(lambda w: "/healthz", (HEALTH,) * 4),
    # --- staff pages
    "stats/": Row(lambda w: "/stats/", STAFF_PAGE),
    "stats/labelers.csv": Row(lambda w: "/stats/labelers.csv", STAFF_PAGE),
    "stats/tasks/<int:task_id>/": Row(lambda w: f"/stats/tasks/{w.task.pk}/", STAFF_PAGE),
    "runs/": Row(lambda w: "/runs/", STAFF_PAGE),
    "runs/bootstrap": Row(lambda w: "/runs/bootstrap", STAFF_POST, "post"),
    "runs/<int:run_id>/": Row(lambda w: f"/runs/{w.run.pk}/", STAFF_PAGE),
    "runs/<int:run_id>/status.json": Row(lambda w: f"/runs/{w.run.pk}/status.json", STAFF_PAGE),
    "runs/<int:run_id>/cancel": Row(lambda w: f"/runs/{w.run.pk}/cancel", STAFF_POST, "post"),
    "runs/<int:run_id>/retry": Row(lambda w: f"/runs/{w.run.pk}/retry", STAFF_POST, "post"),
    "models/": Row(lambda w: "/models/", STAFF_PAGE),
    "models/compare/": Row(lambda w: f"/models/compare/?a={w.v1.pk}&b={w.v2.pk}", STAFF_PAGE),
    "models/<int:version_id>/download.zip": Row(lambda w: f"/models/{w.v2.pk}/download.zip", STAFF_PAGE),
    "rounds/": Row(lambda w: "/rounds/", STAFF_PAGE),
    "rounds/<int:round_id>/": Row(lambda w: f"/rounds/{w.round.pk}/", STAFF_PAGE),
    "rounds/<int:round_id>/acknowledge/": Row(lambda w: f"/rounds/{w.round.pk}/acknowledge/", STAFF_POST, "post"),
    # allowed, but the matrix posts JSON and the page reads a form's "excluded": 400
    "projects/<slug:project>/members/<int:user_id>/training": Row(_member_training, (LOGIN, 403, 403, 400), "post"),
    # --- project managers' pages (staff manage every project; an empty form answers 400)
    "projects/": Row(lambda w: "/projects/", STAFF_PAGE),
    "projects/new": Row(lambda w: "/projects/new", (LOGIN, 403, 403, 400), "post"),
    "projects/<slug:project>/settings/": Row(_project_page("settings/"), STAFF_PAGE),
    "projects/<slug:project>/members/": Row(_project_page("members/"), STAFF_PAGE),
    "projects/<slug:project>/members/remove": Row(_project_page("members/remove"), (LOGIN, 403, 403, 400), "post"),
    "projects/<slug:project>/invites/": Row(_project_page("invites/"), (LOGIN, 403, 403, 400), "post"),
    "projects/<slug:project>/invites/<int:invite_id>/revoke": Row(_project_page("invites/{invite}/revoke"),
                                                                  STAFF_POST, "post"),
    "projects/<slug:project>/pauses/<int:labeler_id>/lift": Row(_paused_labeler_lift, STAFF_POST, "post"),
    "projects/<slug:project>/demonstrations.jsonl": Row(_project_page("demonstrations.jsonl"), STAFF_PAGE),
    "projects/<slug:project>/demonstrations/rewrites": Row(_project_page("demonstrations/rewrites"), STAFF_POST,
                                                           "post"),
    # review: the project's reviewers (its labelers 403); staff review everywhere
    "projects/<slug:project>/review/": Row(_project_page("review/"), STAFF_PAGE),
    "projects/<slug:project>/review/rankings/<int:ranking_id>/": Row(_review_page("rankings", lambda w: w.ranking),
                                                                     STAFF_PAGE),
    "projects/<slug:project>/review/demonstrations/<int:demonstration_id>/": Row(
        _review_page("demonstrations", _demonstration), STAFF_PAGE),
    # an open invite's link is for whoever holds it (unusable links: tests/labeling/test_invites.py)
    "invites/<str:token>/": Row(lambda w: _open_invite(w) and f"/invites/{MATRIX_INVITE_TOKEN}/", (200, 200, 200, 200)),
    # --- accounts (Django's auth views; login is the rate-limited one)
    "accounts/login/": Row(lambda w: "/accounts/login/", (200, 200, 200, 200)),
    "accounts/logout/": Row(lambda w: "/accounts/logout/", (302, 302, 302, 302), "post"),
    "accounts/password_change/": Row(lambda w: "/accounts/password_change/", (LOGIN, 200, 200, 200)),
    "accounts/password_change/done/": Row(lambda w: "/accounts/password_change/done/", (LOGIN, 200, 200, 200)),
    "accounts/password_reset/": Row(lambda w: "/accounts/password_reset/", (200, 200, 200, 200)),
    "accounts/password_reset/done/": Row(lambda w: "/accounts/password_reset/done/", (200, 200, 200, 200)),
    "accounts/reset/<uidb64>/<token>/": Row(lambda w: "/accounts/reset/MQ/bad-token/", (200, 200, 200, 200)),
    "accounts/reset/done/": Row(lambda w: "/accounts/reset/done/", (200, 200, 200, 200)),
    # --- REST API: the labeler's calls are keyed by task; the other labeler holds no lease on it
    "api/v1/tasks/next/": Row(_api("tasks/next/"), (401, 200, 200, 200)),
    "api/v1/tasks/<api_id:task_id>/ranking/": Row(_api("tasks/{w.task.pk}/ranking/"), (401, 201, 409, 409), "post",
                                                  ranking_body),
    "api/v1/tasks/<api_id:task_id>/skip/": Row(_api("tasks/{w.task.pk}/skip/"), (401, 201, 409, 409), "post",
                                               lambda w: {"reason": "other"}),
    "api/v1/demonstrations/next/": Row(_api("demonstrations/next/"), (401, 200, 200, 200)),
    "api/v1/demonstrations/assignments/<api_id:assignment_id>/": Row(
        lambda w: f"/api/v1/demonstrations/assignments/{_demonstration_lease(w).pk}/", (401, 201, 403, 403), "post",
        demonstration_body),
    "api/v1/demonstrations/assignments/<api_id:assignment_id>/skip/": Row(
        lambda w: f"/api/v1/demonstrations/assignments/{_demonstration_lease(w).pk}/skip/", (401, 201, 403, 403),
        "post", lambda w: {"reason": "other"}),
    "api/v1/tasks/": Row(_api("tasks/"), STAFF_API),
    "api/v1/prompts/": Row(_api("prompts/"), STAFF_API),
    "api/v1/rankings/": Row(_api("rankings/"), STAFF_API),
    "api/v1/review/queue/": Row(_api("review/queue/"), STAFF_API),
    "api/v1/rankings/<api_id:pk>/review/": Row(_api("rankings/{w.ranking.pk}/review/"), (401, 403, 403, 201), "post",
                                               accept_body),
    "api/v1/demonstrations/<api_id:pk>/review/": Row(
        lambda w: f"/api/v1/demonstrations/{_demonstration(w).pk}/review/", (401, 403, 403, 201), "post", accept_body),
    "api/v1/model-versions/": Row(_api("model-versions/"), STAFF_API),
    "api/v1/model-versions/<api_id:pk>/": Row(_api("model-versions/{w.v1.pk}/"), STAFF_API),
    "api/v1/runs/": Row(_api("runs/"), STAFF_API),
    "api/v1/runs/<api_id:pk>/": Row(_api("runs/{w.run.pk}/"), STAFF_API),
    "api/v1/runs/<api_id:pk>/cancel/": Row(_api("runs/{w.run.pk}/cancel/"), (401, 403, 403, 409), "post"),
    "api/v1/rounds/": Row(_api("rounds/"), STAFF_API),
    "api/v1/rounds/<api_id:pk>/": Row(_api("rounds/{w.round.pk}/"), STAFF_API),
    # allowed, but the round has no canary warning to acknowledge
    "api/v1/rounds/<api_id:pk>/acknowledge/": Row(_api("rounds/{w.round.pk}/acknowledge/"), (401, 403, 403, 409),
                                                  "post"),
    "api/v1/stats/": Row(_api("stats/"), STAFF_API),
    "api/v1/exports/<str:fmt>/": Row(_api("exports/rankings/"), STAFF_API),
    # The OpenAPI description is public, like the docs page that reads it: shapes, never data.
    "api/v1/schema/": Row(_api("schema/"), (200, 200, 200, 200)),
    "api/v1/docs/": Row(_api("docs/"), (200, 200, 200, 200)),
    "api/v1/^(?P<rest>.*)$": Row(_api("no-such-endpoint/"), (404, 404, 404, 404)),
    # --- the Django admin site's own pages (model screens: ADMIN_MODEL_SCREENS below)
    "admin/": Row(lambda w: "/admin/", ADMIN_ONLY),
    "admin/login/": Row(lambda w: "/admin/login/", (200, 200, 200, 302)),
    "admin/logout/": Row(lambda w: "/admin/logout/", (302, 302, 302, 302), "post"),
    "admin/password_change/": Row(lambda w: "/admin/password_change/", ADMIN_ONLY),
    "admin/password_change/done/": Row(lambda w: "/admin/password_change/done/", ADMIN_ONLY),
    "admin/autocomplete/": Row(lambda w: "/admin/autocomplete/?app_label=labeling&model_name=ranking"
                                         "&field_name=task&term=a", ADMIN_ONLY),
    "admin/jsi18n/": Row(lambda w: "/admin/jsi18n/", ADMIN_ONLY),
    "admin/r/<path:content_type_id>/<path:object_id>/": Row(
        lambda w: f"/admin/r/{ContentType.objects.get_for_model(Prompt).pk}/{w.task.prompt_id}/",
        (LOGIN, LOGIN, LOGIN, 404)),
    "admin/^(?P<app_label>auth|authtoken|labeling)/$": Row(lambda w: "/admin/labeling/", ADMIN_ONLY),
    "admin/(?P<url>.*)$": Row(lambda w: "/admin/no-such-page/", (LOGIN, LOGIN, LOGIN, 404)),
}

# An object of every model registered with the admin, for its change, delete and history screens.
ADMIN_OBJECTS: dict[type, Callable[[World], object]] = {
    Prompt: lambda w: w.task.prompt,
    RankingTask: lambda w: w.task,
    Completion: lambda w: w.task.completions.first(),
    Assignment: lambda w: w.assignment,
    Ranking: lambda w: w.ranking,
    Skip: lambda w: w.skip,
    Group: lambda w: Group.objects.get_or_create(name="reviewers")[0],
    TokenProxy: lambda w: TokenProxy.objects.get_or_create(user=w.labeler)[0],
    Project: lambda w: w.task.prompt.project,
    Run: lambda w: w.run,
    TrainingRound: lambda w: w.round,
    ModelVersion: lambda w: w.v2,
}
AUTH_USER = "auth.user"


def _admin_model_rows() -> dict[str, tuple[str, str]]:
    """Route -> (model label, screen) for every route the admin builds for a registered model."""
    rows = {}
    for model, model_admin in django_admin.site._registry.items():
        prefix = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        for pattern in model_admin.get_urls():
            rows[prefix + str(pattern.pattern)] = (model._meta.label_lower, str(pattern.pattern))
    return rows


def _routes(resolver=None, prefix: str = "") -> set[str]:
    routes = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes |= _routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            routes.add(route)
    return routes


def test_every_url_pattern_has_a_row():
    unclassified = _routes() - set(ROWS) - set(_admin_model_rows())
    assert not unclassified, f"add a row to ROWS for: {sorted(unclassified)}"
    assert not set(ROWS) - _routes(), "rows for patterns that no longer exist"
    missing = {m._meta.label for m in django_admin.site._registry
               if m not in ADMIN_OBJECTS and m._meta.label_lower != AUTH_USER}
    assert not missing, f"add an object to ADMIN_OBJECTS for: {sorted(missing)}"


def _request(world: World, persona: str, row: Row):
    client = world.client(persona)
    url = row.url(world)
    if row.method == "post":
        body = json.dumps(row.body(world)) if row.body else "{}"
        return client.post(url, data=body, content_type="application/json")
    return client.get(url)


def _check(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302 and "/login/" in response["Location"], response
    elif isinstance(expected, frozenset):
        assert response.status_code in expected
    else:
        assert response.status_code == expected, response.content[:300]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("route", sorted(ROWS))
def test_access(world, route, persona):
    row = ROWS[route]
    _check(_request(world, persona, row), row.expect[PERSONAS.index(persona)])


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("route", sorted(_admin_model_rows()))
def test_admin_model_screens(world, route, persona):
    """Staff only, every screen of every registered model, on a real object."""
    label, screen = _admin_model_rows()[route]
    model = next(m for m in django_admin.site._registry if m._meta.label_lower == label)
    obj = world.admin if label == AUTH_USER else ADMIN_OBJECTS[model](world)
    url = "/" + re.sub(r"<(path:object_id|id)>", str(obj.pk), route)
    response = world.client(persona).get(url)
    if persona != "admin":
        _check(response, LOGIN)
    elif screen == "add/" and not django_admin.site._registry[model].has_add_permission(_staff_request(world)):
        _check(response, 403)  # rows only the workers write (runs, rounds, model versions)
    else:
        # "<id>/" alone redirects to the change screen; the rest render
        _check(response, 302 if screen == "<path:object_id>/" else 200)


def _staff_request(world: World):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = world.admin
    return request


def test_the_other_labeler_cannot_see_or_take_the_labelers_lease(world):
    """Object level: alice's assignment id in bob's hands is refused and leaves her lease untouched."""
    client = world.client("other_labeler")
    body = json.dumps(ranking_body(world))
    assert client.post(f"/label/assignments/{world.assignment.pk}/ranking", data=body,
                       content_type="application/json").status_code == 403
    world.assignment.refresh_from_db()
    assert world.assignment.status == Assignment.Status.ACTIVE and world.assignment.labeler == world.labeler
    assert not Ranking.objects.filter(labeler=world.other_labeler).exists()


@pytest.mark.parametrize("call", ["demonstration", "skip"])
def test_the_other_labeler_cannot_write_or_skip_the_labelers_demonstration_lease(world, call):
    """Object level: alice's demonstration lease in bob's hands is refused, page and API, and stays hers and live."""
    from labeling.models import Demonstration, DemonstrationAssignment

    lease = _demonstration_lease(world)
    body = json.dumps(demonstration_body(world) if call == "demonstration" else {"reason": "other"})
    client = world.client("other_labeler")
    api = f"/api/v1/demonstrations/assignments/{lease.pk}/" + ("skip/" if call == "skip" else "")
    for url in (f"/write/assignments/{lease.pk}/{call}", api):
        assert client.post(url, data=body, content_type="application/json").status_code == 403, url
    lease.refresh_from_db()
    assert lease.status == DemonstrationAssignment.Status.ACTIVE and lease.labeler == world.labeler
    assert not Demonstration.objects.filter(labeler=world.other_labeler).exists()

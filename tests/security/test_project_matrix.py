"""Two projects, six personas, every page about a project or one of its objects.

Personas: anonymous, labeler of A, labeler of B, reviewer of A, manager of A, staff. Each route is
asked for with an object (or the slug) of project A and of project B. The rule it must follow
(``labeling.selectors.projects``): a visitor is sent to log in; no role in the object's project
(or an unknown project) answers 404, so ids and slugs leak nothing; a role below the route's answers
403; anyone else gets the route's success status. ``test_every_project_route_has_a_row`` fails for a
route that takes a project or a project's object and has no row here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable

import pytest
from django.test import Client
from django.utils import timezone

from labeling.models import Membership, ModelVersion, Project, ProjectInvite, Prompt, Run, TrainingRound
from tests.factories import UserFactory, make_task
from tests.security.test_access_matrix import _routes

PERSONAS = ("anonymous", "labeler_a", "labeler_b", "reviewer_a", "manager_a", "staff")
ROLES = {"labeler_a": ("a", "labeler"), "labeler_b": ("b", "labeler"), "reviewer_a": ("a", "reviewer"),
         "manager_a": ("a", "manager")}
ORDER = ("labeler", "reviewer", "manager")


@dataclass
class Side:
    slug: str
    task: object
    run: object
    round: object
    v1: object
    v2: object
    invite: object


@dataclass(frozen=True)
class Row:
    url: Callable[[Side], str]
    needs: str  # the lowest role that may
    ok: int  # the success status
    method: str = "get"
    body: Callable[[Side], dict] | None = None


def _paused_labeler_lift(slug: str) -> str:
    """The lift of the project's labeler's pause (paused again for each persona's try)."""
    from django.contrib.auth import get_user_model

    from labeling.review_models import LabelerPause

    labeler = get_user_model().objects.get(username=f"labeler_{slug}")
    LabelerPause.objects.get_or_create(project=Project.objects.get(slug=slug), labeler=labeler, lifted_at=None,
                                       defaults={"reason": "Paused by the matrix."})
    return f"/projects/{slug}/pauses/{labeler.pk}/lift"


ROWS = {
    "label/": Row(lambda s: f"/label/?project={s.slug}", "labeler", 200),
    "stats/": Row(lambda s: f"/stats/?project={s.slug}", "reviewer", 200),
    "stats/labelers.csv": Row(lambda s: f"/stats/labelers.csv?project={s.slug}", "reviewer", 200),
    "stats/tasks/<int:task_id>/": Row(lambda s: f"/stats/tasks/{s.task.pk}/", "reviewer", 200),
    "runs/": Row(lambda s: f"/runs/?project={s.slug}", "reviewer", 200),
    "runs/<int:run_id>/": Row(lambda s: f"/runs/{s.run.pk}/", "reviewer", 200),
    "runs/<int:run_id>/status.json": Row(lambda s: f"/runs/{s.run.pk}/status.json", "reviewer", 200),
    "runs/<int:run_id>/cancel": Row(lambda s: f"/runs/{s.run.pk}/cancel", "manager", 302, "post"),
    "runs/<int:run_id>/retry": Row(lambda s: f"/runs/{s.run.pk}/retry", "manager", 302, "post"),
    "models/": Row(lambda s: f"/models/?project={s.slug}", "reviewer", 200),
    "models/compare/": Row(lambda s: f"/models/compare/?project={s.slug}&a={s.v1.pk}&b={s.v2.pk}", "reviewer", 200),
    "models/<int:version_id>/download.zip": Row(lambda s: f"/models/{s.v2.pk}/download.zip", "manager", 200),
    "rounds/": Row(lambda s: f"/rounds/?project={s.slug}", "reviewer", 200),
    "rounds/<int:round_id>/": Row(lambda s: f"/rounds/{s.round.pk}/", "reviewer", 200),
    "projects/<slug:project>/settings/": Row(lambda s: f"/projects/{s.slug}/settings/", "manager", 200),
    "projects/<slug:project>/members/": Row(lambda s: f"/projects/{s.slug}/members/", "manager", 200),
    "projects/<slug:project>/members/remove": Row(lambda s: f"/projects/{s.slug}/members/remove", "manager", 302,
                                                  "post", lambda s: {"username": f"labeler_{s.slug}"}),
    "projects/<slug:project>/invites/": Row(lambda s: f"/projects/{s.slug}/invites/", "manager", 201, "post",
                                            lambda s: {"role": "labeler", "days": "3"}),
    "projects/<slug:project>/invites/<int:invite_id>/revoke": Row(
        lambda s: f"/projects/{s.slug}/invites/{s.invite.pk}/revoke", "manager", 302, "post"),
    "projects/<slug:project>/pauses/<int:labeler_id>/lift": Row(lambda s: _paused_labeler_lift(s.slug), "manager",
                                                                 302, "post"),
}
API_ROWS = {  # every staff endpoint names its project with ?project= (absent: default)
    "api/v1/tasks/": Row(lambda s: f"/api/v1/tasks/?project={s.slug}", "reviewer", 200),
    "api/v1/prompts/": Row(lambda s: f"/api/v1/prompts/?project={s.slug}", "reviewer", 200),
    "api/v1/rankings/": Row(lambda s: f"/api/v1/rankings/?project={s.slug}", "reviewer", 200),
    "api/v1/model-versions/": Row(lambda s: f"/api/v1/model-versions/?project={s.slug}", "reviewer", 200),
    "api/v1/model-versions/<api_id:pk>/": Row(lambda s: f"/api/v1/model-versions/{s.v2.pk}/?project={s.slug}",
                                              "reviewer", 200),
    "api/v1/runs/": Row(lambda s: f"/api/v1/runs/?project={s.slug}", "reviewer", 200),
    "api/v1/runs/<api_id:pk>/": Row(lambda s: f"/api/v1/runs/{s.run.pk}/?project={s.slug}", "reviewer", 200),
    "api/v1/runs/<api_id:pk>/cancel/": Row(lambda s: f"/api/v1/runs/{s.run.pk}/cancel/?project={s.slug}", "manager",
                                           409, "post"),  # allowed, but the run has already failed
    "api/v1/rounds/": Row(lambda s: f"/api/v1/rounds/?project={s.slug}", "reviewer", 200),
    "api/v1/rounds/<api_id:pk>/": Row(lambda s: f"/api/v1/rounds/{s.round.pk}/?project={s.slug}", "reviewer", 200),
    "api/v1/stats/": Row(lambda s: f"/api/v1/stats/?project={s.slug}", "reviewer", 200),
    "api/v1/exports/<str:fmt>/": Row(lambda s: f"/api/v1/exports/rankings/?project={s.slug}", "manager", 200),
}
# Routes about no one project: the home page (each person's own projects), the project list (the
# projects one manages), training the first policy (staff), invites (the token is the key).
NOT_PROJECT_ROUTES = {"", "projects/", "projects/new", "runs/bootstrap", "invites/<str:token>/", "healthz",
                      "label/assignments/<int:assignment_id>/ranking", "label/assignments/<int:assignment_id>/skip"}


def _side(project: Project, checkpoint: Path, maker) -> Side:
    task = make_task(k=2, prompt_text=f"prompt of {project.slug}")
    Prompt.objects.filter(pk=task.prompt_id).update(project=project)
    v1 = ModelVersion.objects.create(project=project, kind="policy", name=f"{project.slug}-v1", algorithm="external",
                                     path=str(checkpoint))
    v2 = ModelVersion.objects.create(project=project, kind="policy", name=f"{project.slug}-v2", algorithm="dpo",
                                     path=str(checkpoint), parent=v1)
    training_round = TrainingRound.objects.create(project=project, algo="dpo", status="failed", active=False,
                                                  policy_in=v1)
    run = Run.objects.create(project=project, kind=Run.Kind.DPO, status=Run.Status.FAILED,
                             training_round=training_round)
    invite = ProjectInvite.objects.create(project=project, token_hash=f"{project.slug}".ljust(64, "0"),
                                          created_by=maker, expires_at=timezone.now() + timedelta(days=1))
    return Side(project.slug, task, run, training_round, v1, v2, invite)


@pytest.fixture
def sides(db, tmp_path):
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text("{}")
    projects = {slug: Project.objects.create(slug=slug, name=f"Project {slug}") for slug in ("a", "b")}
    users = {"staff": UserFactory(username="staff", is_staff=True, is_superuser=True)}
    for persona, (slug, role) in ROLES.items():
        users[persona] = UserFactory(username=persona)
        Membership.objects.create(project=projects[slug], user=users[persona], role=role)
    b_manager = UserFactory(username="manager_b")  # B's invite needs a maker; B keeps a manager
    Membership.objects.create(project=projects["b"], user=b_manager, role="manager")
    return users, {slug: _side(p, checkpoint, users["staff"]) for slug, p in projects.items()}


def _expected(persona: str, slug: str, row: Row):
    if persona == "anonymous":
        return "login"
    role = "manager" if persona == "staff" else (ROLES[persona][1] if ROLES[persona][0] == slug else None)
    if role is None:
        return 404
    return row.ok if ORDER.index(role) >= ORDER.index(row.needs) else 403


@pytest.mark.parametrize("slug", ["a", "b"])
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("route", sorted(ROWS) + sorted(API_ROWS))
def test_project_access(sides, route, persona, slug):
    users, by_slug = sides
    row = ROWS.get(route) or API_ROWS[route]
    client = Client()
    if persona != "anonymous":
        client.force_login(users[persona])
    url = row.url(by_slug[slug])
    body = row.body(by_slug[slug]) if row.body else {}
    response = client.post(url, body) if row.method == "post" else client.get(url)
    expected = _expected(persona, slug, row)
    if expected == "login" and route.startswith("api/"):
        assert response.status_code == 401, url
    elif expected == "login":
        assert response.status_code == 302 and "/login/" in response["Location"], url
    else:
        assert response.status_code == expected, (url, response.content[:200])


@pytest.mark.parametrize("persona", PERSONAS[1:])
def test_an_unknown_project_is_404_for_everyone(sides, persona):
    users, _ = sides
    client = Client()
    client.force_login(users[persona])
    side = sides[1]["a"]
    for route, row in {**ROWS, **API_ROWS}.items():
        url = row.url(side)
        if "?project=a" in url or "<slug:project>" in route:
            url = url.replace("?project=a", "?project=nope").replace("/projects/a/", "/projects/nope/")
            response = client.post(url, row.body(side) if row.body else {}) if row.method == "post" else client.get(url)
            assert response.status_code == 404, url


# The labeler's calls lease from every project they label in; the schema and docs hold no data.
NOT_PROJECT_API = {"api/v1/tasks/next/", "api/v1/tasks/<api_id:task_id>/ranking/", "api/v1/tasks/<api_id:task_id>/skip/",
                   "api/v1/schema/", "api/v1/docs/", "api/v1/^(?P<rest>.*)$"}


def test_every_project_route_has_a_row():
    app_routes = {r for r in _routes() if not r.startswith(("admin/", "api/", "accounts/", "static/"))}
    assert not app_routes - set(ROWS) - NOT_PROJECT_ROUTES, "add a row to ROWS (or NOT_PROJECT_ROUTES)"
    api_routes = {r for r in _routes() if r.startswith("api/")}
    assert not api_routes - set(API_ROWS) - NOT_PROJECT_API, "add a row to API_ROWS (or NOT_PROJECT_API)"


@pytest.mark.parametrize("call", ["ranking", "skip"])
def test_a_labelers_api_calls_on_another_projects_task_answer_404(sides, call):
    users, by_slug = sides
    client = Client()
    client.force_login(users["labeler_b"])
    body = {"tiers": [[1], [2]], "submission_id": "x"} if call == "ranking" else {"reason": "other"}
    response = client.post(f"/api/v1/tasks/{by_slug['a'].task.pk}/{call}/", body, content_type="application/json")
    assert response.status_code == 404  # not 409 "no lease", which would say the id exists
    client.force_login(users["labeler_a"])
    response = client.post(f"/api/v1/tasks/{by_slug['a'].task.pk}/{call}/", body, content_type="application/json")
    assert response.status_code == 409  # their project's task, but no lease on it yet

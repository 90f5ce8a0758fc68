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

from labeling.models import (Demonstration, Membership, ModelVersion, Project, ProjectInvite, Prompt, Ranking,
                             ReviewDecision, Run, TrainingRound)
from labeling.services.demonstrations import demonstration_tasks_create
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
    ranking: object  # the project's writer's, for the review rows
    demonstration: object  # the project's writer's, for the review rows


@dataclass(frozen=True)
class Row:
    url: Callable[[Side], str]
    needs: str  # the lowest role that may
    ok: int  # the success status
    method: str = "get"
    body: Callable[[Side], dict] | None = None


def _user_id(username: str) -> int:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username).pk


def _paused_labeler_lift(slug: str) -> str:
    """The lift of the project's labeler's pause (paused again for each persona's try)."""
    from django.contrib.auth import get_user_model

    from labeling.review_models import LabelerPause

    labeler = get_user_model().objects.get(username=f"labeler_{slug}")
    LabelerPause.objects.get_or_create(project=Project.objects.get(slug=slug), labeler=labeler, lifted_at=None,
                                       defaults={"reason": "Paused by the matrix."})
    return f"/projects/{slug}/pauses/{labeler.pk}/lift"


def _accept(side: Side) -> dict:
    return {"action": "accept"}


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
    "rounds/<int:round_id>/acknowledge/": Row(lambda s: f"/rounds/{s.round.pk}/acknowledge/", "manager", 302, "post"),
    "projects/<slug:project>/members/<int:user_id>/training": Row(
        lambda s: f"/projects/{s.slug}/members/{_user_id(f'labeler_{s.slug}')}/training", "manager", 302, "post",
        lambda s: {"excluded": "true"}),
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
    "write/": Row(lambda s: f"/write/?project={s.slug}", "labeler", 200),
    "projects/<slug:project>/demonstrations.jsonl": Row(lambda s: f"/projects/{s.slug}/demonstrations.jsonl",
                                                        "manager", 200),
    "projects/<slug:project>/demonstrations/rewrites": Row(lambda s: f"/projects/{s.slug}/demonstrations/rewrites",
                                                           "manager", 302, "post"),
    "projects/<slug:project>/review/": Row(lambda s: f"/projects/{s.slug}/review/", "reviewer", 200),
    # a decision recorded: back to the queue
    "projects/<slug:project>/review/rankings/<int:ranking_id>/": Row(
        lambda s: f"/projects/{s.slug}/review/rankings/{s.ranking.pk}/", "reviewer", 302, "post", _accept),
    "projects/<slug:project>/review/demonstrations/<int:demonstration_id>/": Row(
        lambda s: f"/projects/{s.slug}/review/demonstrations/{s.demonstration.pk}/", "reviewer", 302, "post", _accept),
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
    "api/v1/rounds/<api_id:pk>/acknowledge/": Row(  # allowed, but the round has no canary warning
        lambda s: f"/api/v1/rounds/{s.round.pk}/acknowledge/?project={s.slug}", "manager", 409, "post"),
    "api/v1/stats/": Row(lambda s: f"/api/v1/stats/?project={s.slug}", "reviewer", 200),
    "api/v1/exports/<str:fmt>/": Row(lambda s: f"/api/v1/exports/rankings/?project={s.slug}", "manager", 200),
    "api/v1/review/queue/": Row(lambda s: f"/api/v1/review/queue/?project={s.slug}", "reviewer", 200),
    "api/v1/rankings/<api_id:pk>/review/": Row(lambda s: f"/api/v1/rankings/{s.ranking.pk}/review/?project={s.slug}",
                                               "reviewer", 201, "post", _accept),
    "api/v1/demonstrations/<api_id:pk>/review/": Row(
        lambda s: f"/api/v1/demonstrations/{s.demonstration.pk}/review/?project={s.slug}", "reviewer", 201, "post",
        _accept),
    # a labeler's lease of the project's next demonstration task (a labeler's call: their role is enough)
    "api/v1/demonstrations/next/": Row(lambda s: f"/api/v1/demonstrations/next/?project={s.slug}", "labeler", 200),
}
# Routes about no one project: the home page (each person's own projects), the project list (the
# projects one manages), training the first policy (staff), invites (the token is the key).
# A labeler's calls on their own lease are keyed by the lease (another's: 403, test_access_matrix); the
# Markdown preview reads nothing stored.
NOT_PROJECT_ROUTES = {"", "projects/", "projects/new", "runs/bootstrap", "invites/<str:token>/", "healthz",
                      "label/assignments/<int:assignment_id>/ranking", "label/assignments/<int:assignment_id>/skip",
                      "write/assignments/<int:assignment_id>/demonstration",
                      "write/assignments/<int:assignment_id>/skip", "write/preview"}


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
    writer = UserFactory(username=f"writer_{project.slug}")
    Membership.objects.create(project=project, user=writer, role=Membership.Role.LABELER)
    ids = list(task.completions.order_by("pk").values_list("pk", flat=True))
    ranking = Ranking.objects.create(task=task, labeler=writer, tiers=[[i] for i in ids], display_order=ids,
                                     submission_id=f"ranked-{project.slug}")
    prompt = Prompt.objects.get(pk=task.prompt_id)
    written, _open = demonstration_tasks_create(project=project, prompts=[prompt, prompt])  # one written, one open
    demonstration = Demonstration.objects.create(task=written, labeler=writer, text="A careful answer.",
                                                 submission_id=f"written-{project.slug}")
    return Side(project.slug, task, run, training_round, v1, v2, invite, ranking, demonstration)


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


def _send(client: Client, row: Row, url: str, side: Side):
    """The row's request: a page's POST sends a form, an API's JSON (the API parses nothing else)."""
    if row.method != "post":
        return client.get(url)
    body = row.body(side) if row.body else {}
    if url.startswith("/api/"):
        return client.post(url, body, content_type="application/json")
    return client.post(url, body)


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
    response = _send(client, row, url, by_slug[slug])
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
            assert _send(client, row, url, side).status_code == 404, url


# The labeler's calls lease from every project they label in, and a demonstration lease's calls are keyed
# by the lease (another's: 403, test_access_matrix); the schema and docs hold no data.
NOT_PROJECT_API = {"api/v1/tasks/next/", "api/v1/tasks/<api_id:task_id>/ranking/", "api/v1/tasks/<api_id:task_id>/skip/",
                   "api/v1/demonstrations/assignments/<api_id:assignment_id>/",
                   "api/v1/demonstrations/assignments/<api_id:assignment_id>/skip/",
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


@pytest.mark.parametrize("persona", ["reviewer_a", "manager_a"])
def test_a_review_of_another_projects_item_under_ones_own_project_is_404(sides, persona):
    """Object level: B's ranking and demonstration named under A's slug (page) or ?project=a (API) answer 404
    like ids that do not exist, and no decision is recorded."""
    users, by_slug = sides
    client = Client()
    client.force_login(users[persona])
    a, b = by_slug["a"], by_slug["b"]
    for url in (f"/projects/a/review/rankings/{b.ranking.pk}/",
                f"/projects/a/review/demonstrations/{b.demonstration.pk}/"):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"action": "accept"}).status_code == 404, url
    for url in (f"/api/v1/rankings/{b.ranking.pk}/review/?project=a",
                f"/api/v1/demonstrations/{b.demonstration.pk}/review/?project=a"):
        assert client.post(url, {"action": "accept"}, content_type="application/json").status_code == 404, url
    assert not ReviewDecision.objects.exists()
    assert client.post(f"/api/v1/rankings/{a.ranking.pk}/review/?project=a", {"action": "accept"},
                       content_type="application/json").status_code == 201  # their own project's: recorded

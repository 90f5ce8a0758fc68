"""Two projects side by side: stats, exports and the staff API show a project's rows to its own people only.

Projects ``a`` and ``b`` each hold two tasks ranked by two of their labelers, a run, a model version
and a round. A's reviewer and manager read A's rows only; B's manager gets 404 on A's objects and on
``?project=a``; a labeler of A gets 403; anonymous callers go to log in (pages) or get 401 (API);
staff read both. Without ``project`` everything acts on ``default``, as before projects.
"""
from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from labeling.errors import RejectedInput
from labeling.jobs.reward import run_rankings_write
from labeling.models import Membership, ModelVersion, Project, Prompt, Ranking, Run, TrainingRound
from labeling.selectors import stats as stats_selectors
from labeling.selectors.rankings import RankingFilter, ranking_filter_parse, rankings_selected
from labeling.services.stats import stats_refresh
from tests.factories import UserFactory, make_task

ROLES = {"reviewer_a": ("a", "reviewer"), "manager_a": ("a", "manager"), "labeler_a": ("a", "labeler"),
         "member_b": ("b", "manager")}


class Side:
    """One project's rows."""

    def __init__(self, slug: str):
        self.project = Project.objects.create(slug=slug, name=f"Project {slug.upper()}")
        self.rankers = [UserFactory(username=f"{slug}-ranker-{i}") for i in range(2)]
        for user in self.rankers:
            Membership.objects.create(project=self.project, user=user, role="labeler")
        self.tasks = [make_task(k=3, prompt_text=f"{slug} prompt {i}") for i in range(2)]
        Prompt.objects.filter(tasks__in=self.tasks).update(project=self.project)
        self.rankings = [self._rank(task, user, order) for task in self.tasks
                         for user, order in zip(self.rankers, ((0, 1, 2), (0, 2, 1)))]
        self.version = ModelVersion.objects.create(project=self.project, kind="policy", name=f"{slug}-policy",
                                                   algorithm="external", path="/nowhere")
        self.run = Run.objects.create(project=self.project, kind="dpo", status=Run.Status.SUCCEEDED)
        self.round = TrainingRound.objects.create(project=self.project, algo="dpo", policy_in=self.version,
                                                  active=False, status="succeeded")

    @staticmethod
    def _rank(task, user, order):
        ids = list(task.completions.order_by("pk").values_list("pk", flat=True))
        return Ranking.objects.create(task=task, labeler=user, tiers=[[ids[i]] for i in order], display_order=ids,
                                      submission_id=f"{task.pk}-{user.pk}")

    @property
    def ranking_ids(self) -> set[int]:
        return {r.pk for r in self.rankings}


@pytest.fixture
def world(db, admin):
    a, b = Side("a"), Side("b")
    users = {"admin": admin}
    for name, (slug, role) in ROLES.items():
        users[name] = UserFactory(username=name)
        Membership.objects.create(project={"a": a, "b": b}[slug].project, user=users[name], role=role)
    return {"a": a, "b": b, "users": users}


def _client(world, persona: str | None) -> Client:
    client = Client()
    if persona is not None:
        client.force_login(world["users"][persona])
    return client


def _get(world, persona, url):
    return _client(world, persona).get(url)


# --- the stats page, its CSV and one task


@pytest.mark.parametrize("persona, status", [("reviewer_a", 200), ("manager_a", 200), ("admin", 200),
                                             ("labeler_a", 403), ("member_b", 404)])
def test_the_stats_page_is_for_the_projects_reviewers(world, persona, status):
    response = _get(world, persona, "/stats/?project=a")
    assert response.status_code == status
    if status == 200:
        assert response.context["totals"]["rankings"] == 4
        assert {row["name"] for row in response.context["rows"]} == {"a-ranker-0", "a-ranker-1"}
        page = response.content.decode()
        assert "Project A" in page and 'name="project" value="a"' in page


def test_anonymous_goes_to_log_in_and_an_unknown_project_is_404(world):
    assert "/login/" in _get(world, None, "/stats/?project=a")["Location"]
    assert _get(world, "admin", "/stats/?project=nowhere").status_code == 404


def test_staff_see_each_project_and_the_default_one_without_a_parameter(world):
    for slug in ("a", "b"):
        response = _get(world, "admin", f"/stats/?project={slug}")
        assert {row["name"] for row in response.context["rows"]} == {f"{slug}-ranker-0", f"{slug}-ranker-1"}
        assert {(p.slug) for p in response.context["filter"]["projects"]} >= {"a", "b", "default"}
    default = _get(world, "admin", "/stats/")
    assert default.context["project"].slug == "default" and default.context["totals"]["rankings"] == 0


def test_the_switcher_lists_the_projects_where_one_reviews(world):
    Membership.objects.create(project=world["b"].project, user=world["users"]["reviewer_a"], role="reviewer")
    response = _get(world, "reviewer_a", "/stats/?project=a")
    assert [p.slug for p in response.context["filter"]["projects"]] == ["a", "b"]
    assert '<option value="b">Project B</option>' in response.content.decode()


def test_a_filter_names_the_projects_own_rounds_only(world):
    other = _get(world, "reviewer_a", f"/stats/?project=a&round={world['b'].round.pk}")
    assert "There is no round" in other.content.decode() and other.context["totals"]["rankings"] == 4
    own = _get(world, "reviewer_a", f"/stats/?project=a&round={world['a'].round.pk}")
    assert own.context["filter_error"] is None and own.context["totals"]["rankings"] == 0


@pytest.mark.parametrize("persona, status", [("reviewer_a", 200), ("admin", 200), ("labeler_a", 403),
                                             ("member_b", 404)])
def test_the_labelers_csv(world, persona, status):
    response = _get(world, persona, "/stats/labelers.csv?project=a")
    assert response.status_code == status
    if status == 200:
        names = [line.split(",")[0] for line in response.content.decode().splitlines()[1:]]
        assert names == ["a-ranker-0", "a-ranker-1"]


def test_a_task_is_shown_in_its_own_project_only(world):
    """The task's project decides; a ``?project=`` naming another one is 404, as an unknown task is."""
    a_task, b_task = world["a"].tasks[0].pk, world["b"].tasks[0].pk
    assert _get(world, "reviewer_a", f"/stats/tasks/{a_task}/").status_code == 200
    assert _get(world, "reviewer_a", f"/stats/tasks/{b_task}/").status_code == 404
    assert _get(world, "reviewer_a", f"/stats/tasks/{a_task}/?project=a").status_code == 200
    assert _get(world, "reviewer_a", f"/stats/tasks/{b_task}/?project=a").status_code == 404
    assert _get(world, "admin", f"/stats/tasks/{b_task}/?project=a").status_code == 404
    assert _get(world, "admin", f"/stats/tasks/{b_task}/?project=b").status_code == 200
    assert _get(world, "member_b", f"/stats/tasks/{a_task}/?project=a").status_code == 404
    assert _get(world, "labeler_a", f"/stats/tasks/{a_task}/?project=a").status_code == 403


def test_the_figures_do_not_depend_on_another_projects_rankings(db):
    """Alone, a project's figures come from the daily roll-ups; beside another, from its own cached rows."""
    a = Side("a")
    stats_refresh()
    alone = stats_selectors.stats_figures(RankingFilter(project=a.project))
    Side("b")
    stats_refresh()
    beside = stats_selectors.stats_figures(RankingFilter(project=a.project))
    assert beside["totals"] == alone["totals"] and beside["totals"]["rankings"] == 4
    assert [(r["name"], r["pair_agreement"], r["consensus"]) for r in beside["labelers"]] == [
        (r["name"], r["pair_agreement"], r["consensus"]) for r in alone["labelers"]]
    assert beside["cells"] == alone["cells"] and beside["throughput"] == alone["throughput"]
    assert beside["weeks"] == alone["weeks"] and beside["lowest_tasks"] == alone["lowest_tasks"]


# --- the REST API


def _ids(response) -> set[int]:
    body = response.json()
    assert response.status_code == 200, body
    return {row["id"] for row in body["results"]}


LISTS = {
    "tasks": lambda side: {t.pk for t in side.tasks},
    "prompts": lambda side: {t.prompt_id for t in side.tasks},
    "rankings": lambda side: side.ranking_ids,
    "model-versions": lambda side: {side.version.pk},
    "runs": lambda side: {side.run.pk},
    "rounds": lambda side: {side.round.pk},
}


@pytest.mark.parametrize("endpoint", LISTS)
def test_every_list_holds_the_projects_rows_only(world, endpoint):
    url = f"/api/v1/{endpoint}/?project=a"
    for persona in ("reviewer_a", "manager_a", "admin"):
        assert _ids(_get(world, persona, url)) == LISTS[endpoint](world["a"])
    assert _ids(_get(world, "admin", f"/api/v1/{endpoint}/?project=b")) == LISTS[endpoint](world["b"])
    assert not _ids(_get(world, "admin", f"/api/v1/{endpoint}/")) & LISTS[endpoint](world["a"])  # default's
    assert _get(world, "labeler_a", url).status_code == 403
    assert _get(world, "member_b", url).status_code == 404
    assert _get(world, "admin", f"/api/v1/{endpoint}/?project=nowhere").status_code == 404
    assert _get(world, None, url).status_code == 401


@pytest.mark.parametrize("endpoint, attribute", [("model-versions", "version"), ("runs", "run"), ("rounds", "round")])
def test_an_object_of_another_project_is_404(world, endpoint, attribute):
    own, other = getattr(world["a"], attribute).pk, getattr(world["b"], attribute).pk
    assert _get(world, "reviewer_a", f"/api/v1/{endpoint}/{own}/?project=a").json()["id"] == own
    assert _get(world, "reviewer_a", f"/api/v1/{endpoint}/{other}/?project=a").status_code == 404
    assert _get(world, "reviewer_a", f"/api/v1/{endpoint}/{other}/?project=b").status_code == 404
    assert _get(world, "admin", f"/api/v1/{endpoint}/{own}/").status_code == 404  # default's ids only
    assert _get(world, "member_b", f"/api/v1/{endpoint}/{own}/?project=a").status_code == 404
    assert _get(world, "labeler_a", f"/api/v1/{endpoint}/{own}/?project=a").status_code == 403


def test_the_agreement_figures_are_the_projects(world):
    body = _get(world, "reviewer_a", "/api/v1/stats/?project=a").json()
    assert body["totals"]["rankings"] == 4 and [r["name"] for r in body["labelers"]] == ["a-ranker-0", "a-ranker-1"]
    assert _get(world, "member_b", "/api/v1/stats/?project=a").status_code == 404
    assert _get(world, "labeler_a", "/api/v1/stats/?project=a").status_code == 403


def test_writing_needs_the_manager_role_in_that_project(world):
    body = [{"prompt": "A new prompt"}]
    reviewer = _client(world, "reviewer_a").post("/api/v1/prompts/?project=a", body, content_type="application/json")
    assert reviewer.status_code == 403 and "manager" in reviewer.json()["error"]["message"]
    created = _client(world, "manager_a").post("/api/v1/prompts/?project=a", body, content_type="application/json")
    assert created.status_code == 201
    assert Prompt.objects.get(pk=created.json()["ids"][0]).project == world["a"].project
    manager = _client(world, "manager_a")
    assert manager.post(f"/api/v1/runs/{world['a'].run.pk}/cancel/?project=a").status_code == 409  # finished
    assert manager.post(f"/api/v1/runs/{world['b'].run.pk}/cancel/?project=a").status_code == 404
    assert _client(world, "member_b").post(f"/api/v1/runs/{world['a'].run.pk}/cancel/?project=a").status_code == 404


def test_a_round_started_through_the_api_is_the_projects_and_starts_from_its_settings(world, settings):
    settings.ROUND_MIN_NEW_RANKINGS = 0
    a = world["a"].project
    a.k_min, a.k_max, a.round_defaults = 2, 3, {"sample": {"k": 2}, "reward": {"epochs": 3}}
    a.save()
    TrainingRound.objects.filter(project=a).update(active=False)
    response = _client(world, "manager_a").post("/api/v1/rounds/?project=a", {"algo": "dpo"},
                                                content_type="application/json")
    assert response.status_code == 201, response.json()
    started = TrainingRound.objects.get(pk=response.json()["id"])
    assert started.project == a and started.policy_in == world["a"].version
    assert started.config["sample"]["k"] == 2 and started.config["reward"]["epochs"] == 3
    assert not TrainingRound.objects.filter(project=world["b"].project, active=True).exists()


@pytest.mark.parametrize("persona, status", [("manager_a", 200), ("admin", 200), ("reviewer_a", 403),
                                             ("labeler_a", 403), ("member_b", 404), (None, 401)])
def test_the_export_endpoint_is_for_the_projects_managers(world, persona, status):
    response = _get(world, persona, "/api/v1/exports/rankings/?project=a")
    assert response.status_code == status
    if status == 200:
        records = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
        assert {r["labeler"] for r in records} == {"a-ranker-0", "a-ranker-1"} and len(records) == 4


def test_the_schema_documents_the_project_parameter(client, db):
    paths = client.get("/api/v1/schema/?format=json").json()["paths"]

    def names(path, method="get"):
        return {p["name"] for p in paths[path][method].get("parameters", [])}

    for path in ("/api/v1/tasks/", "/api/v1/prompts/", "/api/v1/rankings/", "/api/v1/model-versions/",
                 "/api/v1/model-versions/{id}/", "/api/v1/runs/", "/api/v1/runs/{id}/", "/api/v1/rounds/",
                 "/api/v1/rounds/{id}/", "/api/v1/stats/", "/api/v1/exports/{fmt}/"):
        assert "project" in names(path), path
    assert "project" in names("/api/v1/runs/{id}/cancel/", "post") and "project" in names("/api/v1/tasks/", "post")
    # The labeler's next task takes one too, meaning "only this project" (without it: any they label in).
    (mine,) = [p for p in paths["/api/v1/tasks/next/"]["get"]["parameters"] if p["name"] == "project"]
    assert mine["description"].startswith("Only this project's tasks")
    (project,) = [p for p in paths["/api/v1/rankings/"]["get"]["parameters"] if p["name"] == "project"]
    assert project["description"] == "Project slug; default: the default project."
    assert not project.get("required", False)


# --- the export command, the filter and the jobs


def test_the_export_command_takes_a_project(world, tmp_path):
    out = tmp_path / "a.jsonl"
    call_command("export_preferences", "--format", "rankings", "--out", str(out), "--project", "a")
    assert {json.loads(line)["labeler"] for line in out.read_text().splitlines()} == {"a-ranker-0", "a-ranker-1"}
    default = tmp_path / "default.jsonl"
    call_command("export_preferences", "--format", "rankings", "--out", str(default))
    assert default.read_text() == ""  # the default project has no rankings here
    with pytest.raises(CommandError, match="No project 'nowhere'"):
        call_command("export_preferences", "--format", "rankings", "--out", str(tmp_path / "x"), "--project", "nowhere")
    with pytest.raises(CommandError, match="no round"):
        call_command("export_preferences", "--format", "rankings", "--out", str(tmp_path / "y"), "--project", "a",
                     "--round", str(world["b"].round.pk))


def test_the_filter_refuses_another_projects_round_set_and_people(world):
    a = world["a"].project
    everything = rankings_selected(ranking_filter_parse(project=a))
    assert set(everything.values_list("pk", flat=True)) == world["a"].ranking_ids
    for inputs, field in ((dict(round=world["b"].round.pk), "round"), (dict(labeler="b-ranker-0"), "labeler"),
                          (dict(task_set="nothing-here"), "task_set")):
        with pytest.raises(RejectedInput) as caught:
            ranking_filter_parse(project=a, **inputs)
        assert caught.value.field == field and caught.value.status == 400
    picked = ranking_filter_parse(project=a, labeler=["a-ranker-0"], task_ids=[world["a"].tasks[0].pk])
    assert [r.pk for r in rankings_selected(picked)] == [world["a"].rankings[0].pk]


def test_a_training_run_reads_its_own_projects_rankings(world, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    rankings, path = run_rankings_write(world["b"].run)
    assert len(rankings) == 4
    assert {json.loads(line)["labeler"] for line in open(path)} == {"b-ranker-0", "b-ranker-1"}

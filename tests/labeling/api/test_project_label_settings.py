"""The API's next task carries its project's label settings, and its ranking and skip keep to them, as the
page does."""
import pytest

from labeling.models import Assignment, Project, Prompt, Ranking, Skip
from labeling.services.assignment import task_assign_next
from tests.labeling.api.conftest import assert_error


@pytest.fixture
def tone_lease(labeler, task_factory):
    tone = Project.objects.create(slug="tone", name="Tone", open_to_all=True, flags=[["tone", "Wrong tone"]],
                                  skip_reasons=[["offtopic", "Off topic"]], ask_scores=False)
    task = task_factory(k=3)
    Prompt.objects.filter(pk=task.prompt_id).update(project=tone)
    return task_assign_next(labeler=labeler)


def rank(api, labeler, assignment, **extra):
    payload = {"tiers": [assignment.display_order], **extra}
    return api(labeler).post(f"/api/v1/tasks/{assignment.task_id}/ranking/", payload, format="json")


def skip(api, labeler, assignment, reason):
    return api(labeler).post(f"/api/v1/tasks/{assignment.task_id}/skip/", {"reason": reason}, format="json")


def assert_nothing_written(assignment):
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ACTIVE
    assert Ranking.objects.count() == 0 and Skip.objects.count() == 0


def test_refusals_name_the_field_and_the_projects_keys(api, labeler, tone_lease):
    first = str(tone_lease.display_order[0])
    assert_error(rank(api, labeler, tone_lease, flags={first: ["harmful"]}), 400, "flags", "choose from tone")
    assert_error(rank(api, labeler, tone_lease, scores={first: 5}), 400, "scores", "does not ask for scores")
    assert_error(skip(api, labeler, tone_lease, "unclear"), 400, "reason", "offtopic")
    assert_nothing_written(tone_lease)


def test_the_projects_flag_is_stored(api, labeler, tone_lease):
    first = str(tone_lease.display_order[0])
    assert rank(api, labeler, tone_lease, flags={first: ["tone"]}).status_code == 201
    assert Ranking.objects.get().flags == {first: ["tone"]}


def test_the_projects_skip_reason_is_stored(api, labeler, tone_lease):
    assert skip(api, labeler, tone_lease, "offtopic").status_code == 201
    assert Skip.objects.get().reason == "offtopic"


def test_the_schema_leaves_the_choices_to_the_project(client):
    schemas = client.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    flag = schemas["RankingBodyRequest"]["properties"]["flags"]["additionalProperties"]["items"]
    reason = schemas["SkipBodyRequest"]["properties"]["reason"]
    assert flag["type"] == reason["type"] == "string" and "enum" not in flag and "enum" not in reason
    assert "project's flag keys" in flag["description"] and "project's skip reason keys" in reason["description"]


def test_each_leased_task_carries_its_own_projects_label_settings(api, labeler, tone_lease, task_factory):
    """Two projects with different flags, reasons, scores and instructions: each task gets its own."""
    Project.objects.filter(slug="tone").update(instructions="Rank by **tone**.\n\n<script>alert(1)</script>")
    client = api(labeler)
    first = client.get("/api/v1/tasks/next/").json()["task"]
    assert first["id"] == tone_lease.task_id
    assert first["project"] == {
        "slug": "tone", "name": "Tone",
        "flags": [{"key": "tone", "label": "Wrong tone"}],
        "skip_reasons": [{"key": "offtopic", "label": "Off topic"}],
        "ask_scores": False, "score_label_low": "Very poor", "score_label_high": "Excellent",
        "instructions": "Rank by **tone**.\n\n<script>alert(1)</script>",
        "instructions_html": first["project"]["instructions_html"],
    }
    html = first["project"]["instructions_html"]
    assert "<strong>tone</strong>" in html and "<script" not in html  # as the page renders it
    assert skip(api, labeler, tone_lease, "offtopic").status_code == 201

    other = task_factory(k=2)  # the demo's default project
    second = client.get("/api/v1/tasks/next/").json()["task"]
    default = Project.objects.get(slug="default")
    assert second["id"] == other.pk and second["project"]["slug"] == "default"
    assert [f["key"] for f in second["project"]["flags"]] == [key for key, _ in default.flags] != ["tone"]
    assert [r["key"] for r in second["project"]["skip_reasons"]] == [key for key, _ in default.skip_reasons]
    assert "offtopic" not in [r["key"] for r in second["project"]["skip_reasons"]]
    assert second["project"]["ask_scores"] is True and second["project"]["instructions_html"] == ""


def test_the_schema_describes_the_label_settings_of_a_leased_task(client):
    schemas = client.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    assert "project" in schemas["LeasedTask"]["required"]
    settings = schemas["LabelSettings"]["properties"]
    assert {"slug", "flags", "skip_reasons", "ask_scores", "score_label_low", "score_label_high", "instructions",
            "instructions_html"} <= set(settings)
    assert schemas["LabelChoice"]["required"] == ["key", "label"]


def test_next_task_takes_a_project(api, labeler, other_labeler, task_factory):
    """``?project=`` leases only that project's tasks; unknown projects and projects the caller does not
    label in are 404 alike; without it, any project the caller labels in."""
    tone = Project.objects.create(slug="tone", name="Tone")
    tone.memberships.create(user=labeler, role="labeler")
    closed = Project.objects.create(slug="closed", name="Closed")
    default_task = task_factory(k=2)
    tone_tasks = [task_factory(k=2) for _ in range(2)]
    Prompt.objects.filter(pk__in=[t.prompt_id for t in tone_tasks]).update(project=tone)
    for _ in range(2):  # twice: the second lease after the first is ranked stays in the project
        got = api(labeler).get("/api/v1/tasks/next/?project=tone").json()["task"]
        assert got["project"]["slug"] == "tone" and got["id"] in {t.pk for t in tone_tasks}
        assignment = Assignment.objects.get(pk=got["assignment_id"])
        assert rank(api, labeler, assignment).status_code == 201
    assert api(labeler).get("/api/v1/tasks/next/?project=tone").json() == {"task": None}
    assert api(labeler).get("/api/v1/tasks/next/").json()["task"]["id"] == default_task.pk
    for slug in ("closed", "nope"):
        assert_error(api(labeler).get(f"/api/v1/tasks/next/?project={slug}"), 404, "project", f"No project '{slug}'")
    assert_error(api(other_labeler).get("/api/v1/tasks/next/?project=tone"), 404, "project", "No project 'tone'")
    assert not Assignment.objects.filter(labeler=other_labeler).exists()

"""Project settings: project_update's checks (shared with project_create), the settings page, the list."""
import pytest

from labeling.errors import RejectedInput
from labeling.models import Project
from labeling.services.projects import project_create, project_update
from tests.labeling.project_people import (labeler_a, manager_a, member_b, project_a, project_b,  # noqa: F401
                                           signed_in)

SETTINGS_URL = "/projects/helpful/settings/"


def _form(project: Project, **changes) -> dict:
    data = {"name": project.name, "instructions": project.instructions, "k_min": project.k_min,
            "k_max": project.k_max, "required_rankings": project.required_rankings or "",
            "lease_minutes": project.lease_minutes or "",
            "flags": "\n".join(f"{k}: {v}" for k, v in project.flags),
            "skip_reasons": "\n".join(f"{k}: {v}" for k, v in project.skip_reasons),
            "ask_scores": "on" if project.ask_scores else "", "score_label_low": project.score_label_low,
            "score_label_high": project.score_label_high, "gold_min_accuracy": "", "gold_min_tasks": 5,
            "gold_rate": project.gold_rate, "auto_start_every": "", "auto_algo": "", "reward_base": ""}
    return {**data, **changes}


def test_project_update_saves_every_setting(project_a):
    project_update(project=project_a, name=" Helpful v2 ", instructions="# Rules", k_min=3, k_max=5,
                   required_rankings=2, lease_minutes=10, flags=[["rude", "Rude"]],
                   skip_reasons=[["lang", "Wrong language"]], ask_scores=False, score_label_low="Bad",
                   score_label_high="Good", gold_min_accuracy=0.8, gold_min_tasks=10, gold_rate=0.1,
                   auto_start_every=0, auto_algo="ppo", reward_base="/models/rm")
    saved = Project.objects.get(pk=project_a.pk)
    assert (saved.name, saved.k_min, saved.k_max, saved.required_rankings, saved.lease_minutes) == (
        "Helpful v2", 3, 5, 2, 10)
    assert (saved.flags, saved.skip_reasons, saved.ask_scores, saved.gold_min_accuracy, saved.gold_min_tasks,
            saved.gold_rate, saved.auto_start_every, saved.auto_algo, saved.reward_base) == (
        [["rude", "Rude"]], [["lang", "Wrong language"]], False, 0.8, 10, 0.1, 0, "ppo", "/models/rm")


@pytest.mark.parametrize("changes, field", [
    ({"name": "  "}, "name"),
    ({"k_min": 1}, "k_min"),
    ({"k_max": 10}, "k_max"),
    ({"k_min": 5, "k_max": 4}, "k_max"),
    ({"k_min": True}, "k_min"),
    ({"required_rankings": 0}, "required_rankings"),
    ({"required_rankings": 51}, "required_rankings"),
    ({"lease_minutes": 0}, "lease_minutes"),
    ({"flags": [["not a key", "Label"]]}, "flags"),
    ({"flags": [["a", "A"], ["a", "Again"]]}, "flags"),
    ({"flags": [["a", " "]]}, "flags"),
    ({"skip_reasons": []}, "skip_reasons"),
    ({"skip_reasons": [["x" * 41, "Too long a key"]]}, "skip_reasons"),
    ({"score_label_low": "x" * 61}, "score_label_low"),
    ({"gold_min_accuracy": 1.5}, "gold_min_accuracy"),
    ({"gold_min_accuracy": float("nan")}, "gold_min_accuracy"),
    ({"gold_min_tasks": 0}, "gold_min_tasks"),
    ({"gold_rate": 1.5}, "gold_rate"),
    ({"gold_rate": -0.01}, "gold_rate"),
    ({"gold_rate": float("inf")}, "gold_rate"),
    ({"gold_rate": None}, "gold_rate"),
    ({"gold_rate": True}, "gold_rate"),
    ({"auto_start_every": -1}, "auto_start_every"),
    ({"auto_algo": "dop"}, "auto_algo"),
    ({"reward_base": "a\nb"}, "reward_base"),
    ({"instructions": "x" * 50_001}, "instructions"),
    ({"round_defaults": {"nope": {}}}, "round_defaults"),
])
def test_project_update_refuses_a_bad_value_by_name_and_writes_nothing(project_a, changes, field):
    before = Project.objects.filter(pk=project_a.pk).values().get()
    with pytest.raises(RejectedInput) as refused:
        project_update(project=project_a, **{"name": "Renamed", **changes})
    assert refused.value.field == field
    assert Project.objects.filter(pk=project_a.pk).values().get() == before
    assert project_a.name == "Helpfulness"  # the object in hand is unchanged too


def test_project_create_uses_the_same_checks(db):
    with pytest.raises(RejectedInput) as refused:
        project_create(slug="wide", name="Wide", k_min=4, k_max=3)
    assert refused.value.field == "k_max"
    assert not Project.objects.filter(slug="wide").exists()


# ---------- the settings page ----------

def test_the_manager_sees_the_form_with_the_current_settings(project_a, manager_a):
    page = signed_in(manager_a).get(SETTINGS_URL)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'value="Helpfulness"' in body and "instruction: Fails to follow the instruction" in body


def test_the_manager_saves_settings_from_the_page(project_a, manager_a):
    data = _form(project_a, name="Helpful", k_max=4, flags="rude: Rude\nlong: Too long",
                 skip_reasons="lang: Wrong language", auto_algo="dpo")
    response = signed_in(manager_a).post(SETTINGS_URL, data)
    assert response.status_code == 302
    project_a.refresh_from_db()
    assert (project_a.name, project_a.k_max, project_a.flags, project_a.skip_reasons, project_a.auto_algo) == (
        "Helpful", 4, [["rude", "Rude"], ["long", "Too long"]], [["lang", "Wrong language"]], "dpo")


@pytest.mark.parametrize("changes, shown", [
    ({"k_min": "7", "k_max": "3"}, "Need 2 &lt;= k_min &lt;= k_max &lt;= 9"),
    ({"skip_reasons": ""}, "This field is required"),
    ({"skip_reasons": "no colon here"}, "Line 1 needs the form key: label."),
    ({"flags": "a: A\na: B"}, "the key &#x27;a&#x27; is there twice"),
    ({"gold_min_accuracy": "2"}, "gold_min_accuracy must be between 0 and 1"),
    ({"gold_rate": "1.5"}, "gold_rate must be between 0 and 1, not 1.5"),
    ({"gold_rate": "often"}, "Enter a number"),
])
def test_a_refused_setting_is_shown_on_the_page_and_nothing_is_saved(project_a, manager_a, changes, shown):
    before = Project.objects.filter(pk=project_a.pk).values().get()
    response = signed_in(manager_a).post(SETTINGS_URL, _form(project_a, name="Changed", **changes))
    assert response.status_code == 400
    assert shown in response.content.decode()
    assert Project.objects.filter(pk=project_a.pk).values().get() == before


def test_preview_renders_the_instructions_sanitised_without_saving(project_a, manager_a):
    text = "Prefer **short** answers. <script>alert(1)</script> [x](javascript:alert(2))"
    response = signed_in(manager_a).post(SETTINGS_URL, _form(project_a, instructions=text, preview="1"))
    body = response.content.decode()
    assert response.status_code == 200 and "<strong>short</strong>" in body
    assert "<script>alert(1)" not in body and 'href="javascript' not in body
    project_a.refresh_from_db()
    assert project_a.instructions == ""


@pytest.mark.parametrize("who, status", [("manager", 200), ("labeler", 403), ("member of B", 404),
                                         ("staff", 200), ("anonymous", 302)])
def test_who_may_open_the_settings_page(project_a, manager_a, labeler_a, member_b, admin, who, status):
    user = {"manager": manager_a, "labeler": labeler_a, "member of B": member_b, "staff": admin,
            "anonymous": None}[who]
    assert signed_in(user).get(SETTINGS_URL).status_code == status
    before = Project.objects.filter(pk=project_a.pk).values().get()
    signed_in(user).post(SETTINGS_URL, _form(project_a, name="Taken over"))
    if who not in ("manager", "staff"):
        assert Project.objects.filter(pk=project_a.pk).values().get() == before


def test_an_unknown_project_is_404(manager_a):
    assert signed_in(manager_a).get("/projects/nowhere/settings/").status_code == 404


# ---------- the projects list and the navigation ----------

def test_the_list_shows_a_manager_their_projects_only(project_a, project_b, manager_a):
    response = signed_in(manager_a).get("/projects/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "/projects/helpful/settings/" in body and "/projects/harmless/" not in body
    assert 'action="/projects/new"' not in body  # creating is for staff
    assert 'href="/projects/">Projects</a>' in body  # the navigation link


def test_a_labeler_has_no_projects_page_and_no_link(labeler_a):
    assert signed_in(labeler_a).get("/projects/").status_code == 403
    assert 'href="/projects/"' not in signed_in(labeler_a).get("/accounts/password_change/").content.decode()


def test_staff_see_every_project_and_create_one(project_a, project_b, admin):
    client = signed_in(admin)
    body = client.get("/projects/").content.decode()
    assert "/projects/helpful/settings/" in body and "/projects/harmless/settings/" in body
    response = client.post("/projects/new", {"slug": "honest", "name": "Honesty"})
    assert response.status_code == 302 and response["Location"] == "/projects/honest/settings/"
    assert Project.objects.get(slug="honest").name == "Honesty"
    refused = client.post("/projects/new", {"slug": "honest", "name": "Again"})
    assert refused.status_code == 400 and "already exists" in refused.content.decode()


def test_only_staff_create_projects(manager_a):
    assert signed_in(manager_a).post("/projects/new", {"slug": "mine", "name": "Mine"}).status_code == 403
    assert not Project.objects.filter(slug="mine").exists()


def test_round_defaults_are_edited_as_json_and_checked_like_a_round_would(project_a, manager_a):
    client = signed_in(manager_a)
    assert client.post(SETTINGS_URL, _form(project_a, round_defaults='{"dpo": {"beta": 0.2}}')).status_code == 302
    project_a.refresh_from_db()
    assert project_a.round_defaults == {"dpo": {"beta": 0.2}}
    refused = client.post(SETTINGS_URL, _form(project_a, round_defaults='{"nope": {}}'))
    assert refused.status_code == 400 and "Unknown round setting" in refused.content.decode()
    assert Project.objects.get(pk=project_a.pk).round_defaults == {"dpo": {"beta": 0.2}}


def _policy(project, name, kind="policy"):
    from labeling.models import ModelVersion

    return ModelVersion.objects.create(project=project, kind=kind, name=name, algorithm="external", path="/x")


def test_base_policy_is_one_of_the_projects_or_defaults_policies(project_a, project_b):
    from labeling.models import default_project_id

    own, shared = _policy(project_a, "a-v1"), _policy(Project.objects.get(pk=default_project_id()), "sft")
    for version in (own, shared, None):
        assert project_update(project=project_a, base_policy=version).base_policy == version
    for version in (_policy(project_b, "b-v1"), _policy(project_a, "a-rm", kind="reward")):
        with pytest.raises(RejectedInput) as refused:
            project_update(project=project_a, base_policy=version)
        assert refused.value.field == "base_policy"
    assert Project.objects.get(pk=project_a.pk).base_policy is None


def test_the_page_offers_no_other_projects_policy(project_a, project_b, manager_a):
    own, other = _policy(project_a, "a-v1"), _policy(project_b, "b-secret-policy")
    client = signed_in(manager_a)
    page = client.get(SETTINGS_URL).content.decode()
    assert "a-v1" in page and "b-secret-policy" not in page
    assert client.post(SETTINGS_URL, _form(project_a, base_policy=other.pk)).status_code == 400
    assert client.post(SETTINGS_URL, _form(project_a, base_policy=own.pk)).status_code == 302
    assert Project.objects.get(pk=project_a.pk).base_policy == own

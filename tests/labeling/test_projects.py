"""Projects: made and joined by command, imports go into one, and labelers are given only their projects' tasks."""
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from labeling.models import DEFAULT_PROJECT_SLUG, Membership, Project, Prompt, RankingTask, Skip
from labeling.services.assignment import task_assign_next
from tests.factories import UserFactory
from tests.labeling.test_import_commands import GOOD_TASK, write_jsonl


@pytest.fixture
def helpful(db):
    call_command("project_create", "helpful", "--name", "Helpfulness", "--k-min", "2", "--k-max", "3",
                 "--lease-minutes", "5")
    return Project.objects.get(slug="helpful")


def _import(tmp_path, project: str, rows, name="in.jsonl"):
    call_command("import_tasks", write_jsonl(tmp_path, rows, name=name), "--project", project)


def test_project_create_makes_a_closed_project_with_its_settings(helpful, tmp_path):
    assert (helpful.name, helpful.k_min, helpful.k_max, helpful.lease_minutes, helpful.open_to_all) == (
        "Helpfulness", 2, 3, 5, False)
    (tmp_path / "rules.md").write_text("# Rules\n\nPrefer **short** answers.")
    call_command("project_create", "harmless", "--name", "Harmlessness", "--instructions", str(tmp_path / "rules.md"))
    assert Project.objects.get(slug="harmless").instructions.startswith("# Rules")


@pytest.mark.parametrize("args, message", [
    (["helpful", "--name", "Again"], "already exists"),
    (["not a slug", "--name", "X"], "slug"),
    (["wide", "--name", "X", "--k-min", "1"], "2 <= k_min <= k_max <= 9"),
    (["wide", "--name", "X", "--k-min", "5", "--k-max", "4"], "2 <= k_min <= k_max <= 9"),
    (["wide", "--name", " "], "needs a name"),
    (["wide", "--name", "X", "--required-rankings", "0"], "required_rankings"),
    (["wide", "--name", "X", "--lease-minutes", "0"], "lease_minutes"),
    (["wide", "--name", "X", "--instructions", "/nonexistent.md"], "no such file"),
])
def test_bad_projects_are_refused_and_nothing_is_made(helpful, args, message):
    before = Project.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("project_create", *args)
    assert Project.objects.count() == before


def test_project_add_member_gives_and_changes_a_role(helpful):
    UserFactory(username="carol")
    call_command("project_add_member", "helpful", "carol")
    call_command("project_add_member", "helpful", "carol", "--role", "manager")
    assert list(Membership.objects.values_list("project__slug", "user__username", "role")) == [
        ("helpful", "carol", "manager")]


@pytest.mark.parametrize("args, message", [
    (["helpful", "nobody"], "No user 'nobody'"),
    (["nowhere", "carol"], "No project 'nowhere'"),
    (["helpful", "carol", "--role", "owner"], "role must be one of labeler, reviewer, manager"),
])
def test_bad_memberships_are_refused(helpful, args, message):
    UserFactory(username="carol")
    with pytest.raises(CommandError, match=message):
        call_command("project_add_member", *args)
    assert not Membership.objects.exists()


def test_imports_go_into_the_named_project_and_ids_are_unique_per_project(helpful, tmp_path):
    row = {**GOOD_TASK, "id": "t-1"}
    _import(tmp_path, "helpful", [row])
    call_command("import_tasks", write_jsonl(tmp_path, [row], name="again.jsonl"))  # the default project
    assert sorted(Prompt.objects.values_list("project__slug", flat=True)) == [DEFAULT_PROJECT_SLUG, "helpful"]
    with pytest.raises(CommandError, match="already in the database"):
        _import(tmp_path, "helpful", [row], name="third.jsonl")
    call_command("import_prompts", write_jsonl(tmp_path, [{"prompt": "Hi?"}], name="p.jsonl"), "--project", "helpful")
    assert Prompt.objects.filter(project=helpful).count() == 2


@pytest.mark.parametrize("command, row", [
    ("import_tasks", {"prompt": "Four?", "completions": ["a", "b", "c", "d"]}),
    ("import_prompts", {"prompt": "Hi?"}),
])
def test_an_import_into_a_project_that_refuses_it_writes_nothing(helpful, tmp_path, command, row):
    path = write_jsonl(tmp_path, [GOOD_TASK, row] if command == "import_tasks" else [row])
    project = "helpful" if command == "import_tasks" else "nowhere"
    message = "task 2 has 4 completions; project 'helpful' takes 2 to 3" if project == "helpful" else "No project"
    with pytest.raises(CommandError, match=message):
        call_command(command, path, "--project", project)
    assert not Prompt.objects.exists()


def test_labelers_are_given_tasks_of_their_projects_and_of_open_ones_only(helpful, tmp_path):
    _import(tmp_path, "helpful", [GOOD_TASK])
    _import(tmp_path, DEFAULT_PROJECT_SLUG, [{**GOOD_TASK, "prompt": "Name 2 fruits."}], name="open.jsonl")
    Project.objects.update(gold_rate=0)  # GOOD_TASK has gold tiers: here it is an ordinary queue item
    member, outsider = UserFactory(username="member"), UserFactory(username="outsider")
    Membership.objects.create(project=helpful, user=member)
    in_helpful = RankingTask.objects.get(prompt__project=helpful)
    now = timezone.now()

    first = task_assign_next(labeler=outsider, now=now)
    assert first.task.prompt.project.slug == DEFAULT_PROJECT_SLUG
    Skip.objects.create(task=first.task, labeler=outsider, reason=Skip.Reason.values[0])
    first.delete()
    assert task_assign_next(labeler=outsider, now=now) is None  # never the closed project's task

    lease = task_assign_next(labeler=member, now=now)
    assert lease.task == in_helpful  # the oldest task among its projects
    assert lease.expires_at == now + timedelta(minutes=5)  # the project's lease minutes


def test_the_labeler_page_shows_the_projects_instructions_as_safe_markdown(helpful, tmp_path, client):
    helpful.instructions = "Prefer **short** answers. <script>alert(1)</script> [x](javascript:alert(2))"
    helpful.save()
    _import(tmp_path, "helpful", [GOOD_TASK])
    Project.objects.update(gold_rate=0)  # GOOD_TASK has gold tiers: here it is an ordinary queue item
    member = UserFactory(username="member")
    Membership.objects.create(project=helpful, user=member)
    client.force_login(member)
    page = client.get("/label/").content.decode()
    assert "Helpfulness" in page and "<strong>short</strong>" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page and "href=\"javascript:" not in page


def test_a_project_without_instructions_shows_no_panel(db, task_factory, client):
    task_factory()
    client.force_login(UserFactory())
    page = client.get("/label/").content.decode()
    assert 'id="project-instructions"' not in page and "labeler-project" not in page

"""The home page lists a person's projects with progress and their own figures; Label picks one project."""
import pytest
from django.test import Client
from django.utils import timezone

from labeling.models import Membership, Project, Prompt
from labeling.selectors.labeler_home import labeler_home_rows
from labeling.services.assignment import task_assign_next
from labeling.services.ranking import ranking_submit
from tests.factories import UserFactory, make_task


def _task_in(project, **kwargs):
    task = make_task(**kwargs)
    Prompt.objects.filter(pk=task.prompt_id).update(project=project)
    return task


def _rank(user, project=None):
    lease = task_assign_next(labeler=user, project=project)
    ranking_submit(labeler=user, assignment_id=lease.pk, submission_id=f"s-{lease.pk}",
                   tiers=[[c] for c in lease.display_order])
    return lease.task


@pytest.fixture
def projects(db):
    a = Project.objects.create(slug="a", name="Helpfulness", instructions="Prefer the **useful** answer.")
    b = Project.objects.create(slug="b", name="Harmlessness")
    for i in range(3):
        _task_in(a, k=2, required_rankings=1, prompt_text=f"a {i}")
    _task_in(b, k=2, required_rankings=1, prompt_text="b 0")
    return a, b


def test_rows_count_only_the_labelers_projects(projects, labeler):
    a, b = projects
    Membership.objects.create(project=a, user=labeler)
    _rank(labeler, a)
    rows = {row["project"].slug: row for row in labeler_home_rows(user=labeler, now=timezone.now())}
    assert set(rows) == {"a", "default"}  # b: not a member; default: open to every signed-in user
    assert (rows["a"]["done"], rows["a"]["today"], rows["a"]["remaining"]) == (1, 1, 2)
    assert (rows["a"]["tasks_complete"], rows["a"]["tasks_total"]) == (1, 3)
    assert rows["a"]["role"] == "labeler"


def test_the_home_page_shows_projects_and_links_to_label_in_one(projects, labeler, client):
    a, _ = projects
    Membership.objects.create(project=a, user=labeler)
    client.force_login(labeler)
    page = client.get("/").content.decode()
    assert "Helpfulness" in page and "Harmlessness" not in page
    assert "/label/?project=a" in page and "<strong>useful</strong>" in page


def test_label_with_a_project_leases_only_there_and_the_choice_sticks(projects, labeler, client):
    a, b = projects
    for project in (a, b):
        Membership.objects.create(project=project, user=labeler)
    client.force_login(labeler)
    client.get("/label/?project=b")
    assert task_assign_next(labeler=labeler).task.prompt.project == b  # the lease the page made
    _rank(labeler, b)
    page = client.get("/label/")  # no parameter: still b, which has nothing left
    assert page.status_code == 200 and "Showing tasks of Harmlessness only" in " ".join(page.content.decode().split())
    client.get("/label/?project=all")
    assert task_assign_next(labeler=labeler).task.prompt.project == a


def test_a_project_the_labeler_is_not_in_answers_404_and_leases_nothing(projects, labeler):
    client = Client()
    client.force_login(labeler)
    assert client.get("/label/?project=b").status_code == 404
    assert client.get("/label/?project=nope").status_code == 404
    assert not labeler.assignments.exists()
    assert client.get("/label/").status_code == 200  # the bad choice was not kept


def test_visitors_are_sent_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_someone_in_no_project_is_told_how_to_join(db):
    Project.objects.filter(slug="default").update(open_to_all=False)
    Project.objects.get_or_create(slug="default", defaults={"name": "Default"})
    client = Client()
    client.force_login(UserFactory())
    assert "invite link" in client.get("/").content.decode()

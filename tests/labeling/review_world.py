"""A project with a reviewer, labelers and ranked tasks, for the review tests. Import the fixtures by name.

``helpful`` has ``rita`` as its reviewer and the ``labeler`` persona (alice) as a labeler; ``harmless``
has ``bob`` (the ``other_labeler`` persona) as a labeler and one ranked task of its own.
"""
import pytest

from labeling.models import Demonstration, DemonstrationTask, Membership, Prompt, Ranking
from labeling.services.projects import project_create
from tests.factories import UserFactory, make_task


def project_task(project, *, k: int = 4, gold_tiers=None, prompt_text=None):
    task = make_task(k=k, gold_tiers=gold_tiers, prompt_text=prompt_text)
    Prompt.objects.filter(pk=task.prompt_id).update(project=project)
    return task


def completion_ids(task) -> list[int]:
    return list(task.completions.order_by("pk").values_list("pk", flat=True))


def rank(task, user, order, *, flags=None) -> Ranking:
    """``user``'s ranking of ``task``: ``order`` lists completion indexes best first, a tuple is a tie."""
    ids = completion_ids(task)
    tiers = [[ids[i] for i in (item if isinstance(item, tuple) else (item,))] for item in order]
    return Ranking.objects.create(task=task, labeler=user, tiers=tiers, display_order=ids, flags=flags or {},
                                  submission_id=f"{task.pk}-{user.pk}")


def demonstration(project, user, text: str = "A careful answer.") -> Demonstration:
    prompt = Prompt.objects.create(project=project, text=f"Write for {user.username}")
    task = DemonstrationTask.objects.create(prompt=prompt)
    return Demonstration.objects.create(task=task, labeler=user, text=text, submission_id=f"d-{task.pk}")


def member(project, username: str, role: str):
    user = UserFactory(username=username)
    Membership.objects.create(project=project, user=user, role=role)
    return user


@pytest.fixture
def project(db):
    return project_create(slug="helpful", name="Helpfulness")


@pytest.fixture
def other_project(db):
    return project_create(slug="harmless", name="Harmlessness")


@pytest.fixture
def reviewer(project):
    return member(project, "rita", Membership.Role.REVIEWER)


@pytest.fixture
def project_labeler(project, labeler):
    Membership.objects.create(project=project, user=labeler, role=Membership.Role.LABELER)
    return labeler


@pytest.fixture
def ranked(project, project_labeler, other_labeler):
    """A task of 4 completions in ``project`` ranked by alice (A > B > C > D) and bob (B > A > C = D)."""
    task = project_task(project)
    return {"task": task, "alice": rank(task, project_labeler, [0, 1, 2, 3]),
            "bob": rank(task, other_labeler, [1, 0, (2, 3)])}


@pytest.fixture
def foreign_ranking(other_project, other_labeler):
    return rank(project_task(other_project, k=3), other_labeler, [0, 1, 2])

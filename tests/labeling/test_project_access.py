"""One rule turns ``?project=SLUG`` into a project and a role, for the pages and the API alike."""
import pytest

from labeling.errors import RejectedInput
from labeling.models import Membership
from labeling.selectors.projects import project_access_by_slug
from tests.labeling.project_people import (labeler_a, manager_a, member_b, project_a, project_b,  # noqa: F401
                                           signed_in)


def _refusal(user, slug, needed="labeler") -> RejectedInput:
    with pytest.raises(RejectedInput) as refused:
        project_access_by_slug(user=user, slug=slug, needed=needed)
    return refused.value


def test_an_unknown_slug_and_a_project_without_a_role_are_refused_alike(project_a, project_b, labeler_a):
    unknown, not_mine = _refusal(labeler_a, "nowhere"), _refusal(labeler_a, "harmless")
    assert (unknown.status, not_mine.status) == (404, 404)
    assert unknown.message == "No project 'nowhere'." and not_mine.message == "No project 'harmless'."


def test_a_role_too_low_is_403_and_enough_gives_the_project_and_role(project_a, labeler_a, manager_a):
    assert _refusal(labeler_a, "helpful", "reviewer").status == 403
    assert project_access_by_slug(user=labeler_a, slug="helpful", needed="labeler") == (project_a, "labeler")
    assert project_access_by_slug(user=manager_a, slug="helpful", needed="manager") == (project_a, "manager")


def test_staff_manage_every_project_and_no_slug_is_default(project_b, admin, labeler):
    assert project_access_by_slug(user=admin, slug="harmless", needed="manager") == (project_b, "manager")
    project, role = project_access_by_slug(user=labeler, slug=None, needed="labeler")
    assert (project.slug, role) == ("default", "labeler")


@pytest.mark.parametrize("path", ["/stats/?project={}", "/api/v1/tasks/?project={}"])
def test_the_page_and_the_api_answer_the_same_statuses(project_a, project_b, labeler_a, member_b, path):
    statuses = [signed_in(user).get(path.format(slug)).status_code
                for user, slug in ((labeler_a, "nowhere"), (labeler_a, "harmless"), (labeler_a, "helpful"),
                                   (member_b, "harmless"))]
    assert statuses == [404, 404, 403, 200]


def test_the_label_page_forgets_a_chosen_project_its_labeler_has_left(project_a, labeler_a):
    client = signed_in(labeler_a)
    assert client.get("/label/?project=helpful").status_code == 200
    Membership.objects.filter(user=labeler_a).delete()
    assert client.get("/label/").status_code == 404
    assert client.get("/label/").status_code == 200  # back to every project they label in

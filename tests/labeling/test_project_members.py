"""Members: a manager adds people by username, changes roles, removes them; a project keeps a manager."""
import pytest

from labeling.errors import RejectedInput
from labeling.models import Membership
from labeling.services.projects import project_add_member, project_remove_member
from tests.factories import UserFactory
from tests.labeling.project_people import (labeler_a, manager_a, member_b, project_a, project_b,  # noqa: F401
                                           signed_in)

MEMBERS_URL = "/projects/helpful/members/"


def _roles(project) -> dict:
    return dict(Membership.objects.filter(project=project).values_list("user__username", "role"))


def test_remove_member_takes_them_out(project_a, manager_a, labeler_a):
    project_remove_member(project=project_a, username="alice")
    assert _roles(project_a) == {"carol": "manager"}


@pytest.mark.parametrize("username, status", [("nobody", 404), ("dave", 404)])
def test_removing_someone_who_is_not_a_member_is_refused(project_a, manager_a, username, status):
    UserFactory(username="dave")
    with pytest.raises(RejectedInput) as refused:
        project_remove_member(project=project_a, username=username)
    assert refused.value.status == status and _roles(project_a) == {"carol": "manager"}


def test_the_last_manager_cannot_be_removed_or_demoted(project_a, manager_a):
    for attempt in (lambda: project_remove_member(project=project_a, username="carol"),
                    lambda: project_add_member(project=project_a, username="carol", role="labeler")):
        with pytest.raises(RejectedInput, match="last manager") as refused:
            attempt()
        assert refused.value.status == 409
    assert _roles(project_a) == {"carol": "manager"}


def test_with_a_second_manager_the_first_may_step_down(project_a, manager_a):
    UserFactory(username="dave")
    project_add_member(project=project_a, username="dave", role="manager")
    project_add_member(project=project_a, username="carol", role="reviewer")
    assert _roles(project_a) == {"carol": "reviewer", "dave": "manager"}
    with pytest.raises(RejectedInput, match="last manager"):
        project_remove_member(project=project_a, username="dave")


# ---------- the members page ----------

def test_the_manager_adds_changes_and_removes_members_on_the_page(project_a, manager_a):
    UserFactory(username="dave")
    client = signed_in(manager_a)
    assert client.post(MEMBERS_URL, {"username": "dave", "role": "reviewer"}).status_code == 302
    assert client.post(MEMBERS_URL, {"username": "dave", "role": "labeler"}).status_code == 302
    page = client.get(MEMBERS_URL).content.decode()
    assert "dave" in page and 'value="labeler" selected' in page
    assert client.post(MEMBERS_URL + "remove", {"username": "dave"}).status_code == 302
    assert _roles(project_a) == {"carol": "manager"}


@pytest.mark.parametrize("url, data, status, shown", [
    (MEMBERS_URL, {"username": "nobody", "role": "labeler"}, 400, "No user &#x27;nobody&#x27;"),
    (MEMBERS_URL, {"username": "carol", "role": "owner"}, 400, "Select a valid choice"),
    (MEMBERS_URL, {"username": "carol", "role": "labeler"}, 400, "carol is the last manager"),
    (MEMBERS_URL + "remove", {"username": "carol"}, 400, "carol is the last manager"),
])
def test_refusals_are_shown_on_the_page(project_a, manager_a, url, data, status, shown):
    response = signed_in(manager_a).post(url, data)
    assert response.status_code == status and shown in response.content.decode()
    assert _roles(project_a) == {"carol": "manager"}


@pytest.mark.parametrize("who, status", [("manager", 200), ("labeler", 403), ("member of B", 404),
                                         ("staff", 200), ("anonymous", 302)])
def test_who_may_see_and_change_members(project_a, manager_a, labeler_a, member_b, admin, who, status):
    user = {"manager": manager_a, "labeler": labeler_a, "member of B": member_b, "staff": admin,
            "anonymous": None}[who]
    assert signed_in(user).get(MEMBERS_URL).status_code == status
    if who in ("manager", "staff"):
        return
    for url, data in ((MEMBERS_URL, {"username": "bob", "role": "manager"}), (MEMBERS_URL + "remove",
                                                                             {"username": "carol"})):
        signed_in(user).post(url, data)
    assert _roles(project_a) == {"carol": "manager", "alice": "labeler"}


def test_a_member_of_b_cannot_manage_a_through_their_own_slug(project_a, project_b, manager_a, member_b):
    """Bob manages B; a username of A's posted to B's page changes B only."""
    response = signed_in(member_b).post("/projects/harmless/members/remove", {"username": "carol"})
    assert response.status_code == 400 and "not a member" in response.content.decode()
    assert _roles(project_a) == {"carol": "manager"}

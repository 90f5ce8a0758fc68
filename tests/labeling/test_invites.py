"""Invite links: made by a project's manager, used once, until they expire, never above their role."""
import hashlib
import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.utils import timezone

from labeling.errors import RejectedInput
from labeling.models import Membership, ProjectInvite
from labeling.services.invites import invite_accept, invite_create, invite_revoke
from tests.factories import UserFactory
from tests.labeling.project_people import (labeler_a, manager_a, member_b, project_a, project_b,  # noqa: F401
                                           signed_in)

GOOD_PASSWORD = "long-enough-pass-42"
BAD_ADDRESSES = ("not-an-address", "erin@")


def _invite(project, manager, role="labeler", days=7):
    return invite_create(project=project, role=role, days=days, created_by=manager)


def _signup(username: str, password: str = GOOD_PASSWORD, again: str | None = None, email: str = "") -> dict:
    return {"username": username, "email": email, "password1": password,
            "password2": password if again is None else again}


def _roles(project) -> dict:
    return dict(Membership.objects.filter(project=project).values_list("user__username", "role"))


# ---------- services ----------

def test_an_invite_stores_only_the_hash_of_its_token(project_a, manager_a):
    invite, token = _invite(project_a, manager_a, role="reviewer", days=3)
    assert len(token) >= 43 and token not in str(ProjectInvite.objects.filter(pk=invite.pk).values().get())
    assert invite.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (invite.role, invite.created_by) == ("reviewer", manager_a)
    assert timedelta(days=3) - timedelta(minutes=1) < invite.expires_at - timezone.now() <= timedelta(days=3)


@pytest.mark.parametrize("kwargs, field", [
    ({"role": "owner"}, "role"), ({"days": 0}, "days"), ({"days": 31}, "days"), ({"days": "7"}, "days"),
])
def test_bad_invites_are_refused(project_a, manager_a, kwargs, field):
    with pytest.raises(RejectedInput) as refused:
        invite_create(project=project_a, created_by=manager_a, **{"role": "labeler", "days": 7, **kwargs})
    assert refused.value.field == field and not ProjectInvite.objects.exists()


def test_only_a_manager_of_the_project_makes_its_invites(project_a, project_b, labeler_a, member_b):
    for user in (labeler_a, member_b):  # a labeler of A; the manager of B
        with pytest.raises(RejectedInput) as refused:
            _invite(project_a, user)
        assert refused.value.status == 403
    assert not ProjectInvite.objects.exists()


def test_a_new_person_joins_with_exactly_the_invites_role(project_a, manager_a):
    _, token = _invite(project_a, manager_a, role="reviewer")
    membership = invite_accept(token=token, username="erin", password=GOOD_PASSWORD)
    assert (membership.user.username, membership.role, membership.project) == ("erin", "reviewer", project_a)
    assert membership.user.check_password(GOOD_PASSWORD) and not membership.user.is_staff
    invite = ProjectInvite.objects.get()
    assert invite.used_by == membership.user and invite.used_at is not None


def test_a_new_persons_email_is_stored_normalised_and_is_optional(project_a, manager_a):
    _, token = _invite(project_a, manager_a)
    assert invite_accept(token=token, username="erin", email=" erin@EXAMPLE.com ", password=GOOD_PASSWORD
                         ).user.email == "erin@example.com"
    _, token = _invite(project_a, manager_a)
    assert invite_accept(token=token, username="frank", password=GOOD_PASSWORD).user.email == ""


def test_a_signed_in_user_joins_and_a_higher_role_is_kept(project_a, manager_a, labeler):
    _, token = _invite(project_a, manager_a, role="reviewer")
    assert invite_accept(token=token, user=labeler).role == "reviewer"
    _, token = _invite(project_a, manager_a, role="labeler")
    assert invite_accept(token=token, user=manager_a).role == "manager"  # never lowered
    assert _roles(project_a) == {"alice": "reviewer", "carol": "manager"}


def _refused_with_nothing_created(token, **kwargs):
    users, memberships = get_user_model().objects.count(), Membership.objects.count()
    with pytest.raises(RejectedInput) as refused:
        invite_accept(token=token, **kwargs)
    assert (get_user_model().objects.count(), Membership.objects.count()) == (users, memberships)
    return refused.value


def test_a_used_link_is_refused_the_second_time(project_a, manager_a, other_labeler):
    _, token = _invite(project_a, manager_a)
    invite_accept(token=token, username="erin", password=GOOD_PASSWORD)
    refused = _refused_with_nothing_created(token, username="frank", password=GOOD_PASSWORD)
    assert refused.status == 404 and "project" not in refused.message.lower().replace("this invite", "")
    _refused_with_nothing_created(token, user=other_labeler)


def test_an_expired_link_is_refused(project_a, manager_a, other_labeler):
    invite, token = _invite(project_a, manager_a)
    ProjectInvite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _refused_with_nothing_created(token, user=other_labeler).status == 404


def test_a_revoked_link_is_refused(project_a, manager_a, other_labeler):
    invite, token = _invite(project_a, manager_a)
    invite_revoke(project=project_a, invite_id=invite.pk)
    assert _refused_with_nothing_created(token, user=other_labeler).status == 404


@pytest.mark.parametrize("token", ["", "nope", "x" * 500])
def test_an_unknown_token_is_refused(project_a, manager_a, token):
    _invite(project_a, manager_a)
    assert _refused_with_nothing_created(token, username="erin", password=GOOD_PASSWORD).status == 404


def test_revoking_is_for_the_invites_own_project_and_not_after_use(project_a, project_b, manager_a):
    invite, token = _invite(project_a, manager_a)
    with pytest.raises(RejectedInput) as refused:
        invite_revoke(project=project_b, invite_id=invite.pk)
    assert refused.value.status == 404 and not ProjectInvite.objects.get().revoked
    invite_accept(token=token, username="erin", password=GOOD_PASSWORD)
    with pytest.raises(RejectedInput, match="already been used"):
        invite_revoke(project=project_a, invite_id=invite.pk)


@pytest.mark.parametrize("field, username, password, email", [
    ("username", "alice", GOOD_PASSWORD, ""),  # taken
    ("username", "ALICE", GOOD_PASSWORD, ""),  # taken, in other letters
    ("username", "no spaces!", GOOD_PASSWORD, ""),
    ("username", "", GOOD_PASSWORD, ""),
    ("password", "erin", "short", ""),  # MinimumLengthValidator
    ("password", "erin", "password123", ""),  # CommonPasswordValidator
    ("password", "erin", "8675309042", ""),  # NumericPasswordValidator
    ("password", "erinbrown", "erinbrown1", ""),  # UserAttributeSimilarityValidator
    ("password", "erin", "", ""),
    ("email", "erin", GOOD_PASSWORD, BAD_ADDRESSES[0]),
    ("email", "erin", GOOD_PASSWORD, BAD_ADDRESSES[1]),
    ("email", "erin", GOOD_PASSWORD, "x" * 250 + "@example.com"),
    ("password", "erin", "erin.brown-mail", "erin.brown-mail@example.com"),  # too like the address
])
def test_a_bad_new_account_is_refused_and_the_link_still_works(project_a, manager_a, labeler, field, username,
                                                               password, email):
    _, token = _invite(project_a, manager_a)
    assert _refused_with_nothing_created(token, username=username, email=email, password=password).field == field
    assert invite_accept(token=token, username="erin", password=GOOD_PASSWORD).role == "labeler"


def test_a_stale_invite_loses_the_compare_and_set(project_a, manager_a, monkeypatch):
    """The UPDATE decides, not the earlier read: an invite used after the read is refused, nothing made."""
    from labeling.services import invites as invites_service

    invite, token = _invite(project_a, manager_a)
    stale = ProjectInvite.objects.select_related("project").get(pk=invite.pk)
    ProjectInvite.objects.filter(pk=invite.pk).update(used_at=timezone.now())
    monkeypatch.setattr(invites_service, "invite_by_token", lambda token: stale)
    assert _refused_with_nothing_created(token, username="erin", password=GOOD_PASSWORD).status == 404
    assert not get_user_model().objects.filter(username="erin").exists()


@pytest.mark.django_db(transaction=True)
def test_two_accepts_at_once_make_one_membership():
    from labeling.services.projects import project_create

    project = project_create(slug="race", name="Race")
    manager = UserFactory(username="manager", is_staff=True)
    _, token = _invite(project, manager)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(username):
        try:
            barrier.wait()
            invite_accept(token=token, username=username, password=GOOD_PASSWORD)
            outcomes.append("joined")
        except RejectedInput as exc:
            outcomes.append(f"refused {exc.status}")
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(name,)) for name in ("racer1", "racer2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["joined", "refused 404"]
    assert Membership.objects.filter(project=project).count() == 1
    assert get_user_model().objects.filter(username__startswith="racer").count() == 1


# ---------- pages ----------

def test_the_manager_makes_an_invite_and_sees_the_link_once(project_a, manager_a):
    client = signed_in(manager_a)
    response = client.post("/projects/helpful/invites/", {"role": "reviewer", "days": 5})
    body = response.content.decode()
    assert response.status_code == 201
    token = body.split("http://testserver/invites/")[1].split("/")[0]
    assert ProjectInvite.objects.get().token_hash == hashlib.sha256(token.encode()).hexdigest()
    listing = client.get("/projects/helpful/members/").content.decode()
    assert token not in listing and "Reviewer" in listing and "carol" in listing


@pytest.mark.parametrize("data, shown", [({"role": "labeler", "days": 31}, "valid for 1 to 30 days"),
                                         ({"role": "owner", "days": 3}, "Select a valid choice")])
def test_a_bad_invite_is_refused_on_the_page(project_a, manager_a, data, shown):
    response = signed_in(manager_a).post("/projects/helpful/invites/", data)
    assert response.status_code == 400 and shown in response.content.decode()
    assert not ProjectInvite.objects.exists()


def test_the_manager_revokes_an_invite_on_the_page(project_a, project_b, manager_a, member_b):
    invite, token = _invite(project_a, manager_a)
    assert signed_in(member_b).post(f"/projects/harmless/invites/{invite.pk}/revoke").status_code == 404
    assert signed_in(member_b).post(f"/projects/helpful/invites/{invite.pk}/revoke").status_code == 404
    assert not ProjectInvite.objects.get().revoked
    assert signed_in(manager_a).post(f"/projects/helpful/invites/{invite.pk}/revoke").status_code == 302
    assert ProjectInvite.objects.get().revoked
    assert signed_in(None).get(f"/invites/{token}/").status_code == 404


@pytest.mark.parametrize("who, status", [("labeler", 403), ("member of B", 404), ("anonymous", 302)])
def test_only_the_projects_managers_make_invites_on_the_page(project_a, labeler_a, member_b, who, status):
    user = {"labeler": labeler_a, "member of B": member_b, "anonymous": None}[who]
    assert signed_in(user).post("/projects/helpful/invites/", {"role": "manager", "days": 3}).status_code == status
    assert not ProjectInvite.objects.exists()


def test_a_visitor_creates_an_account_through_the_link_and_is_signed_in(project_a, manager_a, client):
    _, token = _invite(project_a, manager_a, role="labeler")
    page = client.get(f"/invites/{token}/")
    assert page.status_code == 200 and "Helpfulness" in page.content.decode()
    response = client.post(f"/invites/{token}/", _signup("erin"))
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert home.context["user"].username == "erin" and "Helpfulness" in home.content.decode()
    assert _roles(project_a) == {"carol": "manager", "erin": "labeler"}
    assert client.get(f"/invites/{token}/").status_code == 404


@pytest.mark.parametrize("data, shown", [
    (_signup("alice"), "is taken"),
    (_signup("erin", "short"), "too short"),
    (_signup("erin", "erin.brown-mail", email="erin.brown-mail@example.com"), "too similar to the email"),
    (_signup("erin", again=GOOD_PASSWORD + "x"), "passwords differ"),
    (_signup("erin", email="erin@"), "valid email address"),
    (_signup("erin", email="erin at example.com"), "valid email address"),
])
def test_a_refused_signup_is_shown_and_creates_nothing(project_a, manager_a, labeler, client, data, shown):
    _, token = _invite(project_a, manager_a)
    users = get_user_model().objects.count()
    response = client.post(f"/invites/{token}/", data)
    assert response.status_code == 400 and shown in response.content.decode()
    assert get_user_model().objects.count() == users and not ProjectInvite.objects.get().used_at


def test_the_email_given_at_signup_gets_the_password_reset_link(project_a, manager_a, client):
    _, token = _invite(project_a, manager_a)
    page = client.get(f"/invites/{token}/").content.decode()
    assert 'type="email" name="email"' in page
    assert client.post(f"/invites/{token}/", _signup("erin", email="erin@example.com")).status_code == 302
    assert get_user_model().objects.get(username="erin").email == "erin@example.com"
    client.logout()
    client.post("/accounts/password_reset/", {"email": "erin@example.com"})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["erin@example.com"] and "erin" in mail.outbox[0].body


def test_a_signed_in_member_of_another_project_joins_with_one_click(project_a, project_b, manager_a, member_b):
    _, token = _invite(project_a, manager_a, role="reviewer")
    client = signed_in(member_b)
    assert "Join as" in client.get(f"/invites/{token}/").content.decode()
    assert client.post(f"/invites/{token}/").status_code == 302
    assert _roles(project_a) == {"bob": "reviewer", "carol": "manager"}


@pytest.mark.parametrize("state", ["unknown", "expired", "used", "revoked"])
def test_an_unusable_link_answers_404_without_naming_the_project(project_a, manager_a, client, state):
    invite, token = _invite(project_a, manager_a)
    if state == "unknown":
        token = "not-a-real-token"
    elif state == "expired":
        ProjectInvite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    elif state == "used":
        invite_accept(token=token, username="erin", password=GOOD_PASSWORD)
    else:
        invite_revoke(project=project_a, invite_id=invite.pk)
    for method in (client.get, client.post):
        response = method(f"/invites/{token}/")
        body = response.content.decode()
        assert response.status_code == 404 and "not valid" in body
        assert "Helpfulness" not in body and "helpful" not in body

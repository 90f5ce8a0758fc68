"""Invite links: a manager makes one, the invitee joins through it once, a manager may revoke it.

The link carries ``secrets.token_urlsafe(32)``; only its SHA-256 is stored. Accepting is single use
by compare-and-set: the invite is marked used by an UPDATE that matches only an open invite, in the
same transaction as the account and the membership, so of two accepts at once exactly one changes
the row and the other is refused with nothing created. The membership gets exactly the invite's role
(a member who already holds a higher role keeps it).
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling.errors import RejectedInput
from labeling.models import Membership, Project, ProjectInvite
from labeling.selectors.people import invite_by_token, invite_token_hash
from labeling.selectors.projects import project_role, role_at_least
from labeling.services.projects import membership_grant

INVITE_DAYS_MIN, INVITE_DAYS_MAX = 1, 30
INVALID_LINK = "This invite link is not valid: it may have expired, been used or been revoked."


def invite_create(*, project: Project, role: str, days: int, created_by) -> tuple[ProjectInvite, str]:
    """A new invite to ``project`` as ``role``, open ``days`` days; returns it and its token (shown
    once). Only a manager of ``project`` (or staff) may make one."""
    if not role_at_least(project_role(user=created_by, project=project), Membership.Role.MANAGER):
        raise RejectedInput("Only a manager of this project can invite people to it.", status=403)
    if role not in Membership.Role.values:
        raise RejectedInput(f"role must be one of {', '.join(Membership.Role.values)}, not {role!r}.", field="role")
    if isinstance(days, bool) or not isinstance(days, int) or not INVITE_DAYS_MIN <= days <= INVITE_DAYS_MAX:
        raise RejectedInput(f"An invite is valid for {INVITE_DAYS_MIN} to {INVITE_DAYS_MAX} days.", field="days")
    token = secrets.token_urlsafe(32)
    invite = ProjectInvite.objects.create(project=project, role=role, token_hash=invite_token_hash(token),
                                          created_by=created_by, expires_at=timezone.now() + timedelta(days=days))
    return invite, token


def invite_revoke(*, project: Project, invite_id: int) -> ProjectInvite:
    """``project``'s invite ``invite_id`` made unusable; an invite of another project is not found."""
    invite = ProjectInvite.objects.filter(project=project, pk=invite_id).first()
    if invite is None:
        raise RejectedInput("No such invite.", field="invite", status=404)
    if invite.used_at is not None:
        raise RejectedInput("This invite has already been used.", field="invite", status=409)
    ProjectInvite.objects.filter(pk=invite.pk).update(revoked=True)
    invite.revoked = True
    return invite


def invite_accept(*, token: str, user=None, username: str = "", email: str = "", password: str = "") -> Membership:
    """Join the invite's project through ``token``: as ``user`` when signed in, else as a new account
    ``username`` with ``password`` (Django's password validators apply) and ``email`` (optional; the
    address Django's password reset mails). Refused (404, naming no project) when the link is unknown,
    expired, used or revoked."""
    invite = invite_by_token(token=token)
    if invite is None:
        raise RejectedInput(INVALID_LINK, field="token", status=404)
    if user is not None and user.is_authenticated:
        with transaction.atomic():
            _mark_used(invite, user)
            return membership_grant(project=invite.project, user=user, role=invite.role)
    username = _new_username(username)
    email = _new_email(email)
    _check_password(username, email, password)
    try:
        with transaction.atomic():
            new_user = get_user_model().objects.create_user(username=username, email=email, password=password)
            _mark_used(invite, new_user)
            return membership_grant(project=invite.project, user=new_user, role=invite.role)
    except IntegrityError:  # the same username taken at the same moment
        raise RejectedInput(f"The username {username!r} is taken.", field="username", status=409) from None


def _mark_used(invite: ProjectInvite, user) -> None:
    """The compare-and-set: only an invite still open is marked; otherwise the transaction is undone."""
    now = timezone.now()
    changed = ProjectInvite.objects.filter(pk=invite.pk, used_at__isnull=True, revoked=False,
                                           expires_at__gt=now).update(used_at=now, used_by=user)
    if changed != 1:
        raise RejectedInput(INVALID_LINK, field="token", status=404)


def _new_username(username: str) -> str:
    model = get_user_model()
    username = model.normalize_username((username or "").strip())
    field = model._meta.get_field(model.USERNAME_FIELD)
    try:
        field.run_validators(username)
        if not username:
            raise ValidationError("Choose a username.")
        if len(username) > field.max_length:
            raise ValidationError(f"A username has at most {field.max_length} characters.")
    except ValidationError as exc:
        raise RejectedInput(" ".join(exc.messages), field="username") from None
    if model.objects.filter(username__iexact=username).exists():  # "Alice" beside "alice" misleads
        raise RejectedInput(f"The username {username!r} is taken.", field="username", status=409)
    return username


def _new_email(email: str) -> str:
    """``email`` checked and normalised, or "" for none. Another account may hold the same address (a
    reset request then mails a link for each), so it is not refused for being taken."""
    model = get_user_model()
    email = model.objects.normalize_email((email or "").strip())
    if not email:
        return ""
    max_length = model._meta.get_field(model.get_email_field_name()).max_length
    try:
        if len(email) > max_length:
            raise ValidationError(f"An email address has at most {max_length} characters.")
        validate_email(email)
    except ValidationError as exc:
        raise RejectedInput(" ".join(exc.messages), field="email") from None
    return email


def _check_password(username: str, email: str, password: str) -> None:
    try:  # the similarity validator compares the password with the username and the address
        password_validation.validate_password(password or "", user=get_user_model()(username=username, email=email))
    except ValidationError as exc:
        raise RejectedInput(" ".join(exc.messages), field="password") from None
    if not password:
        raise RejectedInput("Choose a password.", field="password")


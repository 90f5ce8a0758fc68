"""Creating and editing projects and their people; every refusal is a RejectedInput and writes nothing.

Settings are checked by :func:`labeling.services.project_settings.project_settings_validate` for both
a new project and an edit. A project that has a manager keeps one: removing or demoting its last
manager is refused (staff act as managers everywhere, but a team should not lose its own).
"""
from __future__ import annotations

import copy

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from labeling.errors import RejectedInput
from labeling.models import Membership, Project
from labeling.selectors.projects import ROLE_ORDER
from labeling.services.project_settings import SETTINGS_FIELDS, project_settings_validate


def project_create(*, slug: str, name: str, instructions: str = "", k_min: int = 2, k_max: int = 9,
                   required_rankings: int | None = None, lease_minutes: int | None = None,
                   gold_rate: float | None = None) -> Project:
    """A new project; refused with the field when the slug is taken or not a slug, or a setting is
    out of range (2 <= k_min <= k_max <= 9, 1 <= required_rankings <= 50, lease_minutes >= 1,
    0 <= gold_rate <= 1; None: the model's default)."""
    values = {field: Project._meta.get_field(field).get_default() for field in SETTINGS_FIELDS}
    values.update(name=name, instructions=instructions, k_min=k_min, k_max=k_max,
                  required_rankings=required_rankings, lease_minutes=lease_minutes)
    if gold_rate is not None:
        values["gold_rate"] = gold_rate
    project = Project(slug=slug, **project_settings_validate(values))
    _full_clean(project)
    try:
        with transaction.atomic():
            project.save(force_insert=True)
    except IntegrityError:  # made at the same moment by someone else
        raise RejectedInput(f"A project with the slug {slug!r} already exists.", field="slug", status=409) from None
    return project


def project_update(*, project: Project, **changes) -> Project:
    """``project`` with ``changes`` (any of SETTINGS_FIELDS) saved, checked as a whole like a new
    project; on a refusal nothing is saved and ``project`` is left as it was."""
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"project_update cannot change {sorted(unknown)}")
    current = {field: getattr(project, field) for field in SETTINGS_FIELDS}
    values = project_settings_validate({**current, **changes}, project_id=project.pk)
    candidate = copy.copy(project)
    for field, value in values.items():
        setattr(candidate, field, value)
    _full_clean(candidate)
    candidate.save(update_fields=list(SETTINGS_FIELDS))
    for field, value in values.items():
        setattr(project, field, value)
    return project


def _full_clean(project: Project) -> None:
    try:
        project.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise RejectedInput(f"{field}: {' '.join(messages)}", field=field) from None


def project_add_member(*, project: Project, username: str, role: str = Membership.Role.LABELER) -> Membership:
    """Give ``username`` ``role`` in ``project`` (a member already there gets the new role)."""
    if role not in Membership.Role.values:
        raise RejectedInput(f"role must be one of {', '.join(Membership.Role.values)}, not {role!r}.", field="role")
    user = _user(username)
    with transaction.atomic():
        managers = _lock_managers(project)
        current = Membership.objects.select_for_update().filter(project=project, user=user).first()
        if current is not None and current.role == Membership.Role.MANAGER and role != Membership.Role.MANAGER:
            _refuse_last_manager(project, username, managers, "role")
        membership, _ = Membership.objects.update_or_create(project=project, user=user, defaults={"role": role})
    return membership


def project_remove_member(*, project: Project, username: str) -> None:
    """Take ``username`` out of ``project`` (their rankings stay); refused for a non-member."""
    user = _user(username)
    with transaction.atomic():
        managers = _lock_managers(project)
        membership = Membership.objects.select_for_update().filter(project=project, user=user).first()
        if membership is None:
            raise RejectedInput(f"{username} is not a member of this project.", field="username", status=404)
        if membership.role == Membership.Role.MANAGER:
            _refuse_last_manager(project, username, managers, "username")
        membership.delete()


def membership_grant(*, project: Project, user, role: str) -> Membership:
    """``user`` given ``role`` in ``project`` unless they already hold a higher one (never lowered).
    Call inside the caller's transaction (invite acceptance)."""
    current = Membership.objects.select_for_update().filter(project=project, user=user).first()
    if current is None:
        return Membership.objects.create(project=project, user=user, role=role)
    if ROLE_ORDER.index(current.role) < ROLE_ORDER.index(role):
        current.role = role
        current.save(update_fields=["role"])
    return current


def _user(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise RejectedInput(f"No user {username!r}.", field="username", status=404)
    return user


def _lock_managers(project: Project) -> list[Membership]:
    """The project's managers, locked first and in one order, so two managers demoting each other at
    once wait for each other instead of both succeeding (or deadlocking)."""
    return list(Membership.objects.select_for_update().filter(project=project, role=Membership.Role.MANAGER)
                .order_by("pk"))


def _refuse_last_manager(project: Project, username: str, managers: list[Membership], field: str) -> None:
    if len(managers) <= 1:
        raise RejectedInput(f"{username} is the last manager of {project.name}: make someone else a manager first.",
                            field=field, status=409)

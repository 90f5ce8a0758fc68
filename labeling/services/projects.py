"""Creating projects and adding people to them; every refusal is a RejectedInput and writes nothing."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from labeling.errors import RejectedInput
from labeling.models import Membership, Project

NAME_MAX_LENGTH = 200
INSTRUCTIONS_MAX_CHARS = 50_000


def project_create(*, slug: str, name: str, instructions: str = "", k_min: int = 2, k_max: int = 9,
                   required_rankings: int | None = None, lease_minutes: int | None = None) -> Project:
    """A new project; refused with the field when the slug is taken or not a slug, or a setting is
    out of range (2 <= k_min <= k_max <= 9, 1 <= required_rankings <= 50, lease_minutes >= 1)."""
    if not name.strip():
        raise RejectedInput("A project needs a name.", field="name")
    if len(instructions) > INSTRUCTIONS_MAX_CHARS:
        raise RejectedInput(f"Instructions are limited to {INSTRUCTIONS_MAX_CHARS} characters.", field="instructions")
    if not 2 <= k_min <= k_max <= 9:
        raise RejectedInput(f"Need 2 <= k_min <= k_max <= 9, got k_min={k_min}, k_max={k_max}.", field="k_min")
    if required_rankings is not None and not 1 <= required_rankings <= 50:
        raise RejectedInput("required_rankings must be between 1 and 50.", field="required_rankings")
    if lease_minutes is not None and lease_minutes < 1:
        raise RejectedInput("lease_minutes must be at least 1.", field="lease_minutes")
    project = Project(slug=slug, name=name.strip(), instructions=instructions, k_min=k_min, k_max=k_max,
                      required_rankings=required_rankings, lease_minutes=lease_minutes)
    try:
        project.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise RejectedInput(f"{field}: {' '.join(messages)}", field=field) from None
    try:
        with transaction.atomic():
            project.save(force_insert=True)
    except IntegrityError:  # made at the same moment by someone else
        raise RejectedInput(f"A project with the slug {slug!r} already exists.", field="slug", status=409) from None
    return project


def project_add_member(*, project: Project, username: str, role: str = Membership.Role.LABELER) -> Membership:
    """Give ``username`` ``role`` in ``project`` (a member already there gets the new role)."""
    if role not in Membership.Role.values:
        raise RejectedInput(f"role must be one of {', '.join(Membership.Role.values)}, not {role!r}.", field="role")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise RejectedInput(f"No user {username!r}.", field="username", status=404)
    membership, _ = Membership.objects.update_or_create(project=project, user=user, defaults={"role": role})
    return membership

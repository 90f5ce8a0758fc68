"""A project's people: its members, its open invites, and the invite a link's token names."""
from __future__ import annotations

import hashlib
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from labeling.models import Membership, Project, ProjectInvite


def invite_token_hash(token: str) -> str:
    """What ProjectInvite.token_hash holds for ``token``: its SHA-256, in hex (the token is never stored)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def project_members(*, project: Project) -> QuerySet[Membership]:
    return Membership.objects.filter(project=project).select_related("user").order_by("user__username")


def excluded_from_training(*, project: Project) -> set[int]:
    """Ids of the members a manager left out of ``project``'s training (``Membership.excluded_from_training``)."""
    return set(Membership.objects.filter(project=project, excluded_from_training=True).values_list("user_id", flat=True))


def invites_open(*, project: Project, now: datetime | None = None) -> QuerySet[ProjectInvite]:
    """Invites of ``project`` that a link could still use: not used, not revoked, not expired."""
    return ProjectInvite.objects.filter(project=project, used_at__isnull=True, revoked=False,
                                        expires_at__gt=now or timezone.now()).select_related("created_by")


def invite_by_token(*, token: str, now: datetime | None = None) -> ProjectInvite | None:
    """The open invite ``token`` names, or None (unknown, expired, used or revoked alike)."""
    if not token or len(token) > 200:
        return None
    return (ProjectInvite.objects.filter(token_hash=invite_token_hash(token), used_at__isnull=True, revoked=False,
                                         expires_at__gt=now or timezone.now())
            .select_related("project").first())

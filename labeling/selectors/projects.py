"""Looking projects up, and what a user may do in one.

Roles rank ``labeler`` < ``reviewer`` < ``manager`` (:class:`labeling.models.Membership`). Staff
users act as managers of every project (the demo's ``admin`` and every install from before
projects). A project that is ``open_to_all`` (``default``) makes every signed-in user a labeler
there. Anyone else has no role in a project, and its pages and objects answer 404 to them (not
403), so ids and slugs leak nothing; a member whose role is too low gets 403.
"""
from __future__ import annotations

from django.db.models import QuerySet

from labeling.errors import RejectedInput
from labeling.models import DEFAULT_PROJECT_SLUG, Membership, Project, default_project_id

ROLE_ORDER = (Membership.Role.LABELER, Membership.Role.REVIEWER, Membership.Role.MANAGER)


def project_by_slug(slug: str | None) -> Project:
    """The project ``slug`` names; none given: ``default``. An unknown slug is refused (404)."""
    if not slug or slug == DEFAULT_PROJECT_SLUG:
        return Project.objects.get(pk=default_project_id())
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise RejectedInput(f"No project {slug!r} (manage.py project_create {slug} --name NAME makes one).",
                            field="project", status=404)
    return project


def project_role(*, user, project: Project) -> str | None:
    """``user``'s role in ``project`` (``manager`` for staff), or None when they have none."""
    if not user.is_authenticated:
        return None
    if user.is_staff:
        return Membership.Role.MANAGER
    role = Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    if role is None and project.open_to_all:
        return Membership.Role.LABELER
    return role


def role_at_least(role: str | None, needed: str) -> bool:
    return role is not None and ROLE_ORDER.index(role) >= ROLE_ORDER.index(needed)


def project_access(*, user, project: Project, needed: str) -> str:
    """``user``'s role in ``project`` when it is ``needed`` or higher. Refused 404 without a role, in
    words that name no project (so an object's id leaks nothing), 403 when the role is too low."""
    role = project_role(user=user, project=project)
    if role is None:
        raise RejectedInput("No such project.", field="project", status=404)
    if not role_at_least(role, needed):
        raise RejectedInput(f"Only staff or a project {needed} can do this.", field="project", status=403)
    return role


def project_access_by_slug(*, user, slug: str | None, needed: str) -> tuple[Project, str]:
    """The project ``slug`` names (none: ``default``) and ``user``'s role in it, as :func:`project_access`
    decides. An unknown slug and a project without a role are refused (404) in the same words."""
    try:
        project = project_by_slug(slug)
        return project, project_access(user=user, project=project, needed=needed)
    except RejectedInput as refused:
        if refused.status != 404:
            raise
        raise RejectedInput(f"No project {slug or DEFAULT_PROJECT_SLUG!r}.", field="project", status=404) from None


def projects_where(*, user, role: str = Membership.Role.LABELER) -> QuerySet[Project]:
    """The projects where ``user`` holds ``role`` or a higher one (all of them for staff)."""
    if not user.is_authenticated:
        return Project.objects.none()
    if user.is_staff:
        return Project.objects.all()
    if role == Membership.Role.LABELER:
        from labeling.selectors.tasks import projects_labeled_by

        return projects_labeled_by(user)
    roles = ROLE_ORDER[ROLE_ORDER.index(role):]
    return Project.objects.filter(pk__in=Membership.objects.filter(user=user, role__in=roles).values("project"))

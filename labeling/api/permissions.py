"""Who may use a staff endpoint: a role in the project the ``project`` query parameter names.

The parameter is optional: absent, the endpoint acts on the ``default`` project, as before projects.
Reading needs the project's reviewer role, anything else (POST) its manager role; a view asks for
more with a ``project_role`` attribute (exports: manager). Roles come from
:mod:`labeling.selectors.projects` (staff users are managers everywhere). An anonymous caller gets
401 (DRF decides); no role in the project, or no such project, 404 in the same words, so slugs leak
nothing; a role too low 403 with a message. The view finds the project as ``request.project``.
"""
from rest_framework.permissions import SAFE_METHODS, BasePermission

from labeling.errors import RejectedInput
from labeling.models import Membership, Project
from labeling.selectors.projects import project_by_slug, project_role, role_at_least

READ_ROLE, WRITE_ROLE = Membership.Role.REVIEWER, Membership.Role.MANAGER


def _project(slug: str | None) -> Project:
    try:
        return project_by_slug(slug)
    except RejectedInput:
        raise RejectedInput(f"No project {slug!r}.", field="project", status=404) from None


class ProjectRolePermission(BasePermission):
    message = "Only staff or a project reviewer can use this endpoint."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        needed = getattr(view, "project_role", None) or (READ_ROLE if request.method in SAFE_METHODS else WRITE_ROLE)
        slug = request.query_params.get("project")
        project = _project(slug)
        role = project_role(user=request.user, project=project)
        if role is None:
            raise RejectedInput(f"No project {slug or project.slug!r}.", field="project", status=404)
        request.project, request.project_role = project, role
        if not role_at_least(role, needed):
            self.message = f"Only staff or a project {needed} can use this endpoint."
            return False
        return True

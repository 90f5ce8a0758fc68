"""Who may use a staff endpoint: a role in the project the ``project`` query parameter names.

The parameter is optional: absent, the endpoint acts on the ``default`` project, as before projects.
Reading needs the project's reviewer role, anything else (POST) its manager role; a view asks for
more with a ``project_role`` attribute (exports: manager). The rule is the pages' own,
:func:`labeling.selectors.projects.project_access_by_slug` (staff users are managers everywhere).
An anonymous caller gets 401 (DRF decides); no role in the project, or no such project, 404 in the
same words, so slugs leak nothing; a role too low 403 with a message. The view finds the project as ``request.project``.
"""
from rest_framework.permissions import SAFE_METHODS, BasePermission

from labeling.errors import RejectedInput
from labeling.models import Membership
from labeling.selectors.projects import project_access_by_slug

READ_ROLE, WRITE_ROLE = Membership.Role.REVIEWER, Membership.Role.MANAGER


class ProjectRolePermission(BasePermission):
    message = "Only staff or a project reviewer can use this endpoint."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        needed = getattr(view, "project_role", None) or (READ_ROLE if request.method in SAFE_METHODS else WRITE_ROLE)
        try:
            request.project, request.project_role = project_access_by_slug(
                user=request.user, slug=request.query_params.get("project"), needed=needed)
        except RejectedInput as refused:
            if refused.status != 403:
                raise  # 404: the API's error handler answers it with its message
            self.message = f"Only staff or a project {needed} can use this endpoint."
            return False
        return True

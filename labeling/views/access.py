"""Who may see a page.

``staff_required``: pages that are not about one project (the worker health, bootstrapping the
first policy). ``project_role_required(ROLE)``: pages about one project, named by a ``project``
URL segment or a ``?project=`` parameter (none: ``default``). Both send visitors to log in. For
the project rule (:mod:`labeling.selectors.projects`): no role in the project (or no such project)
answers 404, a role below ``ROLE`` 403; the view finds the project as ``request.project`` and the
caller's role as ``request.project_role``. A view about one object checks that object's project
with :func:`require_project_role`.
"""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from labeling.errors import RejectedInput
from labeling.selectors.projects import project_by_slug, project_role, role_at_least


def staff_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("Only staff can see this page.")
        return view(request, *args, **kwargs)

    return wrapper


def require_project_role(request, project, needed: str) -> str:
    """``request.user``'s role in ``project``; Http404 without one, PermissionDenied when too low."""
    role = project_role(user=request.user, project=project)
    if role is None:
        raise Http404("No such page.")
    if not role_at_least(role, needed):
        raise PermissionDenied(f"Only a project {needed} can see this page.")
    return role


def project_role_required(needed: str):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            slug = kwargs.pop("project", None) or request.GET.get("project")
            try:
                project = project_by_slug(slug)
            except RejectedInput:
                raise Http404("No such project.") from None
            request.project = project
            request.project_role = require_project_role(request, project, needed)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator

"""Who may see a page.

``staff_required``: pages that are not about one project (the worker health, bootstrapping the
first policy). ``project_role_required(ROLE)``: pages about one project, named by a ``project``
URL segment or a ``?project=`` parameter (none: ``default``). Both send visitors to log in. The
project rule is :func:`labeling.selectors.projects.project_access_by_slug`, which the API uses too:
no role in the project (or no such project) answers 404, a role below ``ROLE`` 403; the view
finds the project as ``request.project`` and the caller's role as ``request.project_role``. A view
about one object checks that object's project with :func:`require_project_role`.
"""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from labeling.errors import RejectedInput
from labeling.selectors.projects import project_access, project_access_by_slug


def staff_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("Only staff can see this page.")
        return view(request, *args, **kwargs)

    return wrapper


def as_page_refusal(refused: RejectedInput) -> Exception:
    """A project refusal as the page's answer: Http404 for 404, PermissionDenied for 403."""
    return Http404(refused.message) if refused.status == 404 else PermissionDenied(refused.message)


def require_project_role(request, project, needed: str) -> str:
    """``request.user``'s role in ``project``; Http404 without one, PermissionDenied when too low."""
    try:
        return project_access(user=request.user, project=project, needed=needed)
    except RejectedInput as refused:
        raise as_page_refusal(refused) from None


def project_role_required(needed: str):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            slug = kwargs.pop("project", None) or request.GET.get("project")
            try:
                request.project, request.project_role = project_access_by_slug(
                    user=request.user, slug=slug, needed=needed)
            except RejectedInput as refused:
                raise as_page_refusal(refused) from None
            return view(request, *args, **kwargs)

        return wrapper

    return decorator

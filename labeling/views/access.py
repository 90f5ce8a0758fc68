"""Who may see a page: staff pages answer 403 to a logged-in labeler and send visitors to log in."""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def staff_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("Only staff can see this page.")
        return view(request, *args, **kwargs)

    return wrapper

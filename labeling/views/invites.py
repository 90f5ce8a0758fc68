"""The invite link's page: join a project as the invite's role, with a new account or one's own.

Every link that cannot be used (unknown, expired, used, revoked) gets the same 404 page, which
never says which project it was for.
"""
from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from labeling.errors import RejectedInput
from labeling.project_forms import InviteSignupForm, add_refusal
from labeling.selectors.people import invite_by_token
from labeling.services.invites import INVALID_LINK, invite_accept

# The backend a new account logs in through (the throttle backend checks passwords only).
SIGNUP_BACKEND = "django.contrib.auth.backends.ModelBackend"


@require_http_methods(["GET", "POST"])
def invite_accept_view(request, token: str):
    invite = invite_by_token(token=token)
    if invite is None:
        return _invalid(request)
    signed_in = request.user.is_authenticated
    form = None if signed_in else InviteSignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and (signed_in or form.is_valid()):
        try:
            if signed_in:
                membership = invite_accept(token=token, user=request.user)
            else:
                membership = invite_accept(token=token, username=form.cleaned_data["username"],
                                           email=form.cleaned_data["email"], password=form.cleaned_data["password1"])
        except RejectedInput as exc:
            if exc.status == 404 or form is None:  # the link was used or revoked a moment ago
                return _invalid(request)
            add_refusal(form, exc)
        else:
            if not signed_in:
                login(request, membership.user, backend=SIGNUP_BACKEND)
            messages.success(request, f"You are a {membership.role} of {membership.project.name}.")
            return redirect("home")  # the projects they label in, the new one among them
    status = 400 if form is not None and form.errors else 200
    return render(request, "labeling/invite_accept.html", {"invite": invite, "form": form}, status=status)


def _invalid(request):
    return render(request, "labeling/invite_invalid.html", {"message": INVALID_LINK}, status=404)

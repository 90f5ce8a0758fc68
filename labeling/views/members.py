"""A project's people, for its managers: members and their roles, and invite links.

The members page answers every form on it: a POST there gives a user a role (adds them or changes
theirs); removing, making an invite, revoking one, lifting a labeler's pause (gold accuracy under
the project's threshold: ``labeling.services.pauses``) and excluding a member from training (or taking
them back: ``labeling.services.training_exclusion``) have their own POST routes and render the same
page, with the refusal or, once, the new invite's link. Paused labelers are listed whether or not
they are members (a project open to all has labelers who are not).
"""
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from labeling.errors import RejectedInput
from labeling.models import Membership
from labeling.project_forms import InviteCreateForm, MemberRemoveForm, MemberRoleForm, add_refusal
from labeling.selectors.pauses import paused_labelers
from labeling.selectors.people import invites_open, project_members
from labeling.services.invites import invite_create, invite_revoke
from labeling.services.pauses import pause_lift
from labeling.services.projects import project_add_member, project_remove_member
from labeling.services.training_exclusion import member_training_exclusion_set
from labeling.views.access import project_role_required

MANAGER = Membership.Role.MANAGER


@project_role_required(MANAGER)
@require_http_methods(["GET", "POST"])
def project_members_page(request):
    if request.method == "GET":
        return _page(request)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            membership = project_add_member(project=request.project, **form.cleaned_data)
        except RejectedInput as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"{membership.user.username} is a {membership.role} of this project.")
            return redirect("project-members", project=request.project.slug)
    return _page(request, member_form=form, status=400)


@project_role_required(MANAGER)
@require_POST
def member_remove(request):
    form = MemberRemoveForm(request.POST)
    if form.is_valid():
        try:
            project_remove_member(project=request.project, username=form.cleaned_data["username"])
        except RejectedInput as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['username']} is no longer a member.")
            return redirect("project-members", project=request.project.slug)
    return _page(request, remove_form=form, status=400)


@project_role_required(MANAGER)
@require_POST
def invite_create_view(request):
    form = InviteCreateForm(request.POST)
    if form.is_valid():
        try:
            invite, token = invite_create(project=request.project, created_by=request.user, **form.cleaned_data)
        except RejectedInput as exc:
            add_refusal(form, exc)
        else:  # the token is shown on this response only; only its hash is stored
            link = request.build_absolute_uri(reverse("invite-accept", args=[token]))
            return _page(request, new_invite=invite, new_invite_link=link, status=201)
    return _page(request, invite_form=form, status=400)


@project_role_required(MANAGER)
@require_POST
def invite_revoke_view(request, invite_id: int):
    try:
        invite_revoke(project=request.project, invite_id=invite_id)
    except RejectedInput as exc:
        messages.error(request, exc.message)
        return _page(request, status=exc.status)
    messages.success(request, "Invite revoked: its link no longer works.")
    return redirect("project-members", project=request.project.slug)


@project_role_required(MANAGER)
@require_POST
def pause_lift_view(request, labeler_id: int):
    labeler = get_user_model().objects.filter(pk=labeler_id).first()
    try:
        if labeler is None:
            raise RejectedInput("No such labeler.", field="labeler", status=404)
        pause_lift(project=request.project, labeler=labeler, by=request.user)
    except RejectedInput as exc:
        messages.error(request, exc.message)
        return _page(request, status=exc.status)
    messages.success(request, f"{labeler.username} can label in this project again.")
    return redirect("project-members", project=request.project.slug)


@project_role_required(MANAGER)
@require_POST
def member_training_view(request, user_id: int):
    """POST ``excluded=true`` leaves the member's rankings out of reward and DPO training; ``false`` takes
    them back in. 400 for any other value, 404 for a user who is not a member."""
    value = request.POST.get("excluded")
    try:
        if value not in ("true", "false"):
            raise RejectedInput(f"excluded must be true or false, not {value!r}.", field="excluded")
        membership = member_training_exclusion_set(project=request.project, user_id=user_id,
                                                   excluded=value == "true", by=request.user)
    except RejectedInput as exc:
        messages.error(request, exc.message)
        return _page(request, status=exc.status)
    name = membership.user.username
    messages.success(request, f"{name}'s rankings are left out of training from the next run." if
                     membership.excluded_from_training else f"{name}'s rankings are used for training again.")
    return redirect("project-members", project=request.project.slug)


def _page(request, *, member_form=None, remove_form=None, invite_form=None, status: int = 200, **extra):
    context = {
        "project": request.project,
        "members": project_members(project=request.project),
        "invites": invites_open(project=request.project),
        "pauses": paused_labelers(request.project),
        "roles": Membership.Role.choices,
        "member_form": member_form or MemberRoleForm(),
        "remove_form": remove_form,
        "invite_form": invite_form or InviteCreateForm(),
        **extra,
    }
    return render(request, "labeling/project_members.html", context, status=status)

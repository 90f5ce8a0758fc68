"""Managers' project pages: the list of projects they manage, and one project's settings."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from labeling.errors import RejectedInput
from labeling.models import Membership
from labeling.project_forms import ProjectCreateForm, ProjectSettingsForm, add_refusal
from labeling.selectors.projects import projects_where
from labeling.services.projects import project_create, project_update
from labeling.views.access import project_role_required, staff_required


@login_required
@require_GET
def projects_list(request):
    return _projects_page(request, ProjectCreateForm() if request.user.is_staff else None)


@staff_required
@require_POST
def project_create_view(request):
    form = ProjectCreateForm(request.POST)
    if form.is_valid():
        try:
            project = project_create(slug=form.cleaned_data["slug"], name=form.cleaned_data["name"])
        except RejectedInput as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Project {project.name} created.")
            return redirect("project-settings", project=project.slug)
    return _projects_page(request, form, status=400)


def _projects_page(request, form, status: int = 200):
    projects = projects_where(user=request.user, role=Membership.Role.MANAGER)
    if not request.user.is_staff and not projects.exists():
        raise PermissionDenied("Only project managers can see this page.")
    return render(request, "labeling/projects.html", {"projects": projects, "form": form}, status=status)


@project_role_required(Membership.Role.MANAGER)
@require_http_methods(["GET", "POST"])
def project_settings(request):
    """GET: the form; POST: save it (or, with ``preview``, only show the instructions rendered)."""
    project = request.project
    data = request.POST if request.method == "POST" else None
    form = ProjectSettingsForm(data, initial=ProjectSettingsForm.initial_for(project), project=project)
    preview = project.instructions
    if request.method == "POST" and form.is_valid():
        preview = form.cleaned_data["instructions"]
        if "preview" not in request.POST:
            try:
                project_update(project=project, **form.cleaned_data)
            except RejectedInput as exc:
                add_refusal(form, exc)
            else:
                messages.success(request, "Settings saved.")
                return redirect("project-settings", project=project.slug)
    status = 400 if form.errors else 200
    context = {"project": project, "form": form, "preview": preview}
    return render(request, "labeling/project_settings.html", context, status=status)

"""Managers' demonstration tools on a project: download its demonstrations, make rewrite tasks."""
from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from labeling.models import Membership
from labeling.services.demonstration_exports import demonstration_lines
from labeling.services.demonstrations import rewrite_tasks_create
from labeling.views.access import project_role_required


@project_role_required(Membership.Role.MANAGER)
@require_GET
def demonstrations_download(request):
    """TRL prompt-completion JSONL; ``?include_rejected=1`` keeps what a reviewer rejected."""
    include_rejected = request.GET.get("include_rejected") in ("1", "true", "yes")
    response = StreamingHttpResponse(
        demonstration_lines(project=request.project, include_rejected=include_rejected),
        content_type="application/jsonl; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{request.project.slug}-demonstrations.jsonl"'
    return response


@project_role_required(Membership.Role.MANAGER)
@require_POST
def rewrite_tasks_make(request):
    tasks = rewrite_tasks_create(project=request.project, task_set="rewrites")
    messages.success(request, f"Made {len(tasks)} rewrite tasks from ranked tasks." if tasks
                     else "No ranked task is left without a rewrite task.")
    return redirect("project-settings", project=request.project.slug)

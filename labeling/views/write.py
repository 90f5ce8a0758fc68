"""The demonstration editor (``/write/``) and its calls: submit, skip, and a Markdown preview.

The page leases the next demonstration task as ``/label/`` leases a ranking task, and in the same
chosen project (``?project=SLUG``, kept in the session: :func:`labeling.views.label._chosen_project`).
The preview renders with the server's own sanitised Markdown (:func:`labeling.rendering.render_markdown`),
so what the labeler previews is what a reviewer sees.
"""
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from labeling.errors import RejectedInput
from labeling.models import Demonstration
from labeling.rendering import render_markdown
from labeling.selectors.demonstration_tasks import demonstration_tasks_open_for
from labeling.selectors.pauses import open_pauses
from labeling.services.demonstrations import demonstration_assign_next, demonstration_skip, demonstration_submit
from labeling.views.json_io import json_body, json_endpoint
from labeling.views.label import _chosen_project


@login_required
@require_GET
def write_next(request):
    chosen = _chosen_project(request)
    assignment = demonstration_assign_next(labeler=request.user, project=chosen)
    written = Demonstration.objects.filter(labeler=request.user)
    progress = {
        "done": (written.filter(task__prompt__project=chosen) if chosen else written).count(),
        "remaining": demonstration_tasks_open_for(labeler=request.user, now=timezone.now(), project=chosen).count(),
    }
    if assignment is None:  # why, where the labeler is paused: as on the label page
        pauses = open_pauses().filter(labeler=request.user, **({"project": chosen} if chosen else {}))
        return render(request, "labeling/write_empty.html", {"progress": progress, "chosen": chosen,
                                                              "pauses": pauses.select_related("project")})
    task = assignment.task
    context = {
        "assignment": assignment,
        "task": task,
        "prompt": task.prompt,
        "project": task.prompt.project,
        "source": task.source_completion,
        "progress": progress,
        "submit_url": reverse("write-submit", args=[assignment.pk]),
        "skip_url": reverse("write-skip", args=[assignment.pk]),
        "preview_url": reverse("write-preview"),
    }
    return render(request, "labeling/write.html", context)


@require_POST
@json_endpoint
def write_submit(request, assignment_id: int):
    body = json_body(request)
    demonstration, created = demonstration_submit(
        labeler=request.user, assignment_id=assignment_id, text=body.get("text"),
        submission_id=body.get("submission_id"), seconds=body.get("seconds"))
    return JsonResponse({"demonstration_id": demonstration.pk, "next_url": reverse("write")},
                        status=201 if created else 200)


@require_POST
@json_endpoint
def write_skip(request, assignment_id: int):
    body = json_body(request)
    demonstration_skip(labeler=request.user, assignment_id=assignment_id, reason=body.get("reason", ""))
    return JsonResponse({"next_url": reverse("write")}, status=201)


@require_POST
@json_endpoint
def write_preview(request):
    text = json_body(request).get("text")
    if not isinstance(text, str):
        raise RejectedInput("text must be a string.", field="text")
    return JsonResponse({"html": str(render_markdown(text))})

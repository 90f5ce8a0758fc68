"""The labeler page and the two calls it makes: submit a ranking, skip a task."""
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from labeling.errors import RejectedInput
from labeling.label_choices import label_choices
from labeling.models import Membership
from labeling.selectors.pauses import open_pauses
from labeling.selectors.projects import project_access_by_slug
from labeling.selectors.tasks import labeler_progress
from labeling.services.assignment import task_assign_next
from labeling.services.ranking import ranking_submit, task_skip
from labeling.views.json_io import json_body, json_endpoint


def _chosen_project(request):
    """The project the labeler chose on their home page (``?project=SLUG``, kept in the session until
    they choose another; ``?project=all`` or none chosen: every project they label in). A project they
    do not label in answers 404."""
    slug = request.GET.get("project")
    if slug is not None:
        request.session["label_project"] = "" if slug == "all" else slug
    slug = request.session.get("label_project") or ""
    if not slug:
        return None
    try:
        project, _role = project_access_by_slug(user=request.user, slug=slug, needed=Membership.Role.LABELER)
    except RejectedInput as refused:  # unknown, or no longer theirs: forget it
        request.session["label_project"] = ""
        raise Http404(refused.message) from None
    return project


@login_required
@require_GET
def label_next(request):
    chosen = _chosen_project(request)
    assignment = task_assign_next(labeler=request.user, project=chosen)
    progress = labeler_progress(labeler=request.user, now=timezone.now(), project=chosen)
    if assignment is None:  # why, where the labeler is paused: that project's pause, or all of theirs
        pauses = open_pauses().filter(labeler=request.user, **({"project": chosen} if chosen else {}))
        return render(request, "labeling/label_empty.html", {"progress": progress, "chosen": chosen,
                                                              "pauses": pauses.select_related("project")})
    texts = dict(assignment.task.completions.values_list("pk", "text"))
    cards = [
        {"id": cid, "text": texts[cid], "position": position}
        for position, cid in enumerate(assignment.display_order, start=1)
    ]
    project = assignment.task.prompt.project
    context = {
        "assignment": assignment,
        "task": {"id": assignment.task_id, "k": len(cards)},
        "prompt": assignment.task.prompt,
        "project": project,
        "cards": cards,
        "flag_choices": label_choices(project.flags),
        "skip_reasons": label_choices(project.skip_reasons),
        "progress": progress,
        "submit_url": reverse("label-submit", args=[assignment.pk]),
        "skip_url": reverse("label-skip", args=[assignment.pk]),
    }
    return render(request, "labeling/label.html", context)


@require_POST
@json_endpoint
def label_submit(request, assignment_id: int):
    body = json_body(request)
    result = ranking_submit(
        labeler=request.user,
        assignment_id=assignment_id,
        tiers=body.get("tiers"),
        scores=body.get("scores"),
        flags=body.get("flags"),
        comment=body.get("comment"),
        seconds=body.get("seconds"),
        submission_id=body.get("submission_id"),
    )
    payload = {"ranking_id": result.ranking.pk, "next_url": reverse("label")}
    return JsonResponse(payload, status=201 if result.created else 200)


@require_POST
@json_endpoint
def label_skip(request, assignment_id: int):
    body = json_body(request)
    task_skip(labeler=request.user, assignment_id=assignment_id, reason=body.get("reason"), note=body.get("note"))
    return JsonResponse({"next_url": reverse("label")}, status=201)

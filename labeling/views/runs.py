"""Pages for background runs and model versions: list, live detail, cancel, retry, start, compare.

Each is about one project (``?project=SLUG``, default ``default``; an object's own project for a page
about one object): its reviewers and managers read, its managers act (cancel, retry, download).
Training the first policy is for staff alone: that policy is every project's starting point.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from labeling.errors import RejectedInput
from labeling.models import Membership, Run
from labeling.selectors.guard import run_guard
from labeling.selectors.runs import (model_versions_of, policies_to_compare, policy_comparison, run_charts, run_status,
                                     runs_recent)
from labeling.services.runs import run_cancel, run_enqueue, run_retry
from labeling.views.access import project_role_required, require_project_role, staff_required

REVIEWER, MANAGER = Membership.Role.REVIEWER, Membership.Role.MANAGER
# A run's detail page shows the tasks it sampled, up to this many.
RUN_SAMPLES_SHOWN = 10


def _run_for(request, run_id: int, needed: str) -> tuple[Run, str]:
    run = get_object_or_404(Run.objects.select_related("project"), pk=run_id)
    return run, require_project_role(request, run.project, needed)


@project_role_required(REVIEWER)
@require_GET
def runs_list(request):
    return render(request, "labeling/runs.html", {"runs": runs_recent(project=request.project),
                                                  "project": request.project})


@login_required
@require_GET
def run_detail(request, run_id: int):
    run, role = _run_for(request, run_id, REVIEWER)
    sampled = run.tasks_sampled.select_related("prompt").prefetch_related("completions").order_by("pk")
    context = {"run": run, "project": run.project, "can_act": role == MANAGER, "charts": run_charts(run=run),
               "samples": sampled[:RUN_SAMPLES_SHOWN], "samples_total": sampled.count(), "guard": run_guard(run=run)}
    return render(request, "labeling/run_detail.html", context)


@login_required
@require_GET
def run_status_json(request, run_id: int):
    return JsonResponse(run_status(run=_run_for(request, run_id, REVIEWER)[0]))


def _act(request, run_id: int, action, done: str):
    run, _ = _run_for(request, run_id, MANAGER)
    try:
        action(run_id=run.pk)
        messages.success(request, done)
    except RejectedInput as exc:
        messages.error(request, exc.message)
    return redirect("run-detail", run_id=run.pk)


@login_required
@require_POST
def run_cancel_view(request, run_id: int):
    return _act(request, run_id, run_cancel, "Cancellation requested.")


@login_required
@require_POST
def run_retry_view(request, run_id: int):
    return _act(request, run_id, run_retry, "The run was queued again; it resumes from its last checkpoint.")


@staff_required
@require_POST
def run_start_bootstrap(request):
    run = run_enqueue(kind=Run.Kind.BOOTSTRAP, config={}, created_by=request.user)  # in default
    messages.success(request, "Training the default policy.")
    return redirect("run-detail", run_id=run.pk)


@project_role_required(REVIEWER)
@require_GET
def model_versions(request):
    context = {"versions": model_versions_of(project=request.project), "project": request.project,
               "can_download": request.project_role == MANAGER}
    return render(request, "labeling/model_versions.html", context)


@project_role_required(REVIEWER)
@require_GET
def model_versions_compare(request):
    """Two policy versions' samples on the same prompts, side by side (``?a=<id>&b=<id>``)."""
    policies = policies_to_compare(project=request.project)
    a, b = request.GET.get("a"), request.GET.get("b")
    rows, version_a, version_b = [], None, None
    context = {"policies": policies, "project": request.project}
    if a and b:
        if not (a.isdigit() and b.isdigit()):
            return render(request, "labeling/compare.html", {**context, "error": "Pick two versions."}, status=400)
        version_a, version_b = get_object_or_404(policies, pk=a), get_object_or_404(policies, pk=b)
        rows = policy_comparison(version_a=version_a, version_b=version_b)
    return render(request, "labeling/compare.html", {**context, "rows": rows, "a": version_a, "b": version_b})

"""Admin pages for background runs and model versions: list, live detail, cancel, retry, start."""
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from labeling.errors import RejectedInput
from labeling.models import ModelVersion, Run
from labeling.selectors.runs import model_versions_all, policy_comparison, run_charts, run_status, runs_recent
from labeling.services.runs import run_cancel, run_enqueue, run_retry
from labeling.views.access import staff_required

# A run's detail page shows the tasks it sampled, up to this many.
RUN_SAMPLES_SHOWN = 10


@staff_required
@require_GET
def runs_list(request):
    return render(request, "labeling/runs.html", {"runs": runs_recent()})


@staff_required
@require_GET
def run_detail(request, run_id: int):
    run = get_object_or_404(Run, pk=run_id)
    sampled = run.tasks_sampled.select_related("prompt").prefetch_related("completions").order_by("pk")
    context = {"run": run, "charts": run_charts(run=run), "samples": sampled[:RUN_SAMPLES_SHOWN],
               "samples_total": sampled.count()}
    return render(request, "labeling/run_detail.html", context)


@staff_required
@require_GET
def run_status_json(request, run_id: int):
    return JsonResponse(run_status(run=get_object_or_404(Run, pk=run_id)))


def _act(request, run_id: int, action, done: str):
    try:
        action(run_id=run_id)
        messages.success(request, done)
    except RejectedInput as exc:
        messages.error(request, exc.message)
        return redirect("run-detail", run_id=run_id) if exc.status != 404 else redirect("runs")
    return redirect("run-detail", run_id=run_id)


@staff_required
@require_POST
def run_cancel_view(request, run_id: int):
    return _act(request, run_id, run_cancel, "Cancellation requested.")


@staff_required
@require_POST
def run_retry_view(request, run_id: int):
    return _act(request, run_id, run_retry, "The run was queued again; it resumes from its last checkpoint.")


@staff_required
@require_POST
def run_start_bootstrap(request):
    run = run_enqueue(kind=Run.Kind.BOOTSTRAP, config={}, created_by=request.user)
    messages.success(request, "Training the default policy.")
    return redirect("run-detail", run_id=run.pk)


@staff_required
@require_GET
def model_versions(request):
    return render(request, "labeling/model_versions.html", {"versions": model_versions_all()})


@staff_required
@require_GET
def model_versions_compare(request):
    """Two policy versions' samples on the same prompts, side by side (``?a=<id>&b=<id>``)."""
    policies = ModelVersion.objects.filter(kind=ModelVersion.Kind.POLICY).order_by("-created_at")
    a, b = request.GET.get("a"), request.GET.get("b")
    rows, version_a, version_b = [], None, None
    if a and b:
        if not (a.isdigit() and b.isdigit()):
            return render(request, "labeling/compare.html", {"policies": policies, "error": "Pick two versions."},
                          status=400)
        version_a, version_b = get_object_or_404(policies, pk=a), get_object_or_404(policies, pk=b)
        rows = policy_comparison(version_a=version_a, version_b=version_b)
    return render(request, "labeling/compare.html",
                  {"policies": policies, "rows": rows, "a": version_a, "b": version_b})

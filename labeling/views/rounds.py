"""Pages for training rounds of one project (``?project=SLUG``, default ``default``): its reviewers
watch, its managers start one (the form starts from the project's round settings)."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from labeling.errors import RejectedInput
from labeling.forms import RoundStartForm
from labeling.models import Membership, TrainingRound
from labeling.selectors.guard import rounds_held
from labeling.selectors.runs import prompts_with_fewest_tasks, rounds_recent
from labeling.selectors.task_selection import round_selection_summary
from labeling.services.guard import round_guard_acknowledge
from labeling.services.rounds import round_settings, round_start
from labeling.views.access import project_role_required, require_project_role

REVIEWER, MANAGER = Membership.Role.REVIEWER, Membership.Role.MANAGER


@project_role_required(REVIEWER)
@require_http_methods(["GET", "POST"])
def rounds_page(request):
    project = request.project
    can_start = request.project_role == MANAGER
    form = RoundStartForm(request.POST or None, initial=RoundStartForm.initial_from(round_settings(project=project)))
    if request.method == "POST":
        if not can_start:
            require_project_role(request, project, MANAGER)  # 403
        if form.is_valid():
            try:
                training_round = round_start(
                    algo=form.cleaned_data["algo"], created_by=request.user, config=form.round_config(),
                    prompt_ids=prompts_with_fewest_tasks(count=form.cleaned_data["sample_prompts"], project=project),
                    project=project,
                )
            except RejectedInput as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Round {training_round.pk} started.")
                return redirect("round-detail", round_id=training_round.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "rounds": rounds_recent(project=project), "project": project, "can_start": can_start,
               "min_rankings": settings.ROUND_MIN_NEW_RANKINGS, "held": rounds_held(project=project)}
    return render(request, "labeling/rounds.html", context, status=status)


@login_required
@require_GET
def round_detail(request, round_id: int):
    training_round = get_object_or_404(TrainingRound.objects.select_related("project"), pk=round_id)
    role = require_project_role(request, training_round.project, REVIEWER)
    runs = training_round.runs.order_by("created_at", "pk")
    return render(request, "labeling/round_detail.html",
                  {"round": training_round, "runs": runs, "project": training_round.project,
                   "selection": round_selection_summary(training_round=training_round),
                   "can_acknowledge": role == MANAGER})


@login_required
@require_POST
def round_acknowledge(request, round_id: int):
    """A manager has looked at the round's canary warning: lift the hold on auto-started rounds."""
    training_round = get_object_or_404(TrainingRound.objects.select_related("project"), pk=round_id)
    require_project_role(request, training_round.project, MANAGER)  # 403 for a reviewer
    try:
        round_guard_acknowledge(training_round=training_round, user=request.user)
    except RejectedInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Warning acknowledged: auto-started rounds go on.")
    return redirect("round-detail", round_id=training_round.pk)

"""Admin pages for training rounds: start one, watch its steps."""
from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from labeling.errors import RejectedInput
from labeling.forms import RoundStartForm
from labeling.models import TrainingRound
from labeling.selectors.runs import prompts_with_fewest_tasks, rounds_recent
from labeling.services.rounds import round_start
from labeling.views.access import staff_required


@staff_required
@require_http_methods(["GET", "POST"])
def rounds_page(request):
    form = RoundStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            training_round = round_start(
                algo=form.cleaned_data["algo"], created_by=request.user, config=form.round_config(),
                prompt_ids=prompts_with_fewest_tasks(count=form.cleaned_data["sample_prompts"]),
            )
        except RejectedInput as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Round {training_round.pk} started.")
            return redirect("round-detail", round_id=training_round.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "rounds": rounds_recent(), "min_rankings": settings.ROUND_MIN_NEW_RANKINGS}
    return render(request, "labeling/rounds.html", context, status=status)


@staff_required
@require_GET
def round_detail(request, round_id: int):
    training_round = get_object_or_404(TrainingRound, pk=round_id)
    runs = training_round.runs.order_by("created_at", "pk")
    return render(request, "labeling/round_detail.html", {"round": training_round, "runs": runs})

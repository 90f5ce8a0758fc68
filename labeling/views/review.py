"""The review pages of one project, for its reviewers: the queue, and one page per ranking and per
demonstration with the accept / reject / correct form and the item's decisions.

A ranking is corrected by writing the order in the letters the page shows (``B > A = D > C``,
:mod:`labeling.letter_order`), a demonstration by editing its text. A refused decision shows its
message on the form (400) and changes nothing; a recorded one goes back to the queue.
"""
from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from labeling.errors import RejectedInput
from labeling.letter_order import tiers_from_letters
from labeling.models import Membership, ReviewDecision
from labeling.project_forms import add_refusal
from labeling.selectors.review import review_queue
from labeling.selectors.review_items import review_demonstration_detail, review_ranking_detail
from labeling.services.review import STATUS_AFTER, review_decide
from labeling.services.stats import stats_catch_up
from labeling.views.access import project_role_required

REVIEWER = Membership.Role.REVIEWER


class ReviewForm(forms.Form):
    action = forms.ChoiceField(choices=ReviewDecision.Action.choices, widget=forms.RadioSelect)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Required to reject; shown in the item's history.")
    corrected = forms.CharField(required=False, strip=False,
                                help_text="To correct: the order in letters (B > A = D > C), or the new text.")


@require_GET
@project_role_required(REVIEWER)
def review_queue_page(request):
    pending = stats_catch_up(project=request.project)  # the queue reads the agreement cache
    return render(request, "labeling/review_queue.html", {
        "project": request.project, "items": review_queue(project=request.project), "pending_tasks": pending})


def _decide(request, form: ReviewForm, item: dict, **ids):
    """Record the form's decision; a refusal is added to the form. Returns True when recorded."""
    action, corrected = form.cleaned_data["action"], form.cleaned_data["corrected"]
    try:
        if "ranking_id" in ids:
            tiers = tiers_from_letters(corrected, item["letter_of"]) if action == "correct" else None
            extra = {"corrected_tiers": tiers}
        else:
            extra = {"corrected_text": corrected if action == "correct" else None}
        review_decide(reviewer=request.user, project=request.project, action=action,
                      reason=form.cleaned_data["reason"], **ids, **extra)
    except RejectedInput as exc:
        if exc.field in ("corrected_tiers", "corrected_text"):
            form.add_error("corrected", exc.message)
        else:
            add_refusal(form, exc)
        return False
    (name, item_id), = ids.items()
    messages.success(request, f"Recorded: {name.removesuffix('_id')} {item_id} {STATUS_AFTER[action]}.")
    return True


def _item_page(request, detail: dict | None, template: str, **ids):
    if detail is None:
        raise Http404("No such item in this project.")
    form = ReviewForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and _decide(request, form, detail, **ids):
        return redirect("review-queue", project=request.project.slug)
    return render(request, template, {**detail, "project": request.project, "form": form},
                  status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
@project_role_required(REVIEWER)
def review_ranking_page(request, ranking_id: int):
    detail = review_ranking_detail(project=request.project, ranking_id=ranking_id)
    return _item_page(request, detail, "labeling/review_ranking.html", ranking_id=ranking_id)


@require_http_methods(["GET", "POST"])
@project_role_required(REVIEWER)
def review_demonstration_page(request, demonstration_id: int):
    detail = review_demonstration_detail(project=request.project, demonstration_id=demonstration_id)
    return _item_page(request, detail, "labeling/review_demonstration.html", demonstration_id=demonstration_id)

"""One item under review (a ranking or a demonstration of a project) and reviewers' decisions, as the
review pages, the task's page and the API show them.

A ranking is shown in the letters of its task's completions (A for the lowest id, as on the task's
page, :mod:`labeling.letter_order`); each decision as who, when, action, reason, and before -> after
(the item's review status and what it trained and exported as: its order, or its text).
"""
from __future__ import annotations

from django.db.models import QuerySet

from labeling.letter_order import completion_letters, tiers_to_letters
from labeling.models import Demonstration, Project, Ranking, RankingTask, ReviewDecision


def _state(state: dict, letters: dict[int, str]) -> dict:
    value = tiers_to_letters(state["tiers"], letters) if "tiers" in state else state.get("text", "")
    return {"status": state.get("review_status") or "unreviewed", "value": value}


def decision_rows(decisions: QuerySet[ReviewDecision], letters: dict[int, str] | None = None) -> list[dict]:
    """Each decision, newest first: ``{"id", "reviewer", "created_at", "action", "reason", "item",
    "labeler", "before": {"status", "value"}, "after": {...}}`` (``value``: an order in letters, or a text)."""
    rows = []
    for d in decisions.select_related("reviewer", "ranking__labeler", "demonstration__labeler").order_by(
            "-created_at", "-id"):
        item = d.ranking if d.ranking_id else d.demonstration
        rows.append({
            "id": d.pk, "reviewer": d.reviewer.get_username() if d.reviewer else "(deleted user)",
            "created_at": d.created_at, "action": d.action, "reason": d.reason,
            "item": f"ranking {d.ranking_id}" if d.ranking_id else f"demonstration {d.demonstration_id}",
            "labeler": item.labeler.get_username(),
            "before": _state(d.before, letters or {}), "after": _state(d.after, letters or {}),
        })
    return rows


def task_review_decisions(task: RankingTask) -> list[dict]:
    """Every decision on the task's rankings, for the task's page."""
    letters = completion_letters(task.completions.values_list("pk", flat=True))
    return decision_rows(ReviewDecision.objects.filter(ranking__task=task), letters)


def review_ranking_detail(*, project: Project, ranking_id: int) -> dict | None:
    """The ranking of ``project`` with its task's completions lettered, its order, flags, scores,
    comment and gold, and its decisions; None when the project has no such ranking."""
    ranking = (Ranking.objects.select_related("labeler", "task__prompt")
               .filter(pk=ranking_id, task__prompt__project=project).first())
    if ranking is None:
        return None
    task = ranking.task
    completions = list(task.completions.order_by("pk"))
    letters = completion_letters(c.pk for c in completions)
    return {
        "ranking": ranking, "task": task, "prompt": task.prompt,
        "completions": [{"id": c.pk, "letter": letters[c.pk], "text": c.text,
                         "flags": ranking.flags.get(str(c.pk), []), "score": ranking.scores.get(str(c.pk))}
                        for c in completions],
        "letters": ", ".join(letters[c.pk] for c in completions), "letter_of": letters,
        "order": tiers_to_letters(ranking.tiers, letters),
        "corrected_order": tiers_to_letters(ranking.corrected_tiers, letters) if ranking.corrected_tiers else "",
        "gold": tiers_to_letters(task.gold_tiers, letters) if task.gold_tiers else "",
        "shown": " ".join(letters.get(cid, "?") for cid in ranking.display_order),
        "status": ranking.review_status or "unreviewed",
        "decisions": decision_rows(ranking.review_decisions.all(), letters),
    }


def review_demonstration_detail(*, project: Project, demonstration_id: int) -> dict | None:
    """The demonstration of ``project`` with its prompt, the completion it rewrites (if any) and its
    decisions; None when the project has no such demonstration."""
    demonstration = (Demonstration.objects.select_related("labeler", "task__prompt", "task__source_completion")
                     .filter(pk=demonstration_id, task__prompt__project=project).first())
    if demonstration is None:
        return None
    return {
        "demonstration": demonstration, "task": demonstration.task, "prompt": demonstration.task.prompt,
        "source_completion": demonstration.task.source_completion,
        "status": demonstration.review_status or "unreviewed",
        "decisions": decision_rows(demonstration.review_decisions.all()),
    }

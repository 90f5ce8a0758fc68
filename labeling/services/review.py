"""A reviewer's decision on one ranking or one demonstration: accept, reject or correct it.

Choices made:

- One decision is one :class:`ReviewDecision` row (who, when, action, reason, ``before`` and
  ``after``), and it sets the item's ``review_status`` in the same transaction. A second decision
  on the same item replaces the status and is recorded too: the rows are the history.
- ``before`` and ``after`` are what the item trains and exports as, and its status:
  ``{"review_status", "tiers"}`` for a ranking (``Ranking.final_tiers``), ``{"review_status",
  "text"}`` for a demonstration (``Demonstration.final_text``).
- ``reject`` needs a reason; ``correct`` needs the reviewer's version: for a ranking tiers over
  exactly the task's completions, checked by the same code as a labeler's submit
  (:func:`labeling.submission.clean_tiers`); for a demonstration a text within the project's
  ``demonstration_min_chars``..``demonstration_max_chars``, checked as a labeler's
  (:func:`labeling.services.demonstrations.clean_demonstration_text`). The labeler's original is kept; accept or
  reject after a correction clears it (the history keeps it).
- The agreement cache follows at once: a decision on a ranking rebuilds its task's cached figures
  (:func:`labeling.services.stats.task_stats_rebuild`) inside the decision's transaction. Rejected
  rankings are not counted (``labeling.services.stats.counted_rankings``). A corrected ranking keeps
  counting with the labeler's own order: agreement figures measure the labeler, and the reviewer's
  order is no labeler's work. Training and exports use the correction (``final_tiers``).
- The reviewer needs the project's reviewer role (staff: everywhere); an item of another project is
  a 404 in the same words as one that does not exist. Bad input changes nothing.
"""
from __future__ import annotations

from django.conf import settings
from django.db import transaction

from labeling import submission
from labeling.errors import RejectedInput
from labeling.models import Demonstration, Membership, Project, Ranking, ReviewDecision
from labeling.selectors.projects import project_access
from labeling.services.demonstrations import clean_demonstration_text
from labeling.services.stats import task_stats_rebuild

ACTIONS = [choice.value for choice in ReviewDecision.Action]
STATUS_AFTER = {"accept": "accepted", "reject": "rejected", "correct": "corrected"}


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clean_action(action) -> str:
    if action not in ACTIONS:
        raise RejectedInput(f"Choose an action: {', '.join(ACTIONS)} (not {action!r}).", field="action")
    return action


def _clean_reason(reason, action: str) -> str:
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise RejectedInput("The reason must be text.", field="reason")
    submission.refuse_unstorable_text(reason, "reason")
    if len(reason) > settings.LABELING_COMMENT_MAX_CHARS:
        raise RejectedInput(f"The reason is {len(reason):,} characters long; the limit is "
                            f"{settings.LABELING_COMMENT_MAX_CHARS:,}.", field="reason")
    reason = reason.strip()
    if action == "reject" and not reason:
        raise RejectedInput("Say why you reject it: a reason is required.", field="reason")
    return reason


def _refuse_extra(*, action: str, item: str, corrected_tiers, corrected_text) -> None:
    """A correction given where it does not belong (another action, the other kind of item) is refused."""
    belongs = {"ranking": "corrected_tiers", "demonstration": "corrected_text"}[item] if action == "correct" else None
    for name, value in (("corrected_tiers", corrected_tiers), ("corrected_text", corrected_text)):
        if value not in (None, "") and name != belongs:
            where = f"a {item}" if action == "correct" else f"the action {action}"
            raise RejectedInput(f"{name} is not for {where}: only to correct a "
                                f"{'ranking' if name == 'corrected_tiers' else 'demonstration'}.", field=name)


def _clean_corrected_tiers(tiers, ranking: Ranking) -> list[list[int]]:
    completion_ids = set(ranking.task.completions.values_list("pk", flat=True))
    try:
        tiers = submission.clean_tiers(tiers, completion_ids)
    except RejectedInput as exc:
        raise RejectedInput(exc.message, field="corrected_tiers") from None
    if _as_sets(tiers) == _as_sets(ranking.tiers):
        raise RejectedInput("The corrected order is the labeler's own: accept it instead.", field="corrected_tiers")
    return tiers


def _as_sets(tiers) -> list[frozenset]:
    return [frozenset(tier) for tier in tiers]


def _clean_corrected_text(text, project: Project) -> str:
    """The labeler's own rules for a demonstration's text (stripped, within the project's limits)."""
    try:
        return clean_demonstration_text(text, project)
    except RejectedInput as exc:
        raise RejectedInput(exc.message, field="corrected_text") from None


def _not_found(what: str, item_id, project: Project) -> RejectedInput:
    return RejectedInput(f"There is no {what} {item_id} in project {project.slug!r}.", field=what, status=404)


def _ranking_state(ranking: Ranking) -> dict:
    return {"review_status": ranking.review_status, "tiers": ranking.final_tiers}


def _demonstration_state(demonstration: Demonstration) -> dict:
    return {"review_status": demonstration.review_status, "text": demonstration.final_text}


def _decide_ranking(*, reviewer, project, ranking_id, action, reason, corrected_tiers) -> ReviewDecision:
    rows = Ranking.objects.select_for_update(of=("self",)).select_related("task")
    ranking = rows.filter(pk=ranking_id, task__prompt__project=project).first() if _is_id(ranking_id) else None
    if ranking is None:
        raise _not_found("ranking", ranking_id, project)
    before = _ranking_state(ranking)
    if action == "correct":
        if corrected_tiers is None:
            raise RejectedInput("Give the corrected order (corrected_tiers).", field="corrected_tiers")
        ranking.corrected_tiers = _clean_corrected_tiers(corrected_tiers, ranking)
    else:
        ranking.corrected_tiers = None
    ranking.review_status = STATUS_AFTER[action]
    ranking.save(update_fields=["review_status", "corrected_tiers"])
    decision = ReviewDecision.objects.create(project=project, ranking=ranking, reviewer=reviewer, action=action,
                                             reason=reason, before=before, after=_ranking_state(ranking))
    task_stats_rebuild(task_ids=[ranking.task_id])  # the agreement cache follows at once
    return decision


def _decide_demonstration(*, reviewer, project, demonstration_id, action, reason, corrected_text) -> ReviewDecision:
    rows = Demonstration.objects.select_for_update(of=("self",))
    demonstration = (rows.filter(pk=demonstration_id, task__prompt__project=project).first()
                     if _is_id(demonstration_id) else None)
    if demonstration is None:
        raise _not_found("demonstration", demonstration_id, project)
    before = _demonstration_state(demonstration)
    if action == "correct":
        demonstration.corrected_text = _clean_corrected_text(corrected_text, project)
        if demonstration.corrected_text == demonstration.text.strip():
            raise RejectedInput("The corrected text is the labeler's own: accept it instead.", field="corrected_text")
    else:
        demonstration.corrected_text = ""
    demonstration.review_status = STATUS_AFTER[action]
    demonstration.save(update_fields=["review_status", "corrected_text"])
    return ReviewDecision.objects.create(project=project, demonstration=demonstration, reviewer=reviewer,
                                         action=action, reason=reason, before=before,
                                         after=_demonstration_state(demonstration))


def review_decide(*, reviewer, project: Project, ranking_id=None, demonstration_id=None, action, reason="",
                  corrected_tiers=None, corrected_text=None) -> ReviewDecision:
    """Record ``reviewer``'s decision on the ranking or the demonstration (exactly one of the two ids)
    of ``project`` and set its review status; refuse bad input with :class:`RejectedInput` (400, 403
    for a role below reviewer, 404 for an item not in the project) and write nothing."""
    project_access(user=reviewer, project=project, needed=Membership.Role.REVIEWER)
    if (ranking_id is None) == (demonstration_id is None):
        raise RejectedInput("Name one item: a ranking or a demonstration.", field="item")
    action = _clean_action(action)
    reason = _clean_reason(reason, action)
    item = "ranking" if ranking_id is not None else "demonstration"
    _refuse_extra(action=action, item=item, corrected_tiers=corrected_tiers, corrected_text=corrected_text)
    with transaction.atomic():
        if item == "ranking":
            return _decide_ranking(reviewer=reviewer, project=project, ranking_id=ranking_id, action=action,
                                   reason=reason, corrected_tiers=corrected_tiers)
        return _decide_demonstration(reviewer=reviewer, project=project, demonstration_id=demonstration_id,
                                     action=action, reason=reason, corrected_text=corrected_text)

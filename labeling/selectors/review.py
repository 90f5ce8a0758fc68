"""A project's review queue: the work a reviewer should look at first, each item with why it is there.

Sources, each capped (``QueueLimits``), of items not yet reviewed (``review_status == ""``):

- the rankings of the tasks with the lowest agreement (``TaskAgreement.share`` under 1, two or more
  rankings, lowest first) that still hold an unreviewed ranking;
- gold misses: rankings of gold tasks that order some pair unlike ``gold_tiers`` (the cached
  ``RankingStats.gold_agree < gold_compared``);
- rankings that flag a completion;
- a sample of each labeler's recent work: those of their last ``per_labeler`` rankings in the
  project not yet reviewed (once reviewed, the labeler leaves the queue until they rank again);
- the newest unreviewed demonstrations.

An item in several sources appears once with every reason; items with more reasons come first,
then by source in the order above, newest first. The figures are read from the agreement cache as
it is: a caller that needs it current counts new rankings first (``stats_catch_up``), as the pages do.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Window
from django.db.models.functions import RowNumber

from labeling.models import Demonstration, Project, Ranking, RankingStats, TaskAgreement

LOW_AGREEMENT, GOLD_MISS, FLAGGED, SAMPLE, DEMONSTRATION = range(5)


@dataclass(frozen=True)
class QueueLimits:
    low_agreement_tasks: int = 20  # tasks with the lowest agreement
    gold_misses: int = 50  # newest gold misses
    flagged: int = 50  # newest rankings with a flag
    per_labeler: int = 3  # each labeler's last rankings sampled
    demonstrations: int = 50  # newest demonstrations
    items: int = 300  # the whole queue


def _preview(prompt) -> str:
    """A prompt in one line: a conversation by its last user turn."""
    return prompt.messages[-1]["content"] if prompt.messages else prompt.text


def _low_agreement(project: Project, limit: int) -> dict[int, list[tuple[int, str]]]:
    unreviewed = Ranking.objects.filter(task=OuterRef("task"), review_status="")
    tasks = dict(TaskAgreement.objects.filter(project=project, n_rankings__gte=2, share__lt=1)
                 .filter(Exists(unreviewed)).order_by("share", "-compared", "task_id")
                 .values_list("task_id", "share")[:limit])
    found: dict[int, list] = {}
    for ranking_id, task_id in Ranking.objects.filter(task_id__in=tasks, review_status="").values_list("pk", "task_id"):
        found[ranking_id] = [(LOW_AGREEMENT, f"Low task agreement: {tasks[task_id]:.0%} of pairs agree")]
    return found


def _gold_misses(project: Project, limit: int) -> dict[int, list[tuple[int, str]]]:
    rows = (RankingStats.objects.filter(project=project, gold_compared__gt=0, gold_agree__lt=F("gold_compared"),
                                        ranking__review_status="")
            .order_by("-created_at", "-ranking_id").values_list("ranking_id", "gold_agree", "gold_compared")[:limit])
    return {ranking_id: [(GOLD_MISS, f"Gold miss: {agree} of {compared} pairs ordered as the gold")]
            for ranking_id, agree, compared in rows}


def _flagged(project: Project, limit: int) -> dict[int, list[tuple[int, str]]]:
    rows = (Ranking.objects.filter(task__prompt__project=project, review_status="").exclude(flags={})
            .order_by("-created_at", "-id").values_list("pk", "flags")[:limit])
    return {ranking_id: [(FLAGGED, f"Flagged: {', '.join(sorted({f for keys in flags.values() for f in keys}))}")]
            for ranking_id, flags in rows}


def _recent_samples(project: Project, per_labeler: int) -> dict[int, list[tuple[int, str]]]:
    recency = Window(RowNumber(), partition_by=[F("labeler_id")], order_by=[F("created_at").desc(), F("id").desc()])
    rows = (Ranking.objects.filter(task__prompt__project=project).annotate(recency=recency)
            .filter(recency__lte=per_labeler).values_list("pk", "review_status"))
    # The status is checked after the window: the sample is the last rankings, reviewed or not.
    return {ranking_id: [(SAMPLE, "Sample of the labeler's recent work")]
            for ranking_id, status in rows if not status}


def _merge(into: dict, found: dict) -> None:
    for key, reasons in found.items():
        into.setdefault(key, []).extend(reasons)


def review_queue(*, project: Project, limits: QueueLimits = QueueLimits()) -> list[dict]:
    """The queue's items: ``{"kind": "ranking" | "demonstration", "id", "task_id", "labeler",
    "created_at", "prompt", "reasons": [str, ...]}``, first to review first."""
    by_ranking: dict[int, list] = {}
    _merge(by_ranking, _low_agreement(project, limits.low_agreement_tasks))
    _merge(by_ranking, _gold_misses(project, limits.gold_misses))
    _merge(by_ranking, _flagged(project, limits.flagged))
    _merge(by_ranking, _recent_samples(project, limits.per_labeler))
    found = [("ranking", ranking, by_ranking[ranking.pk]) for ranking in
             Ranking.objects.filter(pk__in=by_ranking).select_related("labeler", "task__prompt")]
    demonstrations = (Demonstration.objects.filter(task__prompt__project=project, review_status="")
                      .select_related("labeler", "task__prompt").order_by("-created_at", "-id")[:limits.demonstrations])
    found += [("demonstration", row, [(DEMONSTRATION, "New demonstration")]) for row in demonstrations]
    found.sort(key=lambda f: (-len(f[2]), min(f[2])[0], -f[1].created_at.timestamp(), f[0], -f[1].pk))
    return [{"kind": kind, "id": row.pk, "task_id": row.task_id, "labeler": row.labeler.get_username(),
             "created_at": row.created_at, "prompt": _preview(row.task.prompt),
             "reasons": [text for _source, text in sorted(reasons)]}
            for kind, row, reasons in found[:limits.items]]


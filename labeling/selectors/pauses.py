"""Labelers paused from new work in a project, and the gold accuracy that pauses them.

A pause is open until a manager lifts it (``LabelerPause.lifted_at`` null). While it is open the
labeler is given no new task of that project: ranking leases (``labeling.services.assignment``)
and any other kind of lease ask :func:`labeler_paused` (one project) or :func:`paused_project_ids`
(all of them, as a subquery) so every queue applies the same rule.

Gold accuracy is the labeler home's measure (``labeling.agreement.gold_agreement`` summed over the
labeler's rankings of gold tasks: pairs ordered as the gold orders them / pairs the gold orders
strictly), computed here from the rankings themselves rather than the agreement cache, which a
worker refreshes later: a pause must follow the ranking that earns it. Rankings a reviewer rejected
are left out, as they are of every agreement figure.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from labeling import agreement
from labeling.models import Project, Ranking
from labeling.review_models import LabelerPause


def open_pauses() -> QuerySet[LabelerPause]:
    return LabelerPause.objects.filter(lifted_at__isnull=True)


def labeler_paused(labeler, project: Project) -> LabelerPause | None:
    """``labeler``'s open pause in ``project`` (its ``reason`` is what they are shown), or None."""
    return open_pauses().filter(labeler=labeler, project=project).first()


def paused_project_ids(labeler) -> QuerySet:
    """The ids of the projects where ``labeler`` (a user or a user id) is paused, as a subquery."""
    return open_pauses().filter(labeler=labeler).values("project")


def paused_labelers(project: Project) -> QuerySet[LabelerPause]:
    """``project``'s open pauses, with the labeler, oldest first (what managers see)."""
    return open_pauses().filter(project=project).select_related("labeler").order_by("created_at", "pk")


@dataclass(frozen=True)
class GoldRecord:
    tasks: int  # gold tasks the labeler ranked
    agree: int  # pairs ordered as the gold orders them
    compared: int  # pairs the gold orders strictly

    @property
    def accuracy(self) -> float | None:
        return self.agree / self.compared if self.compared else None


def gold_record(*, labeler, project: Project, since: datetime | None = None) -> GoldRecord:
    """``labeler``'s rankings of ``project``'s gold tasks (stored after ``since``, when given) scored
    against the gold tiers; rejected rankings left out."""
    rankings = (Ranking.objects.filter(labeler=labeler, task__prompt__project=project, task__gold_tiers__isnull=False)
                .exclude(review_status="rejected"))
    if since is not None:
        rankings = rankings.filter(created_at__gt=since)
    agree = compared = tasks = 0
    for tiers, gold in rankings.values_list("tiers", "task__gold_tiers"):
        a, c = agreement.gold_agreement(tiers, gold)
        agree, compared, tasks = agree + a, compared + c, tasks + 1
    return GoldRecord(tasks=tasks, agree=agree, compared=compared)

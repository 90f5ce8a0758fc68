"""Pausing a labeler whose gold accuracy falls under their project's threshold, and lifting it.

:func:`pause_after_gold_ranking` runs after a ranking of a gold task is stored (``ranking_submit``):
with the project's ``gold_min_accuracy`` set, a labeler with at least ``gold_min_tasks`` gold tasks
ranked and an accuracy (:func:`labeling.selectors.pauses.gold_record`) under it gets a
``LabelerPause`` whose reason they are shown. Without a threshold gold tasks never pause anyone.
After a manager lifts a pause (:func:`pause_lift`), only the gold rankings stored since count
towards the next one: the labeler gets ``gold_min_tasks`` more gold tasks to show they improved,
rather than being paused again by the next one while the old misses still weigh.
"""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from labeling.errors import RejectedInput
from labeling.models import Membership, Project
from labeling.review_models import LabelerPause
from labeling.selectors.pauses import gold_record, labeler_paused
from labeling.selectors.projects import project_access


def pause_reason(*, accuracy: float, tasks: int, threshold: float) -> str:
    return (f"Your accuracy on quality-check tasks is {100 * accuracy:.0f}% over {tasks} tasks, under this "
            f"project's {100 * threshold:.0f}%. A project manager has been told and can let you continue.")


def pause_after_gold_ranking(*, labeler, project: Project) -> LabelerPause | None:
    """The pause this gold ranking opened, or None (threshold met, too few gold tasks, no threshold,
    or already paused)."""
    threshold = project.gold_min_accuracy
    if threshold is None or labeler_paused(labeler, project) is not None:
        return None
    last_lift = (LabelerPause.objects.filter(project=project, labeler=labeler, lifted_at__isnull=False)
                 .order_by("-lifted_at").values_list("lifted_at", flat=True).first())
    record = gold_record(labeler=labeler, project=project, since=last_lift)
    if record.tasks < project.gold_min_tasks or record.accuracy is None or record.accuracy >= threshold:
        return None
    pause = LabelerPause(project=project, labeler=labeler, gold_accuracy=record.accuracy, gold_tasks=record.tasks,
                         reason=pause_reason(accuracy=record.accuracy, tasks=record.tasks, threshold=threshold))
    try:
        with transaction.atomic():
            pause.save(force_insert=True)
    except IntegrityError:  # a concurrent gold ranking of theirs opened it first (one open pause per labeler)
        return None
    return pause


def pause_lift(*, project: Project, labeler, by, now=None) -> LabelerPause:
    """Let ``labeler`` work in ``project`` again. ``by`` must be a manager of it (403 otherwise);
    404 when the labeler is not paused there."""
    project_access(user=by, project=project, needed=Membership.Role.MANAGER)
    pause = labeler_paused(labeler, project)
    if pause is None:
        raise RejectedInput("This labeler is not paused in this project.", field="labeler", status=404)
    pause.lifted_at = now or timezone.now()
    pause.lifted_by = by
    pause.save(update_fields=["lifted_at", "lifted_by"])
    return pause

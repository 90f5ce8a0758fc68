"""Which demonstrations train and export."""
from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet

from labeling.models import Demonstration, Project


def demonstrations_selected(*, project: Project, include_rejected: bool = False) -> QuerySet[Demonstration]:
    """The project's demonstrations, oldest first; a reviewer's rejected ones left out unless asked for."""
    queryset = Demonstration.objects.filter(task__prompt__project=project)
    if not include_rejected:
        queryset = queryset.exclude(review_status="rejected")
    return queryset.select_related("task__prompt", "labeler").order_by("pk")


def demonstration_record(demonstration: Demonstration) -> dict:
    """TRL's prompt-completion line: ``{"prompt", "completion"}`` (the reviewer's correction if any),
    plus who wrote it and its review status; a conversation's prompt is its list of messages."""
    return {"prompt": demonstration.task.prompt.value, "completion": demonstration.final_text,
            "labeler": demonstration.labeler.get_username(), "task_id": demonstration.task_id,
            "review_status": demonstration.review_status or "unreviewed"}


def demonstrations_records(*, project: Project, include_rejected: bool = False) -> Iterator[dict]:
    for demonstration in demonstrations_selected(project=project, include_rejected=include_rejected).iterator(
            chunk_size=500):
        yield demonstration_record(demonstration)

"""Rankings in the K-way JSONL shape of DESIGN.md, streamed (no list of every ranking in memory).

``{"prompt": str, "completions": [str, ...], "ranking": [[int, ...], ...], "labeler": str}`` with
indexes into ``completions``, which are the task's completions in id order (the same order for
every labeler of a task, so their rankings share one comparison group in training).
"""
from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Prefetch, QuerySet

from labeling.models import Completion, Ranking


def ranking_record(ranking: Ranking) -> dict:
    completions = sorted(ranking.task.completions.all(), key=lambda c: c.pk)
    index = {c.pk: i for i, c in enumerate(completions)}
    return {
        "prompt": ranking.task.prompt.text,
        "completions": [c.text for c in completions],
        "ranking": [[index[cid] for cid in tier] for tier in ranking.tiers],
        "labeler": ranking.labeler.get_username(),
        "task_id": ranking.task_id,
    }


def rankings_records(*, rankings: QuerySet[Ranking] | None = None, chunk_size: int = 500) -> Iterator[dict]:
    queryset = (rankings if rankings is not None else Ranking.objects.all()).select_related("task__prompt", "labeler")
    queryset = queryset.prefetch_related(Prefetch("task__completions", queryset=Completion.objects.order_by("pk")))
    for ranking in queryset.order_by("pk").iterator(chunk_size=chunk_size):
        yield ranking_record(ranking)

"""Query parameters of the staff lists, parsed into filtered querysets; a bad value is a 400 naming it."""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from labeling.api.parsers import unstorable_text
from labeling.errors import RejectedInput
from labeling.models import TASK_SET_MAX_LENGTH, Completion, Ranking, RankingTask

MAX_ID = 10**18 - 1
TASK_STATUSES = ("open", "complete")


def _query(name: str, kind, description: str, **extra) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=False, description=description, **extra)


ROUND = _query("round", OpenApiTypes.INT, "A training round id: tasks its sample step made.")
TASK_PARAMETERS = [
    _query("task_set", OpenApiTypes.STR, "The batch: an import's name, demo, round-<id>..."),
    _query("status", OpenApiTypes.STR, "open: needs more rankings; complete: has enough.", enum=TASK_STATUSES),
    ROUND,
]
RANKING_PARAMETERS = [
    ROUND,
    _query("labeler", OpenApiTypes.STR, "The labeler's username."),
    _query("since", OpenApiTypes.DATE, "Submitted on or after this UTC date."),
    _query("until", OpenApiTypes.DATE, "Submitted on or before this UTC date."),
]


def text_param(params, name: str, *, max_chars: int = 200) -> str | None:
    """A text parameter the database can compare against (Postgres refuses a NUL in a query)."""
    raw = params.get(name)
    if raw is not None and (len(raw) > max_chars or unstorable_text(raw)):
        raise RejectedInput(f"{name} must be text of at most {max_chars} characters, without NUL.", field=name)
    return raw


def int_param(params, name: str) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ID:
        raise RejectedInput(f"{name} must be a whole number (an id), not {raw!r}.", field=name)
    return int(raw)


def _date_param(params, name: str) -> dt.date | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise RejectedInput(f"{name} must be a date as YYYY-MM-DD, not {raw!r}.", field=name) from None


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, dt.timezone.utc)


def tasks_filtered(params) -> QuerySet[RankingTask]:
    tasks = (RankingTask.objects.select_related("prompt", "source_run")
             .prefetch_related(Prefetch("completions", queryset=Completion.objects.order_by("pk")))
             .annotate(n_rankings=Count("rankings", distinct=True)).order_by("created_at", "id"))
    task_set = text_param(params, "task_set", max_chars=TASK_SET_MAX_LENGTH)
    if task_set is not None:
        tasks = tasks.filter(task_set=task_set)
    status = params.get("status")
    if status not in (None, "", *TASK_STATUSES):
        raise RejectedInput(f"status must be one of {', '.join(TASK_STATUSES)}, not {status!r}.", field="status")
    if status == "open":
        tasks = tasks.filter(n_rankings__lt=F("required_rankings"))
    elif status == "complete":
        tasks = tasks.filter(n_rankings__gte=F("required_rankings"))
    round_id = int_param(params, "round")
    if round_id is not None:
        tasks = tasks.filter(source_run__training_round=round_id)
    return tasks


def rankings_filtered(params) -> QuerySet[Ranking]:
    rankings = Ranking.objects.select_related("labeler").order_by("created_at", "id")
    round_id = int_param(params, "round")
    if round_id is not None:
        rankings = rankings.filter(task__source_run__training_round=round_id)
    labeler = text_param(params, "labeler")
    if labeler:
        rankings = rankings.filter(labeler__username=labeler)
    since, until = _date_param(params, "since"), _date_param(params, "until")
    if since and until and since > until:
        raise RejectedInput("since must not be after until.", field="since")
    if since:
        rankings = rankings.filter(created_at__gte=_utc_midnight(since))
    if until and until < dt.date.max:
        rankings = rankings.filter(created_at__lt=_utc_midnight(until + dt.timedelta(days=1)))
    return rankings

"""Query parameters of the staff endpoints: their OpenAPI description, and the lists they filter.

Which tasks and rankings a list holds is parsed and chosen by :mod:`labeling.selectors.rankings`
(the same filter as exports, the stats figures and the training jobs); a bad value is a 400 naming it.
Every staff endpoint also takes ``project`` (:data:`PROJECT`; the permission reads it).
"""
from __future__ import annotations

from django.db.models import Count, F, Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from labeling.api.parsers import unstorable_text
from labeling.errors import RejectedInput
from labeling.models import Completion, Project, Ranking, RankingTask
from labeling.selectors.rankings import filter_inputs, ranking_filter_parse, rankings_selected, tasks_selected

TASK_STATUSES = ("open", "complete")


def query_param(name: str, kind, description: str, **extra) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=False, description=description, **extra)


PROJECT = query_param("project", OpenApiTypes.STR, "Project slug; default: the default project.")
ROUND = query_param("round", OpenApiTypes.INT, "A training round id of the project: tasks its sample step made "
                                          "(repeat for several).")
TASK_SET = query_param("task_set", OpenApiTypes.STR,
                       "The batch: an import's name, demo, round-<id>... (repeat for several).")
SINCE = query_param("since", OpenApiTypes.DATE, "Submitted on or after this UTC date.")
UNTIL = query_param("until", OpenApiTypes.DATE, "Submitted on or before this UTC date.")
LABELER = query_param("labeler", OpenApiTypes.STR, "The labeler's username (repeat for several).")
TASK_PARAMETERS = [
    TASK_SET,
    query_param("status", OpenApiTypes.STR, "open: needs more rankings; complete: has enough.", enum=TASK_STATUSES),
    ROUND,
]
RANKING_PARAMETERS = [ROUND, TASK_SET, LABELER, SINCE, UNTIL,
                      query_param("include_rejected", OpenApiTypes.BOOL,
                                  "Keep rankings a reviewer rejected; left out by default.")]


def text_param(params, name: str, *, max_chars: int = 200) -> str | None:
    """A text parameter the database can compare against (Postgres refuses a NUL in a query)."""
    raw = params.get(name)
    if raw is not None and (len(raw) > max_chars or unstorable_text(raw)):
        raise RejectedInput(f"{name} must be text of at most {max_chars} characters, without NUL.", field=name)
    return raw


def tasks_filtered(params, *, project: Project) -> QuerySet[RankingTask]:
    f = ranking_filter_parse(project=project, **filter_inputs(params, ("task_set", "round")))
    tasks = (tasks_selected(f).select_related("prompt", "source_run")
             .prefetch_related(Prefetch("completions", queryset=Completion.objects.order_by("pk")))
             .annotate(n_rankings=Count("rankings", distinct=True)).order_by("created_at", "id"))
    status = params.get("status")
    if status not in (None, "", *TASK_STATUSES):
        raise RejectedInput(f"status must be one of {', '.join(TASK_STATUSES)}, not {status!r}.", field="status")
    if status == "open":
        tasks = tasks.filter(n_rankings__lt=F("required_rankings"))
    elif status == "complete":
        tasks = tasks.filter(n_rankings__gte=F("required_rankings"))
    return tasks


def rankings_filtered(params, *, project: Project) -> QuerySet[Ranking]:
    names = ("round", "task_set", "labeler", "since", "until", "include_rejected")
    f = ranking_filter_parse(project=project, **filter_inputs(params, names))
    return rankings_selected(f).select_related("labeler").order_by("created_at", "id")

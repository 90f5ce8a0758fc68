"""Which rankings: one filter, parsed and checked in one place, and the one selector that applies it.

Exports (the ``export_preferences`` command and ``GET /api/v1/exports/``), the REST API's lists, the
agreement dashboard (``/stats/`` and ``GET /api/v1/stats/``) and the reward and DPO jobs all choose
their rankings with a :class:`RankingFilter` built by :func:`ranking_filter_parse` from text (query
parameters, command-line options, a run's stored ``inputs``) and read them with
:func:`rankings_selected`. A filter always names its project: nothing ever reads another project's
rankings.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from labeling.errors import RejectedInput
from labeling.models import TASK_SET_MAX_LENGTH, Membership, Project, Ranking, RankingTask, TrainingRound

MAX_ID = 10**18 - 1  # ids in paths and parameters: at most 18 digits (a larger one is refused, not a crash)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # text no database can compare against (Postgres: NUL)
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": False}


@dataclass(frozen=True)
class RankingFilter:
    """Rankings of ``project`` that match every field given (an empty tuple or None: no condition)."""

    project: Project
    task_sets: tuple[str, ...] = ()  # RankingTask.task_set, any of these
    rounds: tuple[int, ...] = ()  # TrainingRound ids: tasks their sample step made
    task_ids: tuple[int, ...] = ()  # these tasks only
    labelers: tuple[str, ...] = ()  # usernames
    since: dt.date | None = None  # UTC date of submission, included
    until: dt.date | None = None  # UTC date of submission, included
    min_agreement: float | None = None  # tasks whose cached pairwise agreement (TaskAgreement.share) >= this
    include_gold: bool = True  # False: gold (quality-check) tasks left out
    include_rejected: bool = False  # True: rankings a reviewer rejected are kept too
    include_canaries: bool = True  # False: canary tasks left out (the reward-hacking guard's checks; training)
    include_excluded_labelers: bool = True  # False: rankings by members a manager excluded from training left out

    def describe(self) -> str:
        """``project=helpful, rounds=(3,), include_gold=False``: the fields not left at their default."""
        parts = [f"project={self.project.slug}"]
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "project" and value != f.default:
                parts.append(f"{f.name}={value}")
        return ", ".join(parts)


def _values(raw) -> list:
    """None, one value or several (a list from repeated query parameters or a run's inputs)."""
    if raw is None:
        return []
    items = [raw] if isinstance(raw, (str, int, float, bool)) else list(raw)
    return [item for item in items if item is not None and item != ""]


def _text(name: str, raw, max_chars: int) -> str:
    if not isinstance(raw, str) or len(raw) > max_chars or _UNSTORABLE.search(raw):
        raise RejectedInput(f"{name} must be text of at most {max_chars} characters, without NUL.", field=name)
    return raw


def _id(name: str, raw) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= MAX_ID:
        return raw
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID:
        return int(raw)
    raise RejectedInput(f"{name} must be a whole number (an id), not {raw!r}.", field=name)


def _date(name: str, raw) -> dt.date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    try:
        return dt.date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise RejectedInput(f"{name} must be a valid date as YYYY-MM-DD, not {raw!r}.", field=name) from None


def _agreement(raw) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        value = math.nan if isinstance(raw, bool) else float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not 0 <= value <= 1:  # NaN fails this too
        raise RejectedInput(f"min_agreement must be a number from 0 to 1, not {raw!r}.", field="min_agreement")
    return value


def _boolean(name: str, raw) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in _BOOLEANS:
        return _BOOLEANS[raw.lower()]
    raise RejectedInput(f"{name} must be true or false, not {raw!r}.", field=name)


def _rounds(project: Project, raw) -> tuple[int, ...]:
    ids = tuple(dict.fromkeys(_id("round", item) for item in _values(raw)))
    found = set(TrainingRound.objects.filter(project=project, pk__in=ids).values_list("pk", flat=True))
    for round_id in ids:
        if round_id not in found:
            raise RejectedInput(f"There is no round {round_id} in project {project.slug!r}.", field="round")
    return ids


def _task_sets(project: Project, raw) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(_text("task_set", item, TASK_SET_MAX_LENGTH) for item in _values(raw)))
    found = set(RankingTask.objects.filter(prompt__project=project, task_set__in=names)
                .values_list("task_set", flat=True).distinct())
    for name in names:
        if name not in found:
            raise RejectedInput(f"There is no task set {name!r} in project {project.slug!r}.", field="task_set")
    return names


def _labelers(project: Project, raw) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(_text("labeler", item, 150) for item in _values(raw)))
    users = get_user_model().objects.filter(username__in=names)
    if not project.open_to_all:  # a closed project's people: its members and whoever ranked in it
        users = users.filter(Q(memberships__project=project) | Q(rankings__task__prompt__project=project))
    found = set(users.values_list("username", flat=True))
    for name in names:
        if name not in found:
            raise RejectedInput(f"There is no labeler named {name!r} in project {project.slug!r}.", field="labeler")
    return names


def ranking_filter_parse(*, project: Project, task_set=None, round=None, task_ids=None, labeler=None,
                         since=None, until=None, min_agreement=None, include_gold=None,
                         include_rejected=None) -> RankingFilter:
    """A filter from text: each of ``task_set``, ``round``, ``task_ids`` and ``labeler`` is one value or
    a list of them; dates are YYYY-MM-DD; ``include_gold`` true/false (None: true);
    ``include_rejected`` true/false (None: false, rankings a reviewer rejected left out). RejectedInput
    (400) names the first bad field: not an id, not a date, a round, task set or labeler the project
    does not have."""
    since_day, until_day = _date("since", since), _date("until", until)
    if since_day and until_day and since_day > until_day:
        raise RejectedInput(f"since ({since_day}) must not be after until ({until_day}).", field="since")
    rounds = _rounds(project, round)
    return RankingFilter(
        project=project,
        task_sets=_task_sets(project, task_set),
        rounds=rounds,
        task_ids=tuple(dict.fromkeys(_id("task_ids", item) for item in _values(task_ids))),
        labelers=_labelers(project, labeler),
        since=since_day, until=until_day,
        min_agreement=_agreement(min_agreement),
        include_gold=True if include_gold is None else _boolean("include_gold", include_gold),
        include_rejected=False if include_rejected is None else _boolean("include_rejected", include_rejected),
    )


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, dt.timezone.utc)


def submitted_between(f: RankingFilter, field: str) -> Q:
    """``field`` (a datetime) on a UTC date from ``f.since`` to ``f.until``, both included."""
    q = Q()
    if f.since:
        q &= Q(**{f"{field}__gte": _utc_midnight(f.since)})
    if f.until and f.until < dt.date.max:
        q &= Q(**{f"{field}__lt": _utc_midnight(f.until + dt.timedelta(days=1))})
    return q


def task_conditions(f: RankingFilter, prefix: str = "") -> Q:
    """Which tasks: the project, sets, rounds, ids and gold (``prefix``: the path to the task, ``task__``)."""
    q = Q(**{f"{prefix}prompt__project": f.project})
    if f.task_sets:
        q &= Q(**{f"{prefix}task_set__in": f.task_sets})
    if f.rounds:
        q &= Q(**{f"{prefix}source_run__training_round__in": f.rounds})
    if f.task_ids:
        q &= Q(**{f"{prefix}pk__in": f.task_ids})
    if not f.include_gold:
        q &= Q(**{f"{prefix}gold_tiers__isnull": True})
    if not f.include_canaries:
        q &= Q(**{f"{prefix}canary": False})
    if f.min_agreement is not None:  # tasks no two labelers both ordered a pair of have no figure: left out
        q &= Q(**{f"{prefix}agreement__share__gte": f.min_agreement})
    return q


def tasks_selected(f: RankingFilter) -> QuerySet[RankingTask]:
    """The tasks the filter's task conditions select (its labelers and dates are about rankings)."""
    return RankingTask.objects.filter(task_conditions(f))


def rankings_selected(f: RankingFilter) -> QuerySet[Ranking]:
    """The project's rankings on the filter's tasks, by its labelers, submitted in its date range;
    those a reviewer rejected only with ``include_rejected``; those of a labeler a manager excluded from
    training in the project (``Membership.excluded_from_training``) only while ``include_excluded_labelers``
    (the default; the reward and DPO jobs turn it off, agreement and exports keep it).

    ``min_agreement`` reads the agreement cache as it is: a caller that needs it current counts new
    rankings first (``labeling.services.stats.stats_refresh``)."""
    q = task_conditions(f, "task__") & submitted_between(f, "created_at")
    if f.labelers:
        q &= Q(labeler__username__in=f.labelers)
    if not f.include_rejected:
        q &= ~Q(review_status="rejected")
    if not f.include_excluded_labelers:  # a subquery: one membership row must be both this project's and excluded
        q &= ~Q(labeler__in=Membership.objects.filter(project=f.project, excluded_from_training=True).values("user"))
    return Ranking.objects.filter(q)


_SEVERAL = {"task_set", "round", "task_ids", "labeler"}  # repeated query parameters: any of the values


def filter_inputs(query, names: Iterable[str]) -> dict:
    """:func:`ranking_filter_parse`'s keyword arguments from a QueryDict's parameters ``names``."""
    return {name: query.getlist(name) if name in _SEVERAL else query.get(name) for name in names if name in query}

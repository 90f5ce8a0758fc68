"""Which tasks a labeler may still be given from the ordinary queue, and how far along they are.

The ordinary queue leaves out the gold tasks of projects that serve them as honeypots
(``gold_rate`` > 0: ``labeling.services.assignment`` leases them at that rate instead) and the
projects where the labeler is paused (``labeling.selectors.pauses``). ``tasks_open_for`` (the ORM
form), ``open_tasks_first_page`` (its first page, compiled once) and ``open_task_count`` (its count
as joins) say the same; ``tests/labeling/test_open_tasks_first_page.py`` holds them to it."""
from __future__ import annotations

from datetime import UTC, datetime

from django.db import connections
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from labeling.models import Assignment, Membership, Project, Prompt, Ranking, RankingTask, Skip
from labeling.review_models import LabelerPause
from labeling.selectors.pauses import paused_project_ids


def _count(queryset) -> Coalesce:
    counted = queryset.order_by().values("task").annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def live_leases(*, now: datetime) -> QuerySet[Assignment]:
    return Assignment.objects.filter(status=Assignment.Status.ACTIVE, expires_at__gt=now)


def projects_labeled_by(labeler) -> QuerySet[Project]:
    """The projects whose tasks ``labeler`` (a user or a user id) is given: those they are a member of
    in any role, and those open to every signed-in user (``default``)."""
    member_of = Membership.objects.filter(user=labeler).values("project")
    return Project.objects.filter(Q(open_to_all=True) | Q(pk__in=member_of))


def tasks_open_for(*, labeler, now: datetime) -> QuerySet[RankingTask]:
    """Tasks of the labeler's projects that they have neither ranked nor skipped, with a free slot,
    highest ``priority`` first (active task selection ranks a round's picks: rank 1 of n gets n; plain
    tasks 0), then oldest first; not the gold tasks of projects with a ``gold_rate`` (honeypots), nor any task of a
    project where the labeler is paused.

    A slot is free when rankings + other labelers' live leases < ``required_rankings``.
    """
    others_leases = live_leases(now=now).filter(task=OuterRef("pk")).exclude(labeler=labeler)
    projects = projects_labeled_by(labeler).exclude(pk__in=paused_project_ids(labeler))
    return (
        RankingTask.objects.filter(prompt__project__in=projects.values("pk"))
        .exclude(Q(rankings__labeler=labeler) | Q(skips__labeler=labeler))
        .exclude(gold_tiers__isnull=False, prompt__project__gold_rate__gt=0)
        .annotate(
            n_rankings=_count(Ranking.objects.filter(task=OuterRef("pk"))),
            n_leases=_count(others_leases),
        )
        .filter(n_rankings__lt=F("required_rankings") - F("n_leases"))
        .order_by("-priority", "created_at", "id")  # the task_queue_order index
    )


# tasks_open_for's first page, compiled once per process and database: the ORM spends ~3 ms building
# that SQL (subqueries, exclude across relations) and SQLite ~0.4 ms running it. It is compiled with
# stand-in values for the labeler's id and the time, which are then swapped for the real ones.
_STAND_IN_ID = -730_194_682_511
_STAND_IN_NOW = datetime(1901, 2, 3, 4, 5, 6, 789_012, tzinfo=UTC)
_first_page_sql: dict[tuple[str, int], tuple[str, list, list[int], list[int]] | None] = {}


def _compiled_first_page(alias: str, limit: int):
    key = (alias, limit)
    if key not in _first_page_sql:
        connection = connections[alias]
        stand_in = tasks_open_for(labeler=_STAND_IN_ID, now=_STAND_IN_NOW)
        sql, params = stand_in.values_list("pk", flat=True)[:limit].query.get_compiler(alias).as_sql()
        stand_in_now = connection.ops.adapt_datetimefield_value(_STAND_IN_NOW)
        id_slots = [i for i, p in enumerate(params) if p == _STAND_IN_ID]
        now_slots = [i for i, p in enumerate(params) if p == stand_in_now]
        # membership, pauses, ranked, skipped, other labelers' leases: five ids; one lease expiry: one
        # time. Anything else (a changed query) falls back to the ORM rather than guess.
        expected = len(id_slots) == 5 and len(now_slots) == 1
        _first_page_sql[key] = (sql, list(params), id_slots, now_slots) if expected else None
    return _first_page_sql[key]


def open_tasks_first_page(*, labeler, now: datetime, limit: int) -> list[int]:
    """The ids of the first ``limit`` rows of :func:`tasks_open_for`."""
    alias = RankingTask.objects.db
    compiled = _compiled_first_page(alias, limit)
    if compiled is None:
        return list(tasks_open_for(labeler=labeler, now=now).values_list("pk", flat=True)[:limit])
    sql, params, id_slots, now_slots = compiled
    params = list(params)
    for i in id_slots:
        params[i] = labeler.pk
    for i in now_slots:
        params[i] = connections[alias].ops.adapt_datetimefield_value(now)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def open_task_count(*, labeler, now: datetime, project=None) -> int:
    """``tasks_open_for(labeler=..., now=...).count()`` as one pass of joins over grouped counts: the
    ORM's form counts rankings and leases once per task (correlated subqueries), which Postgres ran in
    ~30 ms for 883 tasks against ~1 ms for this form."""
    project_id = project.pk if project is not None else None
    task, ranking, lease, skip, prompt, project, member, pause = (m._meta.db_table for m in (
        RankingTask, Ranking, Assignment, Skip, Prompt, Project, Membership, LabelerPause))
    sql = f"""
        SELECT COUNT(*) FROM {task} t
        JOIN {prompt} p ON p.id = t.prompt_id
        JOIN {project} pr ON pr.id = p.project_id
        LEFT JOIN (SELECT task_id, COUNT(*) AS n FROM {ranking} GROUP BY task_id) r ON r.task_id = t.id
        LEFT JOIN (SELECT task_id, COUNT(*) AS n FROM {lease}
                   WHERE status = %s AND expires_at > %s AND labeler_id <> %s GROUP BY task_id) a
               ON a.task_id = t.id
        WHERE (pr.open_to_all OR pr.id IN (SELECT project_id FROM {member} WHERE user_id = %s))
          AND pr.id NOT IN (SELECT project_id FROM {pause} WHERE labeler_id = %s AND lifted_at IS NULL)
          AND NOT (t.gold_tiers IS NOT NULL AND pr.gold_rate > 0)
          AND t.id NOT IN (SELECT task_id FROM {ranking} WHERE labeler_id = %s)
          AND t.id NOT IN (SELECT task_id FROM {skip} WHERE labeler_id = %s)
          AND COALESCE(r.n, 0) < t.required_rankings - COALESCE(a.n, 0)"""  # only table names interpolated
    connection = connections[RankingTask.objects.db]
    params = [Assignment.Status.ACTIVE.value, connection.ops.adapt_datetimefield_value(now)] + [labeler.pk] * 5
    if project_id is not None:
        sql += " AND pr.id = %s"
        params.append(project_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def task_free_slots(*, task: RankingTask, labeler, now: datetime) -> int:
    """Recount for one task (inside the lock the assigning service holds), in one query. Only the
    ordinary queue's tasks are recounted: a honeypot has no cap."""
    def counted(queryset):
        return Coalesce(Subquery(queryset.order_by().values("task").annotate(n=Count("pk")).values("n")), 0)

    counts = RankingTask.objects.filter(pk=task.pk).values_list(
        counted(Ranking.objects.filter(task=task)),
        counted(live_leases(now=now).filter(task=task).exclude(labeler=labeler)),
    ).first()
    rankings, leases = counts if counts else (0, 0)
    return task.required_rankings - rankings - leases


def labeler_progress(*, labeler, now: datetime, project=None) -> dict:
    """``done``: rankings this labeler submitted; ``remaining``: tasks still open to them (in ``project``
    when one is given)."""
    rankings = Ranking.objects.filter(labeler=labeler)
    if project is not None:
        rankings = rankings.filter(task__prompt__project=project)
    return {
        "done": rankings.count(),
        "remaining": open_task_count(labeler=labeler, now=now, project=project),
    }


def labeler_has_ranked_or_skipped(*, labeler, task: RankingTask) -> bool:
    return (
        Ranking.objects.filter(task=task, labeler=labeler).exists()
        or Skip.objects.filter(task=task, labeler=labeler).exists()
    )

"""The labeler home: each project a person may label in, with how far it is and their own figures."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, F, Q, Sum

from labeling.models import Ranking, RankingStats, RankingTask
from labeling.selectors.demonstration_tasks import demonstration_open_counts
from labeling.selectors.pauses import open_pauses
from labeling.selectors.projects import project_role
from labeling.selectors.tasks import open_task_count, projects_labeled_by


def _share(agree: int | None, compared: int | None) -> float | None:
    return round(100 * agree / compared, 1) if compared else None


def labeler_home_rows(*, user, now: datetime) -> list[dict]:
    """One row per project whose tasks ``user`` is given (a member's, and those open to all): the project, the
    user's role, tasks still open to them (ranking tasks, and demonstration tasks to write), the
    project's tasks done (every ranking it asks for given) out of all, their rankings in all and in
    the last 24 hours, and their agreement with the other labelers' majority and with gold answers
    (percent; None before there is any)."""
    projects = list(projects_labeled_by(user).order_by("slug"))
    ids = [p.pk for p in projects]
    mine = (Ranking.objects.filter(labeler=user, task__prompt__project__in=ids)
            .values("task__prompt__project")
            .annotate(done=Count("pk"), today=Count("pk", filter=Q(created_at__gte=now - timedelta(days=1)))))
    mine = {row["task__prompt__project"]: row for row in mine}
    figures = (RankingStats.objects.filter(labeler=user, project__in=ids)
               .values("project")
               .annotate(agree=Sum("consensus_agree"), compared=Sum("consensus_compared"),
                         gold_agree=Sum("gold_agree"), gold_compared=Sum("gold_compared")))
    figures = {row["project"]: row for row in figures}
    complete = (RankingTask.objects.filter(prompt__project__in=ids).annotate(n=Count("rankings"))
                .filter(n__gte=F("required_rankings")).values("pk"))
    totals = {row["prompt__project"]: (row["total"], row["complete"]) for row in (
        RankingTask.objects.filter(prompt__project__in=ids).values("prompt__project")
        .annotate(total=Count("pk"), complete=Count("pk", filter=Q(pk__in=complete))))}
    to_write = demonstration_open_counts(labeler=user, now=now)
    pauses = dict(open_pauses().filter(labeler=user, project__in=ids).values_list("project", "reason"))
    rows = []
    for project in projects:
        own, fig = mine.get(project.pk, {}), figures.get(project.pk, {})
        rows.append({
            "project": project,
            "role": project_role(user=user, project=project),
            "remaining": open_task_count(labeler=user, now=now, project=project),
            "demonstrations_open": to_write.get(project.pk, 0),
            "tasks_total": totals.get(project.pk, (0, 0))[0],
            "tasks_complete": totals.get(project.pk, (0, 0))[1],
            "done": own.get("done", 0),
            "today": own.get("today", 0),
            "agreement": _share(fig.get("agree"), fig.get("compared")),
            "gold_accuracy": _share(fig.get("gold_agree"), fig.get("gold_compared")),
            "pause": pauses.get(project.pk),
        })
    return rows


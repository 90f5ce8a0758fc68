"""The agreement dashboard of one project (``?project=SLUG``, default ``default``) for its reviewers
and managers: the page, its CSV export, and one task's rankings side by side (the task's project).
Labelers paused for their gold accuracy, and members a manager excluded from training, are marked in
the labelers table (managers lift a pause and exclude or re-include on the members page)."""
from __future__ import annotations

import csv
import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labeling import charts
from labeling.csv_cells import csv_cell
from labeling.errors import RejectedInput
from labeling.models import Membership
from labeling.selectors import stats as selectors
from labeling.selectors.pauses import paused_labelers
from labeling.selectors.people import excluded_from_training
from labeling.selectors.projects import projects_where
from labeling.selectors.rankings import RankingFilter, filter_inputs, ranking_filter_parse
from labeling.services.stats import stats_catch_up
from labeling.views.access import project_role_required, require_project_role
from labeling.views.stats_versions import version_labels_context

REVIEWER = Membership.Role.REVIEWER
FILTER_PARAMETERS = ("since", "until", "round", "task_set")


def _stats_filter(request) -> tuple[RankingFilter, str | None]:
    """The page's filter; a bad one is shown as a message over the unfiltered figures."""
    try:
        return ranking_filter_parse(project=request.project, **filter_inputs(request.GET, FILTER_PARAMETERS)), None
    except RejectedInput as exc:
        return RankingFilter(project=request.project), exc.message


def _sorted_rows(rows: list[dict], key: str, descending: bool) -> list[dict]:
    keys = {column[0] for column in selectors.COLUMNS} | {"name"}
    key = key if key in keys else "name"
    present = [r for r in rows if r[key] is not None]
    present.sort(key=lambda r: r[key].lower() if key == "name" else r[key], reverse=descending)
    return present + [r for r in rows if r[key] is None]


def _matrix(rows: list[dict], cells: dict) -> dict | None:
    ids = [r["id"] for r in rows if r["pair_compared"]]
    if len(ids) < 2:
        return None
    names = {r["id"]: r["name"] for r in rows}
    values, counts = [], []
    for a in ids:
        agree_row, count_row = [], []
        for b in ids:
            agree, compared = cells.get((min(a, b), max(a, b)), (0, 0)) if a != b else (0, 0)
            agree_row.append(agree / compared if compared else None)
            count_row.append(compared)
        values.append(agree_row)
        counts.append(count_row)
    return charts.heatmap_svg([names[i] for i in ids], values, counts)


def _throughput_chart(days: list[tuple[dt.date, int]]):
    if not days:
        return None
    if (days[-1][0] - days[0][0]).days > 90:  # long ranges by week, so bars stay readable
        weeks: dict[dt.date, int] = {}
        for day, n in days:
            monday = day - dt.timedelta(days=day.weekday())
            weeks[monday] = weeks.get(monday, 0) + n
        return charts.bar_chart_svg([(f"{d:%d %b}", n) for d, n in sorted(weeks.items())], label="Rankings per week")
    return charts.bar_chart_svg([(f"{d:%d %b}", n) for d, n in days], label="Rankings per day")


def _round_chart(rounds: list[dict]):
    points = [(f"Round {r['round'].pk}", r["agreement"]) for r in rounds if r["round"] is not None]
    if sum(value is not None for _, value in points) < 2:
        return None
    return charts.line_chart_svg(points, label="Pairwise agreement by round", reference=0.726)


def _filter_form(request, project) -> dict:
    """What the filter bar shows: the values asked for and the project's rounds and task sets."""
    return {
        "values": {name: request.GET.get(name, "") for name in FILTER_PARAMETERS},
        "rounds": [(str(pk), label) for pk, label in selectors.stats_round_choices(project)],
        "task_sets": selectors.stats_task_sets(project),
        "filtered": any(request.GET.get(name) for name in FILTER_PARAMETERS),
        "projects": projects_where(user=request.user, role=REVIEWER).order_by("name"),
    }


@require_GET
@project_role_required(REVIEWER)
def stats_dashboard(request):
    project = request.project
    f, filter_error = _stats_filter(request)
    pending = stats_catch_up(project=project)
    figures = selectors.stats_figures(f)
    rows, rounds, weeks = figures["labelers"], figures["rounds"], figures["weeks"]
    paused = {pause.labeler_id: pause.reason for pause in paused_labelers(project)}
    excluded = excluded_from_training(project=project)
    for row in rows:
        row["paused"] = paused.get(row["id"])
        row["excluded"] = row["id"] in excluded
    sort, descending = request.GET.get("sort", "name"), request.GET.get("dir") == "desc"
    query = request.GET.copy()
    for name in ("sort", "dir"):
        query.pop(name, None)  # ``project`` stays: every link of the page keeps to this project
    for row in rounds:
        if row["round"] is not None:  # the page filtered by that round, the other filters kept
            by_round = query.copy()
            by_round["round"] = row["round"].pk
            row["filter_query"] = by_round.urlencode()
    context = {
        "project": project,
        "filter": _filter_form(request, project),
        "filter_error": filter_error,
        "pending_tasks": pending,
        "totals": figures["totals"],
        "rows": _sorted_rows(rows, sort, descending),
        "columns": [{"key": "name", "heading": "Labeler"}]
        + [{"key": key, "heading": heading} for key, heading, _w, _f in selectors.COLUMNS],
        "sort": sort, "descending": descending, "filter_query": query.urlencode(),
        "flagged": [r for r in rows if r["flags"]],
        "heatmap": _matrix(rows, figures["cells"]),
        "throughput": _throughput_chart(figures["throughput"]),
        "agreement_chart": charts.line_chart_svg(
            [(f"{d:%d %b}", v) for d, v, _n in weeks], label="Pairwise agreement per week", reference=0.726
        ) if weeks else None,
        "weeks": weeks,
        "rounds": rounds,
        "round_chart": _round_chart(rounds),
        "lowest": figures["lowest_tasks"],
        **version_labels_context(f),
    }
    return render(request, "labeling/stats.html", context)


@require_GET
@project_role_required(REVIEWER)
def stats_labelers_csv(request):
    f, _error = _stats_filter(request)
    stats_catch_up(project=request.project)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="labelers.csv"'
    writer = csv.writer(response)
    keys = ["name", "rankings", "skips"] + [c[0] for c in selectors.COLUMNS[1:]] + ["pair_compared", "gold_compared"]
    writer.writerow(keys + ["outliers"])
    for row in selectors.stats_labeler_rows(f):
        writer.writerow([csv_cell(row[k]) for k in keys] + [csv_cell(" ".join(sorted(row["flags"])))])
    return response


@login_required
@require_GET
def stats_task(request, task_id: int):
    """The task's own project decides, as on the other pages about one object; a ``?project=`` that
    names another project answers 404 like an unknown task, so ids leak nothing."""
    detail = selectors.stats_task_detail(task_id=task_id)
    asked = request.GET.get("project")
    if detail is None or (asked and asked != detail["task"].prompt.project.slug):
        raise Http404("No such task.")
    project = detail["task"].prompt.project
    require_project_role(request, project, REVIEWER)
    return render(request, "labeling/stats_task.html", {**detail, "project": project})

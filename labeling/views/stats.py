"""The agreement dashboard for staff: the page, its CSV export, and one task's rankings side by side."""
from __future__ import annotations

import csv
import datetime as dt

from django import forms
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from labeling import charts
from labeling.csv_cells import csv_cell
from labeling.selectors import stats as selectors
from labeling.services.stats import stats_pending_tasks, stats_refresh
from labeling.views.access import staff_required

# Up to this many tasks with new rankings are counted during the request; more go to the worker.
SYNC_REFRESH_TASKS = 300


class StatsFilterForm(forms.Form):
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    round = forms.TypedChoiceField(required=False, label="Round", coerce=int, empty_value=None)
    task_set = forms.ChoiceField(required=False, label="Task set")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["round"].choices = [("", "All rounds")] + selectors.stats_round_choices()
        self.fields["task_set"].choices = [("", "All task sets")] + [(s, s) for s in selectors.stats_task_sets()]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("“From” must not be after “To”.")
        return data

    def stats_filter(self) -> selectors.StatsFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return selectors.StatsFilter(since=data.get("since"), until=data.get("until"),
                                     training_round=data.get("round"), task_set=data.get("task_set") or None)


def _catch_up() -> int:
    """Count new rankings now if there are few; otherwise hand them to the worker. Returns tasks left."""
    pending = stats_pending_tasks(limit=SYNC_REFRESH_TASKS + 1)
    if not pending:
        return 0
    if len(pending) <= SYNC_REFRESH_TASKS:
        stats_refresh(max_tasks=SYNC_REFRESH_TASKS)
        return 0
    from labeling.tasks import stats_refresh as refresh_task

    # One request a minute per process is enough; the task counts everything pending when it runs.
    if cache.add("labeling:stats-refresh-enqueued", True, timeout=60):
        try:
            refresh_task.apply_async(expires=600)
        except Exception:  # noqa: BLE001 - Redis down: the page still shows what is counted
            pass
    return len(stats_pending_tasks())


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


@require_GET
@staff_required
def stats_dashboard(request):
    form = StatsFilterForm(request.GET or None)
    f = form.stats_filter()
    pending = _catch_up()
    cells = selectors.stats_pair_cells(f)
    rows = selectors.stats_labeler_rows(f, cells=cells)
    sort, descending = request.GET.get("sort", "name"), request.GET.get("dir") == "desc"
    weeks = selectors.stats_agreement_by_week(f)
    query = request.GET.copy()
    for name in ("sort", "dir"):
        query.pop(name, None)
    task_days = selectors.stats_task_days(f)
    rounds = selectors.stats_agreement_by_round(f, task_days=task_days)
    for row in rounds:
        if row["round"] is not None:  # the page filtered by that round, the other filters kept
            by_round = query.copy()
            by_round["round"] = row["round"].pk
            row["filter_query"] = by_round.urlencode()
    context = {
        "form": form,
        "pending_tasks": pending,
        "totals": selectors.stats_totals(f, task_days=task_days),
        "rows": _sorted_rows(rows, sort, descending),
        "columns": [{"key": "name", "heading": "Labeler"}]
        + [{"key": key, "heading": heading} for key, heading, _w, _f in selectors.COLUMNS],
        "sort": sort, "descending": descending, "filter_query": query.urlencode(),
        "flagged": [r for r in rows if r["flags"]],
        "heatmap": _matrix(rows, cells),
        "throughput": _throughput_chart(selectors.stats_throughput(f)),
        "agreement_chart": charts.line_chart_svg(
            [(f"{d:%d %b}", v) for d, v, _n in weeks], label="Pairwise agreement per week", reference=0.726
        ) if weeks else None,
        "weeks": weeks,
        "rounds": rounds,
        "round_chart": _round_chart(rounds),
        "lowest": selectors.stats_lowest_tasks(f),
    }
    return render(request, "labeling/stats.html", context)


@require_GET
@staff_required
def stats_labelers_csv(request):
    f = StatsFilterForm(request.GET or None).stats_filter()
    _catch_up()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="labelers.csv"'
    writer = csv.writer(response)
    keys = ["name", "rankings", "skips"] + [c[0] for c in selectors.COLUMNS[1:]] + ["pair_compared", "gold_compared"]
    writer.writerow(keys + ["outliers"])
    for row in selectors.stats_labeler_rows(f):
        writer.writerow([csv_cell(row[k]) for k in keys] + [csv_cell(" ".join(sorted(row["flags"])))])
    return response


@require_GET
@staff_required
def stats_task(request, task_id: int):
    detail = selectors.stats_task_detail(task_id=task_id)
    if detail is None:
        raise Http404("No such task.")
    return render(request, "labeling/stats_task.html", detail)

"""The stats page's "what labelers said, by model version" section: two charts and a table drawn
from :func:`labeling.selectors.version_labels.stats_labels_by_version` (the page's own filter).

Flag rates are grouped bars, one group per version (imported first, then by creation) and one bar
per flag of the project, so a rise of "harmful" after a round is one taller bar; mean scores are
bars on a fixed 1-7 axis, so versions compare at a glance whatever the spread.
"""
from __future__ import annotations

from labeling import charts
from labeling.selectors.rankings import RankingFilter
from labeling.selectors.version_labels import stats_labels_by_version

SCORE_MAX = 7


def version_labels_context(f: RankingFilter) -> dict:
    """``by_version`` (flags, and rows with ``rates`` in the flags' order) and the two charts (None
    when no version has a ranked completion, or nobody scored)."""
    figures = stats_labels_by_version(f)
    flags, versions = figures["flags"], figures["versions"]
    rows = [{**row, "rates": [row["flag_rates"][key] for key, _ in flags]} for row in versions]
    names = [row["name"] for row in versions]
    flag_chart = charts.grouped_bar_chart_svg(
        names, [(label, [row["flag_rates"][key] for row in versions]) for key, label in flags],
        label="Share of ranked completions flagged, by model version") if versions and flags else None
    scored = [row["mean_score"] for row in versions]
    score_chart = charts.grouped_bar_chart_svg(
        names, [("Mean score", scored)], label="Mean 1-7 score by model version", high=SCORE_MAX, percent=False,
    ) if any(value is not None for value in scored) else None
    return {"by_version": {"flags": flags, "rows": rows}, "flag_chart": flag_chart, "score_chart": score_chart}

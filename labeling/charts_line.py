"""Server-side SVG line charts of metric histories (no JS library, no CDN).

``line_chart_svg(series, title=...)`` takes ``{"label": [(x, y), ...]}`` and returns an SVG string
with every label escaped. Used for loss curves, reward and KL over a run.
"""
from __future__ import annotations

import math
from html import escape

WIDTH, HEIGHT = 520, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 28, 30
COLORS = ["#2f5bea", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285"]


def _ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    if hi == lo:
        return [lo]
    return [lo + (hi - lo) * i / count for i in range(count + 1)]


def _fmt(value: float) -> str:
    if value == 0 or 0.01 <= abs(value) < 10_000:
        return f"{value:.3g}"
    return f"{value:.1e}"


def line_chart_svg(series: dict[str, list[tuple[float, float]]], *, title: str, x_label: str = "step",
                   markers: list[tuple[float, str]] = ()) -> str:
    """``markers``: ``(x, label)`` drawn as a dashed vertical line with its label (a run's stop, say)."""
    points = [(x, y) for values in series.values() for x, y in values if math.isfinite(y)]
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="{escape(title)}" class="chart">'
            f'<text x="{LEFT}" y="16" class="chart-title" font-size="13" font-weight="600">{escape(title)}</text>')
    if not points:
        return head + f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#888">no data yet</text></svg>'
    x_lo, x_hi = min(p[0] for p in points), max(p[0] for p in points)
    y_lo, y_hi = min(p[1] for p in points), max(p[1] for p in points)
    if y_hi == y_lo:
        y_lo, y_hi = y_lo - 1, y_hi + 1
    x_hi = x_hi if x_hi > x_lo else x_lo + 1
    sx = lambda x: LEFT + (x - x_lo) / (x_hi - x_lo) * (WIDTH - LEFT - RIGHT)  # noqa: E731
    sy = lambda y: HEIGHT - BOTTOM - (y - y_lo) / (y_hi - y_lo) * (HEIGHT - TOP - BOTTOM)  # noqa: E731
    parts = [head]
    for y in _ticks(y_lo, y_hi):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#e3e6ec"/>'
                     f'<text x="{LEFT - 6}" y="{sy(y) + 4:.1f}" text-anchor="end" font-size="10" fill="#5b6475">'
                     f'{_fmt(y)}</text>')
    for x in _ticks(x_lo, x_hi):
        parts.append(f'<text x="{sx(x):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" font-size="10" '
                     f'fill="#5b6475">{_fmt(x)}</text>')
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 4}" text-anchor="end" font-size="10" fill="#5b6475">'
                 f'{escape(x_label)}</text>')
    for index, (label, values) in enumerate(series.items()):
        color = COLORS[index % len(COLORS)]
        finite = [(x, y) for x, y in values if math.isfinite(y)]
        if finite:
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in finite)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        parts.append(f'<text x="{LEFT + 8 + index * 150}" y="{TOP + 2}" font-size="11" fill="{color}">'
                     f'{escape(label)}</text>')
    for number, (x, label) in enumerate(markers):
        if math.isfinite(x) and x_lo <= x <= x_hi:
            parts.append(f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="#c92a2a" '
                         f'stroke-dasharray="4 3" class="chart-marker"/><text x="{sx(x) - 3:.1f}" '
                         f'y="{TOP + 26 + 12 * number}" text-anchor="end" font-size="10" fill="#c92a2a">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def metric_series(history: list[dict], keys: list[str]) -> dict[str, list[tuple[float, float]]]:
    """Pick ``keys`` out of a ``[{"step": n, key: value, ...}]`` history, skipping absent values."""
    series: dict[str, list[tuple[float, float]]] = {}
    for key in keys:
        values = [(float(row["step"]), float(row[key])) for row in history
                  if isinstance(row.get(key), (int, float)) and "step" in row]
        if values:
            series[key] = values
    return series

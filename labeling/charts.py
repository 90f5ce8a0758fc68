"""Server-side SVG charts for the dashboard: an agreement heat map, a bar chart, a line chart, and
grouped bars (a figure per model version and flag).

Each function returns a complete ``<svg>`` element as a ``SafeString``; every piece of text that came
from data (usernames, dates) goes through :func:`html.escape` first, so marking the result safe is
sound. No JavaScript and nothing fetched from elsewhere.
"""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

from labeling.charts_line import COLORS

FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _text(x: float, y: float, text: str, *, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>{escape(str(text))}</text>'


def _svg(width: float, height: float, body: list[str], label: str) -> SafeString:
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" aria-label="{escape(label)}" {FONT}>' + "".join(body) + "</svg>"
    )


def agreement_colour(value: float | None) -> str:
    """Red at 50 % (chance for a strict pair) and below, through amber, to green at 90 % and above."""
    if value is None:
        return "#eef0f4"
    t = min(1.0, max(0.0, (value - 0.5) / 0.4))
    stops = [(0.0, (214, 69, 65)), (0.5, (242, 201, 76)), (1.0, (46, 158, 92))]
    for (t0, c0), (t1, c1) in zip(stops, stops[1:]):
        if t <= t1:
            s = (t - t0) / (t1 - t0)
            r, g, b = (round(a + (b_ - a) * s) for a, b_ in zip(c0, c1))
            return f"#{r:02x}{g:02x}{b:02x}"
    return "#2e9e5c"


def heatmap_svg(names: Sequence[str], values: Sequence[Sequence[float | None]],
                counts: Sequence[Sequence[int]], *, cell: int = 44) -> SafeString:
    """Labeler-by-labeler pairwise agreement; ``values[i][j]`` over ``counts[i][j]`` compared pairs."""
    n = len(names)
    label_width = min(150, 12 + 7 * max((len(name) for name in names), default=4))
    top = label_width
    width, height = label_width + n * cell + 10, top + n * cell + 10
    body = []
    for i, name in enumerate(names):
        y = top + i * cell + cell / 2 + 4
        body.append(_text(label_width - 6, y, name[:20], anchor="end"))
        x = label_width + i * cell + cell / 2
        body.append(_text(x, top - 6, name[:20], extra=f'transform="rotate(-60 {x:.1f} {top - 6})"'))
        for j in range(n):
            value, count = values[i][j], counts[i][j]
            x0, y0 = label_width + j * cell, top + i * cell
            title = (f"{names[i]} vs {names[j]}: " + (f"{value:.1%} of {count} pairs" if value is not None
                                                       else "no pairs compared"))
            body.append(f'<g><title>{escape(title)}</title><rect x="{x0}" y="{y0}" width="{cell - 2}" '
                        f'height="{cell - 2}" rx="3" fill="{agreement_colour(value) if i != j else "#d9dde5"}"/>')
            if value is not None and i != j:
                body.append(_text(x0 + (cell - 2) / 2, y0 + cell / 2 + 2, f"{value * 100:.0f}", anchor="middle"))
            body.append("</g>")
    return _svg(width, height, body, "Agreement between each pair of labelers")


def _axis_labels(labels: Sequence[str], limit: int) -> set[int]:
    """Indexes of at most ``limit`` evenly spaced labels, the first and last included."""
    step = max(1, -(-len(labels) // limit))
    shown = set(range(0, len(labels), step))
    last = len(labels) - 1
    if last - max(shown, default=0) < step / 2:
        shown.discard(max(shown, default=0))
    return shown | {0, last} if labels else set()


def _anchor(i: int, count: int) -> str:
    """Edge labels hang inwards so that they are not cut off."""
    return "start" if i == 0 and count > 1 else "end" if i == count - 1 and count > 1 else "middle"


def bar_chart_svg(points: Sequence[tuple[str, float]], *, label: str, width: int = 560, height: int = 180) -> SafeString:
    """Vertical bars, one per (label, value), with the maximum marked on the y axis."""
    left, bottom, top = 40, 28, 10
    plot_w, plot_h = width - left - 10, height - top - bottom
    peak = max((v for _, v in points), default=0) or 1
    bar_w = plot_w / max(1, len(points))
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#8a93a5"/>',
            _text(left - 4, top + 8, f"{peak:g}", anchor="end"), _text(left - 4, top + plot_h, "0", anchor="end")]
    shown = _axis_labels([p[0] for p in points], 6)
    for i, (name, value) in enumerate(points):
        h = plot_h * value / peak
        x = left + i * bar_w
        body.append(f'<g><title>{escape(f"{name}: {value:g}")}</title><rect x="{x + bar_w * 0.1:.1f}" '
                    f'y="{top + plot_h - h:.1f}" width="{max(1.0, bar_w * 0.8):.1f}" height="{h:.1f}" '
                    f'fill="#2f5bea"/></g>')
        if i in shown:
            edge = {"start": x, "end": x + bar_w, "middle": x + bar_w / 2}[_anchor(i, len(points))]
            body.append(_text(edge, height - 10, name, anchor=_anchor(i, len(points))))
    return _svg(width, height, body, label)


def line_chart_svg(points: Sequence[tuple[str, float | None]], *, label: str, low: float = 0.4,
                   high: float = 1.0, reference: float | None = None, width: int = 560, height: int = 180) -> SafeString:
    """A line over (label, value) with the y axis from ``low`` to ``high``; ``None`` leaves a gap."""
    left, bottom, top = 40, 28, 10
    plot_w, plot_h = width - left - 10, height - top - bottom

    def y_of(value: float) -> float:
        return top + plot_h * (1 - (min(high, max(low, value)) - low) / (high - low))

    def x_of(i: int) -> float:
        return left + (plot_w * i / (len(points) - 1) if len(points) > 1 else plot_w / 2)

    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#8a93a5"/>']
    for tick in (low, (low + high) / 2, high):
        body.append(_text(left - 4, y_of(tick) + 4, f"{tick:.0%}", anchor="end"))
    if reference is not None:
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y_of(reference):.1f}" y2="{y_of(reference):.1f}" '
                    f'stroke="#8a93a5" stroke-dasharray="4 3"/>')
    segment: list[str] = []
    segments = [segment]
    for i, (_name, value) in enumerate(points):
        if value is None:
            segment = []
            segments.append(segment)
        else:
            segment.append(f"{x_of(i):.1f},{y_of(value):.1f}")
    for seg in segments:
        if seg:
            body.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="#2f5bea" stroke-width="2"/>')
    shown = _axis_labels([p[0] for p in points], 6)
    for i, (name, value) in enumerate(points):
        if value is not None:
            body.append(f'<circle cx="{x_of(i):.1f}" cy="{y_of(value):.1f}" r="3" fill="#2f5bea">'
                        f'<title>{escape(f"{name}: {value:.1%}")}</title></circle>')
        if i in shown:
            body.append(_text(x_of(i), height - 10, name, anchor=_anchor(i, len(points))))
    return _svg(width, height, body, label)


def grouped_bar_chart_svg(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
                          label: str, high: float | None = None, percent: bool = True, width: int = 560,
                          height: int = 200) -> SafeString:
    """One group of bars per category (left to right), one bar per series in each, with a legend;
    the y axis from 0 to ``high`` (None: the largest value). ``None`` draws no bar. Values read as
    percentages when ``percent``, else as numbers (a mean score)."""
    per_row = max(1, (width - 10) // 140)  # legend entries a row
    legend_rows = -(-len(series) // per_row) if len(series) > 1 else 0
    left, bottom, top = 44, 28, 10 + 16 * legend_rows
    plot_w, plot_h = width - left - 10, height - top - bottom
    peak = high or max((v for _, values in series for v in values if v is not None), default=0) or 1
    shown_value = (lambda v: f"{v:.1%}") if percent else (lambda v: f"{v:.2f}")
    group_w = plot_w / max(1, len(categories))
    bar_w = group_w * 0.8 / max(1, len(series))
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#8a93a5"/>',
            _text(left - 4, top + 8, f"{peak:.0%}" if percent else f"{peak:g}", anchor="end"),
            _text(left - 4, top + plot_h, "0", anchor="end")]
    for s, (name, _values) in enumerate(series if legend_rows else ()):
        x, y = 10 + (s % per_row) * 140, 2 + 16 * (s // per_row)
        body.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{COLORS[s % len(COLORS)]}"/>')
        body.append(_text(x + 14, y + 9, name[:20]))
    shown = _axis_labels(list(categories), 8)
    for i, category in enumerate(categories):
        x0 = left + i * group_w + group_w * 0.1
        for s, (name, values) in enumerate(series):
            value = values[i]
            if value is None:
                continue
            h = plot_h * min(value, peak) / peak
            body.append(f'<g><title>{escape(f"{category}, {name}: {shown_value(value)}")}</title>'
                        f'<rect x="{x0 + s * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{max(1.0, bar_w - 1):.1f}" '
                        f'height="{h:.1f}" fill="{COLORS[s % len(COLORS)]}"/></g>')
        if i in shown:
            body.append(_text(left + i * group_w + group_w / 2, height - 10, category[:24], anchor="middle"))
    return _svg(width, height, body, label)

"""Reading ``active_learning_curve.py``'s rows: rankings active needs to match random, the tables, the chart.

"Rankings active needs to reach random's accuracy at N": per seed, the first point where active's
curve, linear between its measured sizes (every acquisition step), reaches random's accuracy at N; the
ratio to N is the share of N's rankings active needs (the issue's goal: <= 0.6). An active curve already
at or above the target at its first measured size gives that size (it is shared with random, so at
the first budget the ratio is 1 by construction); one that never reaches it is reported as "> max".

Both curves are first made non-decreasing by isotonic regression (pool adjacent violators, equal
weights): one held-out accuracy moves by about its standard error (~0.6 points at 1,000 prompts) from
step to step, and the first crossing of a raw curve rides on its upward noise. The raw-curve figure is
printed beside it.
"""
from __future__ import annotations

import math
from pathlib import Path


def rankings_to_match(curve: list[tuple[float, float]], target: float) -> float:
    """First n where the piecewise-linear ``curve`` [(n, accuracy)] (sorted by n) reaches ``target``;
    inf when it never does."""
    if curve[0][1] >= target:
        return curve[0][0]
    for (n0, a0), (n1, a1) in zip(curve, curve[1:]):
        if a0 < target <= a1:
            return n0 + (target - a0) / (a1 - a0) * (n1 - n0)
    return math.inf


def accuracy_at(curve: list[tuple[float, float]], n: float) -> float:
    """The piecewise-linear ``curve`` at n (its end values outside its range)."""
    if n <= curve[0][0]:
        return curve[0][1]
    for (n0, a0), (n1, a1) in zip(curve, curve[1:]):
        if n <= n1:
            return a0 + (n - n0) / (n1 - n0) * (a1 - a0)
    return curve[-1][1]


def isotonic(curve: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The non-decreasing least-squares fit of the accuracies (pool adjacent violators), same n's."""
    blocks: list[list[float]] = []  # [mean, count]
    for _, accuracy in curve:
        blocks.append([accuracy, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m1, c1), (m2, c2) = blocks.pop(-2), blocks.pop()
            blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    fitted = [mean for mean, count in blocks for _ in range(int(count))]
    return [(n, a) for (n, _), a in zip(curve, fitted)]


def curves(rows: list[dict], arm: str, seed: int) -> list[tuple[float, float]]:
    return sorted((r["rankings"], r["accuracy"]) for r in rows if r["arm"] == arm and r["seed"] == seed)


def mean_range(values: list[float], signed: bool = False, form: str = "{:.3f}") -> str:
    form = "{:+.3f}" if signed else form
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < len(values):
        shown = ", ".join("> max" if not math.isfinite(v) else form.format(v) for v in values)
        return f"({shown})"
    mean = form.format(sum(values) / len(values))
    return mean if len(values) == 1 else f"{mean} ({form.format(min(values))} to {form.format(max(values))})"


def report(rows: list[dict], budgets: list[int], seeds: list[int]) -> tuple[str, dict]:
    """(markdown tables, {N: [ratio per seed]}); a budget only over the seeds measured at it on both arms
    (a run still going)."""
    def measured(budget: int) -> list[int]:
        return [s for s in seeds if all(any(r["seed"] == s and r["arm"] == arm and r["rankings"] == budget
                                            for r in rows) for arm in ("random", "active"))]

    budgets = [b for b in budgets if measured(b)]
    lines = [f"| rankings | random accuracy | active accuracy | active - random |  (seeds {seeds}: mean (min to max))",
             "|---|---|---|---|"]
    for budget in budgets:
        got = {arm: [r["accuracy"] for r in rows if r["arm"] == arm and r["rankings"] == budget
                     and r["seed"] in measured(budget)] for arm in ("random", "active")}
        gaps = [a - r for a, r in zip(got["active"], got["random"])]
        lines.append(f"| {budget} | {mean_range(got['random'])} | {mean_range(got['active'])} "
                     f"| {mean_range(gaps, signed=True)} |")
    lines += ["", "| N | active rankings to reach random's accuracy at N (isotonic curves) | ratio to N "
              "(goal <= 0.6) | seeds <= 0.6 | ratio, raw curves | active at 0.6 N - random at N |",
              "|---|---|---|---|---|---|"]
    ratios = {}
    for budget in budgets[1:]:
        needed, raw, shortfall = [], [], []
        for seed in measured(budget):
            target = dict(isotonic(curves(rows, "random", seed)))[budget]
            needed.append(rankings_to_match(isotonic(curves(rows, "active", seed)), target))
            shortfall.append(accuracy_at(isotonic(curves(rows, "active", seed)), 0.6 * budget) - target)
            raw_target = dict(curves(rows, "random", seed))[budget]
            raw.append(rankings_to_match(curves(rows, "active", seed), raw_target) / budget)
        ratios[budget] = [n / budget for n in needed]
        met = sum(r <= 0.6 for r in ratios[budget])
        lines.append(f"| {budget} | {mean_range(needed, form='{:.0f}')} | {mean_range(ratios[budget])} "
                     f"| {met}/{len(needed)} | {mean_range(raw)} | {mean_range(shortfall, signed=True)} |")
    return "\n".join(lines), ratios


def write_chart(path: Path, rows: list[dict], budgets: list[int], seeds: list[int], ratios: dict, title: str) -> None:
    """An SVG of the mean curves (left) and active's ratio per N (right, with the 0.6 goal line; a seed whose
    active curve never reaches random's accuracy at N is left out of that N's points)."""
    from labeling.charts_line import line_chart_svg

    def mean_curve(arm: str) -> list[tuple[float, float]]:
        sizes = sorted({r["rankings"] for r in rows if r["arm"] == arm})
        points = []
        for n in sizes:
            values = [r["accuracy"] for r in rows if r["arm"] == arm and r["rankings"] == n]
            if len(values) == len(seeds):
                points.append((n, sum(values) / len(values)))
        return points

    left = line_chart_svg({"random": mean_curve("random"), "active": mean_curve("active")},
                          title=f"{title}: held-out accuracy (mean of {len(seeds)} seeds)", x_label="rankings")
    finite = {n: [r for r in rs if math.isfinite(r)] for n, rs in ratios.items()}
    right = line_chart_svg({"mean of seeds that reach it": [(n, sum(v) / len(v)) for n, v in finite.items() if v],
                            "largest such seed": [(n, max(v)) for n, v in finite.items() if v],
                            "goal 0.6": [(min(ratios), 0.6), (max(ratios), 0.6)]},
                           title="rankings active needs / N", x_label="N (random's rankings)")
    width = 520
    place = '<svg x="{}" y="0" width="520" height="220" '
    path.write_text(f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" height="220" '
                    f'viewBox="0 0 {2 * width} 220">' + left.replace("<svg ", place.format(0), 1)
                    + right.replace("<svg ", place.format(width), 1) + "</svg>", encoding="utf-8")


def main(argv=None) -> int:
    """Table and chart from the rows of several runs (their logs' JSON lines or their --out JSON), e.g.
    seeds run in separate processes: ``active_curve_report.py LOG... --budgets ... --out PREFIX``."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", help="logs (one JSON row per line) or curve JSON files")
    parser.add_argument("--budgets", type=int, nargs="+", required=True)
    parser.add_argument("--out", required=True, help="writes PREFIX.md, PREFIX.json and PREFIX.svg")
    parser.add_argument("--title", default="active vs random")
    args = parser.parse_args(argv)
    rows = {}
    for name in args.inputs:
        text = Path(name).read_text(encoding="utf-8")
        found = json.loads(text)["rows"] if name.endswith(".json") else [
            json.loads(line) for line in text.splitlines() if line.startswith('{"seed"')]
        rows.update({(r["seed"], r["arm"], r["rankings"]): r for r in found})
    rows = [rows[key] for key in sorted(rows)]
    seeds = sorted({r["seed"] for r in rows})
    table, ratios = report(rows, args.budgets, seeds)
    print(table)
    out = Path(args.out)
    out.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({"inputs": args.inputs, "rows": rows}, indent=2), encoding="utf-8")
    write_chart(out.with_suffix(".svg"), rows, args.budgets, seeds, ratios, args.title)
    return 0


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # labeling.charts_line
    raise SystemExit(main())

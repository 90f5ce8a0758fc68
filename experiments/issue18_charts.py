"""Charts for two of issue 18's measurements, as SVG, from the result files kept beside them:

- ``benchmarks/reliability/reliability.svg``: held-out accuracy with a bad labeler (``bench_reliability.py
  --json``: ``random.json``, ``flip.json``, ``random_joint.json``): clean, with the bad labeler
  unweighted, joint CrowdBT weighting, out-of-fold weighting; bars are the mean of the seeds, ticks each seed.
- ``benchmarks/selection_loop/gold_by_round.svg``: held-out gold by round of the two ``simulate_rounds
  --selection`` arms (their ``figures.json``, copied as ``random.json`` / ``uncertainty.json``).

    .venv/bin/python experiments/issue18_charts.py
"""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "benchmarks"
COLOURS = ("#4c78a8", "#e45756", "#f58518", "#54a24b")


def _svg(width: int, height: int, parts: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
            f'font-size="12"><rect width="100%" height="100%" fill="white"/>{"".join(parts)}</svg>\n')


def reliability_chart(folder: Path) -> str:
    runs = {"random": json.loads((folder / "random.json").read_text()),
            "flip": json.loads((folder / "flip.json").read_text())}
    joint = {row["seed"]: row["weighted"]["accuracy"] for row in json.loads((folder / "random_joint.json").read_text())}
    arms = (("clean", "without the bad labeler"), ("unweighted", "with it, plain BT"),
            ("joint", "with it, joint CrowdBT"), ("oof", "with it, out-of-fold weights"))
    low, high, height, bar = 0.55, 0.80, 260, 28
    y = lambda value: 40 + (high - value) / (high - low) * height  # noqa: E731
    parts = [f'<text x="20" y="20">Held-out accuracy with a bad labeler (bench_reliability.py, 3 seeds)</text>']
    for tick in (0.55, 0.60, 0.65, 0.70, 0.75, 0.80):
        parts.append(f'<line x1="60" x2="660" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#ddd"/>'
                     f'<text x="20" y="{y(tick) + 4:.1f}">{tick:.2f}</text>')
    for group, (name, rows) in enumerate(runs.items()):
        x0 = 90 + group * 300
        parts.append(f'<text x="{x0}" y="{y(low) + 20:.1f}">bad labeler: {name}</text>')
        for index, (key, _) in enumerate(arms):
            values = ([joint[r["seed"]] for r in rows if r["seed"] in joint] if key == "joint" and name == "random"
                      else [r[key]["accuracy"] for r in rows if key in r])
            if not values:
                continue
            x, mean = x0 + index * (bar + 8), sum(values) / len(values)
            parts.append(f'<rect x="{x}" y="{y(mean):.1f}" width="{bar}" height="{y(low) - y(mean):.1f}" '
                         f'fill="{COLOURS[index]}"/>')
            parts += [f'<line x1="{x + 4}" x2="{x + bar - 4}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="black"/>'
                      for v in values]
    for index, (_, label) in enumerate(arms):
        parts.append(f'<rect x="680" y="{60 + index * 20}" width="12" height="12" fill="{COLOURS[index]}"/>'
                     f'<text x="698" y="{70 + index * 20}">{label}</text>')
    return _svg(900, height + 80, parts)


def loop_chart(folder: Path) -> str:
    arms = {name: json.loads((folder / f"{name}.json").read_text()) for name in ("random", "uncertainty")}
    golds = [row["gold"] for rows in arms.values() for row in rows]
    low, high, width, height = min(golds) - 0.002, max(golds) + 0.002, 420, 240
    x = lambda r: 70 + r * width / 3  # noqa: E731
    y = lambda g: 40 + (high - g) / (high - low) * height  # noqa: E731
    parts = ['<text x="20" y="20">Held-out gold by round, simulate_rounds --selection (1,494 rankings per arm)</text>']
    for r in range(4):
        parts.append(f'<text x="{x(r) - 4:.1f}" y="{y(low) + 18:.1f}">{r}</text>')
    for g in (low, (low + high) / 2, high):
        parts.append(f'<text x="10" y="{y(g) + 4:.1f}">{g:.3f}</text>'
                     f'<line x1="70" x2="{x(3):.1f}" y1="{y(g):.1f}" y2="{y(g):.1f}" stroke="#ddd"/>')
    for index, (name, rows) in enumerate(arms.items()):
        points = " ".join(f"{x(row['round']):.1f},{y(row['gold']):.1f}" for row in rows)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{COLOURS[index]}" stroke-width="2"/>'
                     f'<text x="{x(3) + 10:.1f}" y="{y(rows[-1]["gold"]) + 4:.1f}" fill="{COLOURS[index]}">{name}</text>')
    parts.append(f'<text x="{x(1.2):.1f}" y="{y(low) + 36:.1f}">round</text>')
    return _svg(620, height + 90, parts)


def main() -> int:
    (ROOT / "reliability" / "reliability.svg").write_text(reliability_chart(ROOT / "reliability"))
    (ROOT / "selection_loop" / "gold_by_round.svg").write_text(loop_chart(ROOT / "selection_loop"))
    print("wrote", ROOT / "reliability" / "reliability.svg", ROOT / "selection_loop" / "gold_by_round.svg")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Tables and the chart of :mod:`overoptimisation` from its ``results.json`` (pure: no models, no sampling).

    .venv/bin/python experiments/overoptimisation_analysis.py var/experiments/overopt/results.json

Choices:

- **Best-of-n** uses all of each prompt's 32 samples at every n: they are cut into 32/n disjoint blocks of n,
  each block's pick is made by the scorer, and the prompt's value is the mean gold of its picks; the gain
  over n = 1 (the mean gold of all 32) has a standard error over the prompts (paired: same samples).
  Ensemble views are standardised per member over the whole pool (the start policy's samples), as PPO's
  guard standardises on its first rollout.
- **Held-out gold** at a checkpoint: the gain over the start policy with its paired standard error over
  the (prompt, sample) positions (one sampling seed for every policy).
- **Stop rule**: :func:`modeling.training.reward_guard.guard_over_history` over a run's rows with the
  conservative value = the ensemble's uwo of the rollouts (min in the min run), spread = its members'
  spread (both standardised on the first rollout, as the guard does) and the proxy = what the run
  optimises (the single model's score in the single run, the ensemble mean otherwise). The policy kept on a stop is the one that sampled the
  best row b, i.e. the policy after b - 1 updates; its held-out gold is read at the last checkpoint at or
  before b - 1 (checkpoints every few iterations), and its rollout gold is row b's.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modeling.simulation.evaluation import paired_standard_error  # noqa: E402
from modeling.training.reward_guard import GuardRule, guard_over_history  # noqa: E402

PICKERS = ("single", "mean", "uwo", "min")
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def best_of_n(pool: dict) -> dict[str, list[tuple[int, float, float]]]:
    """Per picker, (n, mean gold of the pick, SE of its gain over n = 1) for n = 1, 2, 4, ... up to the pool."""
    k = pool["samples"]
    prompts = len(pool["gold"]) // k
    base = [mean(pool["gold"][i * k:(i + 1) * k]) for i in range(prompts)]
    curves = {}
    for picker in PICKERS:
        rows, n = [], 1
        while n <= k:
            values = []
            for i in range(prompts):
                picks = []
                for start in range(i * k, (i + 1) * k, n):
                    block = range(start, start + n)
                    picks.append(pool["gold"][max(block, key=lambda j: pool[picker][j])])
                values.append(mean(picks))
            rows.append((n, mean(values), paired_standard_error(values, base)))
            n *= 2
        curves[picker] = rows
    return curves


def judged_rows(curve: dict) -> list[dict]:
    """Per held-out checkpoint: step (updates done), KL, gold, gain over the start and its paired SE."""
    judged = curve["judged"]
    start = judged["0"]["gold"]
    return [{"step": int(step), "kl": j["kl"], "gold": mean(j["gold"]), "gain": mean(j["gold"]) - mean(start),
             "se": paired_standard_error(j["gold"], start)}
            for step, j in sorted(judged.items(), key=lambda item: int(item[0]))]


def smoothed(history: list[dict], keys: tuple[str, ...], window: int) -> list[dict]:
    """``history`` with each of ``keys`` replaced by its trailing mean over ``window`` rows (1 = as it is)."""
    return [{**row, **{k: mean(r[k] for r in history[max(0, i - window + 1):i + 1]) for k in keys}}
            for i, row in enumerate(history)]


def stop_points(curve: dict, patience: int = 0, spread_ratio: float = 0.0, window: int = 1) -> dict:
    """Where the stop rule would have stopped ``curve`` (module docstring), on rows smoothed over ``window``
    iterations, and the gold kept there."""
    proxy = "monitor/single" if curve["aggregate"] == "single" else "monitor/mean"
    value = "monitor/min" if curve["aggregate"] == "min" else "monitor/uwo"  # the min run's own aggregate
    keys = ("iteration", value, proxy, "monitor/spread")
    history = smoothed(curve["history"], keys[1:], window)
    state = guard_over_history(history, GuardRule(patience=patience, spread_ratio=spread_ratio), keys)
    if not state.stopped:
        return {"stopped": False}
    kept = state.best_iteration - 1  # updates behind the kept policy
    at = max((r for r in judged_rows(curve) if r["step"] <= kept), key=lambda r: r["step"])
    return {"stopped": True, "stop": state.stop_iteration, "best": state.best_iteration, "checkpoint": at["step"],
            "gain": at["gain"], "se": at["se"], "kl": at["kl"],
            "rollout_gold": curve["history"][state.best_iteration - 1]["ppo/gold"]}


def ppo_tables(runs: dict) -> list[str]:
    lines = ["| run | updates | KL (held-out) | sqrt KL | gold | gain ± SE | rollout gold | "
             "rollout uwo | rollout spread |", "|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for name, curve in runs.items():
        for r in judged_rows(curve):
            row = curve["history"][r["step"]] if r["step"] < len(curve["history"]) else curve["history"][-1]
            lines.append(f"| {name} | {r['step']} | {r['kl']:.3f} | {math.sqrt(max(r['kl'], 0)):.2f} | {r['gold']:.4f} "
                         f"| {r['gain']:+.4f} ± {r['se']:.4f} | {row['ppo/gold']:.3f} "
                         f"| {row['monitor/uwo']:+.3f} | {row['monitor/spread']:.3f} |")
    lines += ["", "| run | rule (rows: trailing mean over w iterations) | stops at iteration | keeps policy after (updates) "
              "| held-out gain at the checkpoint at or before it ± SE | KL there "
              "| rollout gold of kept | peak held-out gain (updates) |", "|---|---|--:|--:|--:|--:|--:|--:|"]
    for name, curve in runs.items():
        peak = max(judged_rows(curve), key=lambda r: r["gain"])
        rules = [(f"patience {m}, w {w}", {"patience": m, "window": w}) for w in (1, 5) for m in (2, 3, 5)]
        rules += [(f"spread x{r}, w {w}", {"spread_ratio": r, "window": w}) for w in (1, 5) for r in (1.25, 1.5, 2.0)]
        for label, rule in rules:
            s = stop_points(curve, **rule)
            tail = f"{peak['gain']:+.4f} ({peak['step']})"
            lines.append(f"| {name} | {label} | never | - | - | - | - | {tail} |" if not s["stopped"] else
                         f"| {name} | {label} | {s['stop']} | {s['best'] - 1} ({s['checkpoint']}) | {s['gain']:+.4f} ± {s['se']:.4f} "
                         f"| {s['kl']:.3f} | {s['rollout_gold']:.3f} | {tail} |")
    return lines


def goals(runs: dict, single: str = "single", guarded: str = "uwo") -> list[str]:
    """Issue 19's goals: (1) the guarded run's held-out gold within 5 % of its peak out to 3x the KL at which
    the single run's gold peaks (read as 5 % of the peak gold and, stricter, of the peak gain); (2) the
    single run's gold against the guarded run's after the same number of updates (paired SE)."""
    if single not in runs or guarded not in runs:
        return []
    a, b = judged_rows(runs[single]), judged_rows(runs[guarded])
    peak_a, peak_b = max(a, key=lambda r: r["gain"]), max(b, key=lambda r: r["gain"])
    reach = 3 * peak_a["kl"]
    inside = [r for r in b if r["kl"] <= reach]
    worst = min(inside, key=lambda r: r["gold"])
    last = min(a[-1]["step"], b[-1]["step"])  # the last number of updates both runs were judged at
    last_a, last_b = runs[single]["judged"][str(last)], runs[guarded]["judged"][str(last)]
    kl_a, kl_b = (next(r["kl"] for r in rows if r["step"] == last) for rows in (a, b))
    diff = mean(last_b["gold"]) - mean(last_a["gold"])
    same = [(step, mean(runs[guarded]["judged"][step]["gold"]) - mean(g["gold"]),
             paired_standard_error(runs[guarded]["judged"][step]["gold"], g["gold"]))
            for step, g in sorted(runs[single]["judged"].items(), key=lambda item: int(item[0]))
            if step in runs[guarded]["judged"] and step != "0"]
    return [f"- {single} peaks at {peak_a['step']} updates: gain {peak_a['gain']:+.4f} ± {peak_a['se']:.4f} at KL "
            f"{peak_a['kl']:.3f}; 3x that KL = {reach:.3f}.",
            f"- {guarded} peaks at {peak_b['step']} updates: gain {peak_b['gain']:+.4f} ± {peak_b['se']:.4f} at KL "
            f"{peak_b['kl']:.3f}; it reaches KL {max(r['kl'] for r in b):.3f}. Its lowest gold at KL <= {reach:.3f}: "
            f"{worst['gold']:.4f} at {worst['step']} updates (KL {worst['kl']:.3f}), "
            f"{(peak_b['gold'] - worst['gold']) / peak_b['gold']:.1%} below its peak gold, "
            f"{peak_b['gain'] - worst['gain']:.4f} below its peak gain "
            f"({(peak_b['gain'] - worst['gain']) / peak_b['gain']:.0%} of the gain)." if peak_b["gain"] > 0 else
            f"- {guarded} never gains over the start (best {peak_b['gain']:+.4f}).",
            f"- After {last} updates: {single} {mean(last_a['gold']):.4f} (KL {kl_a:.3f}), "
            f"{guarded} {mean(last_b['gold']):.4f} (KL {kl_b:.3f}): {guarded} - {single} = {diff:+.4f} ± "
            f"{paired_standard_error(last_b['gold'], last_a['gold']):.4f} (paired SE).",
            f"- {guarded} - {single} at the same updates: "
            + ", ".join(f"{step}: {d:+.4f} ± {e:.4f}" for step, d, e in same)]


def report(results: dict, out: Path) -> str:
    data = results["data"]
    lines = ["| reward model | held-out accuracy | ECE | spread |", "|---|--:|--:|--:|"]
    for name in ("single", "ensemble"):
        m = data[name]
        lines.append(f"| {name} | {m['reward/accuracy']:.3f} | {m.get('reward/ece', float('nan')):.3f} "
                     f"| {m.get('reward/spread', 0.0):.3f} |")
    curves = best_of_n(results["best_of_n"])
    lines += ["", "| n | " + " | ".join(f"pick by {p}" for p in PICKERS) + " |", "|--:|" + "--:|" * len(PICKERS)]
    for i, (n, *_rest) in enumerate(curves["single"]):
        cells = [f"{curves[p][i][1]:.4f} ({curves[p][i][1] - curves[p][0][1]:+.4f} ± {curves[p][i][2]:.4f})"
                 for p in PICKERS]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    runs = results.get("ppo", {})
    if runs:
        lines += [""] + ppo_tables(runs)
        for guarded in (name for name in runs if name != "single"):
            lines += [""] + goals(runs, guarded=guarded)
    write_svg(out / "overoptimisation.svg", runs, curves)
    return "\n".join(lines)


def write_svg(path: Path, runs: dict, curves: dict) -> None:
    """Two panels: held-out gold against sqrt(KL) per PPO run; best-of-n gold against log2 n per picker."""
    panels = [("held-out gold vs sqrt(KL), PPO", "sqrt(KL)",
               {name: [(math.sqrt(max(r["kl"], 0)), r["gold"]) for r in judged_rows(c)] for name, c in runs.items()}),
              ("best-of-n: gold of the pick vs log2 n", "log2 n",
               {p: [(math.log2(n), g) for n, g, _ in rows] for p, rows in curves.items()})]
    width, height, pad = 460, 320, 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * len(panels)}" height="{height}" '
             'font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/>']
    for p, (title, x_label, series) in enumerate(panels):
        points = [pt for s in series.values() for pt in s]
        if not points:
            continue
        x0, y0 = p * width + pad, height - pad
        x_lo, x_hi = min(x for x, _ in points), max(x for x, _ in points) or 1
        y_lo, y_hi = min(y for _, y in points), max(y for _, y in points)
        y_lo, y_hi = (y_lo - 0.005, y_hi + 0.005)

        def at(x, y, x0=x0, y0=y0, x_lo=x_lo, x_hi=x_hi, y_lo=y_lo, y_hi=y_hi):
            return (x0 + (x - x_lo) / ((x_hi - x_lo) or 1) * (width - 2 * pad + 10),
                    y0 - (y - y_lo) / (y_hi - y_lo) * (height - 2 * pad))
        parts.append(f'<text x="{x0}" y="20" font-size="13">{title}</text>')
        parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x0 + width - 2 * pad + 10}" y2="{y0}" stroke="black"/>'
                     f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{pad}" stroke="black"/>')
        for frac in (0, 0.5, 1):
            y, x = y_lo + frac * (y_hi - y_lo), x_lo + frac * (x_hi - x_lo)
            parts.append(f'<text x="{x0 - 45}" y="{at(x_lo, y)[1] + 4:.0f}">{y:.3f}</text>'
                         f'<text x="{at(x, y_lo)[0] - 8:.0f}" y="{y0 + 15}">{x:.2f}</text>')
        parts.append(f'<text x="{x0 + width / 2 - 60}" y="{y0 + 32}">{x_label}</text>')
        for s, (name, pts) in enumerate(series.items()):
            colour = COLOURS[s % len(COLOURS)]
            xy = " ".join(f"{a:.1f},{b:.1f}" for a, b in (at(x, y) for x, y in pts))
            parts.append(f'<polyline points="{xy}" fill="none" stroke="{colour}" stroke-width="2"/>')
            parts += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}"/>'
                      for a, b in (at(x, y) for x, y in pts)]
            parts.append(f'<text x="{x0 + width - 2 * pad - 60}" y="{pad + 14 * s}" fill="{colour}">{name}</text>')
    path.write_text("\n".join(parts + ["</svg>"]) + "\n")


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "var/experiments/overopt/results.json")
    print(report(json.loads(source.read_text()), source.parent))

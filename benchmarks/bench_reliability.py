"""A bad labeler (issue 18): how much held-out accuracy does learning labeler reliability win back?

Four labelers rank K=4 completions of simulated prompts (``modeling.simulation``): three
``SimulatedLabeler`` at the oracle's default noise and one bad labeler, who ranks at random (``--bad
random``) or reverses 20 % of their rankings (``--bad flip``, ``--flip``; :mod:`modeling.simulation.bad_labelers`).
``--layout rotation``: each prompt by two of the four in rotation (the bad one ranks a quarter);
``--layout prolific`` (default): the bad labeler ranks every prompt, beside one good labeler in rotation
(half the rankings are theirs: the setting where a bad labeler costs a plain reward model accuracy).
Reward models (the packaged MiniLM encoder, ``RewardConfig`` defaults, ``--epochs``) are trained on

- ``clean``: the good labelers' rankings only (the bad labeler's removed), plain Bradley-Terry;
- ``clean+rel``: the same with out-of-fold ``labeler_reliability`` (does it cost anything when nobody is bad?);
- ``unweighted``: all four, plain Bradley-Terry;
- ``weighted``: all four, ``labeler_reliability`` with ``reliability_method="joint"`` (CrowdBT);
- ``oof``: all four, ``reliability_method="out_of_fold"`` (:mod:`modeling.training.out_of_fold_reliability`);
- ``first-N``: the good labelers' rankings plus only the bad labeler's first N (``--flag-after``): the
  out-of-fold estimate alone (no final fit): is the bad labeler flagged (eta < 0.6) after N of its rankings?

and scored on the same fixed held-out prompts against their *gold* order (gold scores, equal ones tied).
Recovered share = (oof - unweighted) / (clean - unweighted), likewise for weighted (joint).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_reliability.py --seeds 0 1 2 --bad random flip
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
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
from modeling.training.out_of_fold_reliability import out_of_fold_reliability  # noqa: E402
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
    if args.layout == "prolific":
        train = panel_rankings(train_prompts, panel[:3], k=args.k, per_prompt=1, seed=seed, always=(bad_labeler,))
    else:
        train = panel_rankings(train_prompts, panel, k=args.k, per_prompt=2, seed=seed)
    heldout = [gold_ranking(r) for r in panel_rankings(heldout_prompts, panel[:1], k=args.k, per_prompt=1,
                                                       seed=seed + 1)]
    return train, heldout


def bench_config(args, seed: int, work: str, method: str) -> RewardConfig:
    """RewardConfig defaults but the bench's length, epochs and device; ``method``: off, joint or out_of_fold."""
    return RewardConfig(output_dir=tempfile.mkdtemp(dir=work), max_length=args.max_length, epochs=args.epochs,
                        validation_fraction=0.0, checkpoint_every=0, seed=seed, device="cpu",
                        labeler_reliability=method != "off", reliability_method="joint" if method == "off" else method,
                        reliability_learning_rate=args.reliability_learning_rate, reliability_folds=args.folds,
                        reliability_prior_strength=args.prior_strength)


def train_and_score(rankings, heldout_groups, pad_id, *, method: str, args, seed: int, work: str) -> dict:
    torch.manual_seed(seed)
    out, metrics = train_reward_model(bench_config(args, seed, work, method), rankings)
    model = load_reward_model(out)[0]
    accuracy = evaluate(model, heldout_groups, pad_id, completions_per_batch=128)["reward/accuracy"]
    return {"accuracy": accuracy, "reliability": metrics.get("reward/labeler_reliability", {}),
            "seconds": metrics["perf/train_seconds"]}


def estimate_only(rankings, tokenizer, *, args, seed: int, work: str) -> dict:
    """The out-of-fold estimates alone (the folds' trainings, no final fit): what flags a labeler."""
    config = bench_config(args, seed, work, "out_of_fold")
    groups = tokenize_groups(group_rankings(rankings), tokenizer, args.max_length)
    started = time.perf_counter()
    eta = out_of_fold_reliability(config, rankings, groups, tokenizer.pad_token_id, "cpu")
    return {"reliability": eta, "seconds": time.perf_counter() - started}


def bench(bad: str, seed: int, args, work: str, clean_cache: dict) -> dict:
    train, heldout = datasets(bad, args, seed)
    _, tokenizer = load_reward_model(default_base_model())
    heldout_groups = tokenize_groups(group_rankings(heldout), tokenizer, args.max_length)
    clean = [r for r in train if r.labeler != BAD]
    bad_rankings = [r for r in train if r.labeler == BAD]
    runs = {"clean": (clean, "off"), "clean+rel": (clean, "out_of_fold"), "unweighted": (train, "off"),
            "weighted": (train, "joint"), "oof": (train, "out_of_fold")}
    runs = {name: run for name, run in runs.items() if name in args.runs}
    row = {"bad": bad, "seed": seed, "rankings": len(train), "bad_rankings": len(bad_rankings)}
    for name, (rankings, method) in runs.items():
        if name.startswith("clean") and (seed, name) in clean_cache:  # the good labelers' data do not depend on `bad`
            found = clean_cache[seed, name]
        else:
            found = train_and_score(rankings, heldout_groups, tokenizer.pad_token_id, method=method,
                                    args=args, seed=seed, work=work)
            clean_cache[seed, name] = found
        row[name] = found
        print(f"  {bad:<6} seed {seed} {name:<11} accuracy {found['accuracy']:.4f} "
              f"eta {found['reliability']} ({found['seconds']:.0f}s)", flush=True)
    for n in (args.flag_after if "first" in args.runs else []):
        first = set(map(id, bad_rankings[:n]))
        found = estimate_only([r for r in train if r.labeler != BAD or id(r) in first], tokenizer,
                              args=args, seed=seed, work=work)
        row[f"first-{n}"] = found
        print(f"  {bad:<6} seed {seed} first-{n:<5} eta {found['reliability']} ({found['seconds']:.0f}s)", flush=True)
    accuracy = {name: row[name]["accuracy"] for name in runs}
    lost = accuracy.get("clean", 0.0) - accuracy.get("unweighted", 1.0)
    for name in ("weighted", "oof"):
        row[f"recovered/{name}"] = ((accuracy[name] - accuracy["unweighted"]) / lost
                                    if lost > 0 and name in accuracy else None)
    row["flagged_after"] = {n: row[f"first-{n}"]["reliability"].get(BAD, 1.0) < FLAG_BELOW
                            for n in args.flag_after if f"first-{n}" in row}
    return row


def print_table(rows: list[dict], flag_after: list[int]) -> None:
    """The Markdown table of RESULTS.md: held-out gold accuracy per training, recovered share, eta of the bad one."""
    print("\n| bad labeler | seed | clean | clean+rel | unweighted | joint | out of fold | recovered (joint) | "
          "recovered (oof) | eta bad: joint | eta bad: oof | good: oof | "
          + " | ".join(f"oof eta bad after {n} (flagged)" for n in flag_after) + " |")
    print("|" + "---|" * (12 + len(flag_after)))

    def cell(row, name):
        return f"{row[name]['accuracy']:.3f}" if name in row else "-"

    def share(value):
        return "n/a" if value is None else f"{100 * value:.0f}%"

    for row in rows:
        joint, oof = (row.get(name, {}).get("reliability", {}) for name in ("weighted", "oof"))
        good = [eta for name, eta in oof.items() if name != BAD]
        flags = [f"{row[f'first-{n}']['reliability'].get(BAD)} ({'yes' if row['flagged_after'][n] else 'no'})"
                 if f"first-{n}" in row else "-" for n in flag_after]
        print(f"| {row['bad']} | {row['seed']} | {cell(row, 'clean')} | {cell(row, 'clean+rel')} | "
              f"{cell(row, 'unweighted')} | {cell(row, 'weighted')} | {cell(row, 'oof')} | "
              f"{share(row.get('recovered/weighted'))} | {share(row.get('recovered/oof'))} | {joint.get(BAD, '-')} | "
              f"{oof.get(BAD, '-')} | {f'{min(good):.2f}-{max(good):.2f}' if good else '-'} | " + " | ".join(flags) + " |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bad", nargs="+", default=["random", "flip"], choices=["random", "flip"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--layout", default="prolific", choices=["prolific", "rotation"], help="module docstring")
    parser.add_argument("--train-prompts", type=int, default=120)
    parser.add_argument("--heldout-prompts", type=int, default=150)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--flip", type=float, default=0.2)
    parser.add_argument("--flag-after", type=int, nargs="*", default=[50])
    parser.add_argument("--reliability-learning-rate", type=float, default=RewardConfig.reliability_learning_rate)
    parser.add_argument("--folds", type=int, default=RewardConfig.reliability_folds)
    parser.add_argument("--prior-strength", type=float, default=RewardConfig.reliability_prior_strength)
    parser.add_argument("--runs", nargs="+", default=["clean", "clean+rel", "unweighted", "weighted", "oof", "first"],
                        help="which trainings (first = the first-N runs)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows, clean_cache = [], {}
    with tempfile.TemporaryDirectory() as work:
        for bad in args.bad:
            for seed in args.seeds:
                rows.append(bench(bad, seed, args, work, clean_cache))
                if args.json:
                    Path(args.json).write_text(json.dumps(rows, indent=1))
    print_table(rows, args.flag_after)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

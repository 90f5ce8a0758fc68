"""Issue 18's learning curve: held-out reward accuracy against rankings, random vs active task selection.

Data (per seed): ``bench_reward``'s simulated world: distinct prompts from ``modeling.simulation.instructions``,
K distinct completions each (``distinct_completions``), ranked on demand by three simulated labelers
(``modeling.simulation.oracle`` defaults, about 73 % pairwise agreement), one ranking per task, labelers in
turn. A pool of ``--pool`` candidate tasks and a fixed held-out set of ``--heldout`` other prompts, drawn at
random once and ranked once, shared by both arms.

Arms, at the budgets ``--budgets`` (rankings, increasing):

- ``random``: the first B tasks of one seeded shuffle of the pool (nested budgets).
- ``active``: the same first-budget tasks (so the first point is shared); then at each step the ensemble
  trained on everything labelled so far scores the rest of the pool and ``select_tasks`` (defaults:
  uncertainty, 20 % random share, diversity penalty 0.5) picks the next B_{i+1} - B_i, which are ranked and
  added.

At every budget a fresh ensemble (``--members`` full members, bootstrap resamples, ``RewardConfig``
defaults otherwise, MiniLM encoder, no validation split) is trained on the labelled tasks and scored on
the held-out pairs (``ensemble_metrics``: the ensemble's probability of the preferred completion above 0.5).
Same data, seeds and budgets on both sides. One torch thread.

    .venv/bin/python experiments/active_learning_curve.py                      # small, one seed: ~5 min on 1 thread
    .venv/bin/python experiments/active_learning_curve.py --seeds 0 1 2 --budgets 1000 2000 4000 8000 \\
        --pool 24000 --heldout 1000 --members 4                                # issue 18's size (GPU hours)
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import transformers  # noqa: E402

from modeling.commands.select import member_scores_per_task  # noqa: E402
from modeling.formats.comparisons import group_rankings  # noqa: E402
from modeling.formats.rankings import Ranking  # noqa: E402
from modeling.models.reward_ensemble import load_reward_ensemble  # noqa: E402
from modeling.models.reward_model import default_base_model  # noqa: E402
from modeling.selection import SelectionConfig, select_tasks, task_informativeness  # noqa: E402
from modeling.simulation.completions import distinct_completions  # noqa: E402
from modeling.simulation.instructions import generate_prompts  # noqa: E402
from modeling.simulation.oracle import SimulatedLabeler  # noqa: E402
from modeling.training.reward_config import RewardConfig  # noqa: E402
from modeling.training.reward_ensemble import ensemble_metrics  # noqa: E402
from modeling.training.reward_training import train_reward_model  # noqa: E402

LABELERS = ("ann", "bob", "cy")


def make_world(n_pool: int, n_heldout: int, k: int, seed: int):
    """(pool tasks (prompt, completions), their rankings, held-out rankings) for one seed. Every task is
    ranked once up front (labelers in turn), so a task has the same ranking in either arm; an arm only
    sees the rankings of the tasks it picked."""
    rng = random.Random(seed)
    prompts = list(dict.fromkeys(generate_prompts(3 * (n_pool + n_heldout), seed)))[: n_pool + n_heldout]
    assert len(prompts) == n_pool + n_heldout, "not enough distinct prompts"
    rng.shuffle(prompts)
    tasks = [(prompt, distinct_completions(prompt, prompts, k, rng)) for prompt in prompts]
    labelers = [SimulatedLabeler(name) for name in LABELERS]
    rankings = []
    for number, (prompt, completions) in enumerate(tasks):
        labeler = labelers[number % len(labelers)]
        tiers = labeler.rank(prompt, completions)
        rankings.append(Ranking(prompt, tuple(completions), tuple(map(tuple, tiers)), labeler.name))
    return tasks[:n_pool], rankings[:n_pool], rankings[n_pool:]


def train_and_score(args, rankings, heldout_groups, seed: int, work: str):
    """(held-out accuracy, the trained ensemble) of a fresh ensemble trained on ``rankings``."""
    config = RewardConfig(output_dir=tempfile.mkdtemp(dir=work), base_model=default_base_model(),
                          max_length=args.max_length, epochs=args.epochs, validation_fraction=0.0,
                          checkpoint_every=0, seed=seed, ensemble=args.members)
    out, _ = train_reward_model(config, rankings)
    ensemble = load_reward_ensemble(out, max_length=args.max_length)
    return ensemble_metrics(ensemble, heldout_groups)["reward/accuracy"], ensemble


def run_seed(args, seed: int) -> list[dict]:
    pool, pool_rankings, heldout = make_world(args.pool, args.heldout, args.k, seed)
    heldout_groups = group_rankings(heldout)
    order = list(range(len(pool)))
    random.Random(f"order-{seed}").shuffle(order)
    first = args.budgets[0]
    rows = []

    def record(arm: str, accuracy: float, **extra) -> None:
        rows.append({"seed": seed, "arm": arm, "rankings": len(labelled[arm]), "accuracy": accuracy, **extra})
        print(json.dumps(rows[-1]), flush=True)

    with tempfile.TemporaryDirectory(prefix="active-curve-") as work:
        labelled = {"random": order[:first], "active": order[:first]}
        accuracy, ensemble = train_and_score(args, [pool_rankings[i] for i in order[:first]], heldout_groups,
                                             seed, work)
        record("random", accuracy)
        record("active", accuracy)
        for budget in args.budgets[1:]:
            taken = set(labelled["active"])
            rest = [i for i in range(len(pool)) if i not in taken]
            candidates = [(None, pool[i][0], pool[i][1]) for i in rest]
            scores = [task_informativeness(s) for s in member_scores_per_task(ensemble, candidates, 32)]
            picks = select_tasks(scores, [pool[i][0] for i in rest], budget - len(taken),
                                 SelectionConfig(seed=seed + budget))
            labelled = {"random": order[:budget], "active": labelled["active"] + [rest[p.index] for p in picks]}
            accuracy, _ = train_and_score(args, [pool_rankings[i] for i in labelled["random"]], heldout_groups,
                                          seed, work)
            record("random", accuracy)
            accuracy, ensemble = train_and_score(args, [pool_rankings[i] for i in labelled["active"]],
                                                 heldout_groups, seed, work)
            record("active", accuracy, mean_score_picked=sum(p.score for p in picks) / len(picks),
                   mean_score_pool=sum(scores) / len(scores))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[30, 60, 90], help="rankings, increasing")
    parser.add_argument("--pool", type=int, default=270, help="candidate tasks (unlabelled)")
    parser.add_argument("--heldout", type=int, default=150, help="held-out prompts, one ranking each")
    parser.add_argument("--k", type=int, default=4, help="completions per task")
    parser.add_argument("--members", type=int, default=3, help="ensemble members")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    if args.budgets != sorted(set(args.budgets)) or args.budgets[-1] > args.pool:
        parser.error("--budgets must increase and stay within --pool")
    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()
    rows = [row for seed in args.seeds for row in run_seed(args, seed)]
    print(f"\n| rankings | random accuracy | active accuracy | active - random |  (seeds {args.seeds}: mean (min-max))")
    print("|---|---|---|---|")
    for budget in args.budgets:
        got = {arm: [r["accuracy"] for r in rows if r["arm"] == arm and r["rankings"] == budget]
               for arm in ("random", "active")}
        gaps = [a - r for a, r in zip(got["active"], got["random"])]
        print(f"| {budget} | {_mean_range(got['random'])} | {_mean_range(got['active'])} "
              f"| {_mean_range(gaps, signed=True)} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    return 0


def _mean_range(values: list[float], signed: bool = False) -> str:
    form = "{:+.3f}" if signed else "{:.3f}"
    mean = form.format(sum(values) / len(values))
    return mean if len(values) == 1 else f"{mean} ({form.format(min(values))} to {form.format(max(values))})"


if __name__ == "__main__":
    raise SystemExit(main())

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

``--features frozen`` (the default is ``finetuned``, the above) makes the full size affordable on a CPU: a
last-layer ensemble on frozen features, as the active-learning literature uses
(:mod:`modeling.training.frozen_heads`): every pool and held-out (prompt, completion) is embedded once by
the frozen MiniLM (mean-pooled last hidden state), cached in ``--out``/features-*.pt, and each of the
``--members`` members is a small head (``--hidden 0``: linear) trained with the project's grouped
Bradley-Terry loss on its own bootstrap resample of the labelled prompts. The active arm then re-trains
and re-scores after every ``--acquisition-batch`` rankings (0: the gap between budgets) and is measured
after each of those steps, so its curve is denser than random's. When the simulated prompt space has fewer
distinct prompts than pool + held-out, the held-out prompts stay distinct and unseen, and pool prompts
repeat, each repeat a task with a fresh set of K completions (the 8,000-ranking pool needs ~1.7 tasks per
prompt). ``--world-seed S`` builds one world (seed S) for every seed, which then vary only the random
order, the members' seeds and bootstraps and the random picks: the features are embedded once, not once per
seed. :mod:`active_curve_report` prints the rankings active needs to reach random's accuracy.

    .venv/bin/python experiments/active_learning_curve.py                      # small, one seed: ~5 min on 1 thread
    .venv/bin/python experiments/active_learning_curve.py --seeds 0 1 2 --budgets 1000 2000 4000 8000 \\
        --pool 24000 --heldout 1000 --members 4                                # issue 18's size (GPU hours)
    .venv/bin/python experiments/active_learning_curve.py --features frozen --world-seed 0 --seeds 0 1 2 \\
        --budgets 500 1000 2000 3000 4000 6000 8000 --acquisition-batch 250 --pool 24000 --heldout 1000 \\
        --members 4 --out benchmarks/active_curve                              # the same size on frozen features
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
import transformers  # noqa: E402

from active_curve_report import report, write_chart  # noqa: E402

from modeling.commands.select import member_scores_per_task  # noqa: E402
from modeling.formats.comparisons import group_rankings  # noqa: E402
from modeling.formats.rankings import Ranking  # noqa: E402
from modeling.models.reward_ensemble import load_reward_ensemble  # noqa: E402
from modeling.models.reward_model import default_base_model  # noqa: E402
from modeling.selection import SelectionConfig, select_tasks, task_informativeness  # noqa: E402
from modeling.simulation.completions import distinct_completions  # noqa: E402
from modeling.simulation.instructions import generate_prompts  # noqa: E402
from modeling.simulation.oracle import SimulatedLabeler  # noqa: E402
from modeling.training.frozen_heads import FrozenHeadsConfig, embed_pairs, train_frozen_heads  # noqa: E402
from modeling.training.reward_config import RewardConfig  # noqa: E402
from modeling.training.reward_ensemble import ensemble_metrics  # noqa: E402
from modeling.training.reward_training import train_reward_model  # noqa: E402

LABELERS = ("ann", "bob", "cy")


def make_world(n_pool: int, n_heldout: int, k: int, seed: int):
    """(pool tasks (prompt, completions), their rankings, held-out rankings) for one seed. Every task is
    ranked once up front (labelers in turn), so a task has the same ranking in either arm; an arm only
    sees the rankings of the tasks it picked. Too few distinct prompts: pool prompts repeat (module doc)."""
    rng = random.Random(seed)
    prompts = list(dict.fromkeys(generate_prompts(3 * (n_pool + n_heldout), seed)))[: n_pool + n_heldout]
    if len(prompts) < n_pool + n_heldout:
        prompts = list(dict.fromkeys(generate_prompts(8 * (n_pool + n_heldout), seed)))
        assert len(prompts) > 2 * n_heldout, "not enough distinct prompts"
        rng.shuffle(prompts)
        heldout, seen = prompts[:n_heldout], prompts[n_heldout:]
        prompts = [seen[i % len(seen)] for i in range(n_pool)] + heldout
    else:
        rng.shuffle(prompts)
    tasks, taken = [], set()
    for prompt in prompts:
        completions = distinct_completions(prompt, prompts, k, rng)
        while (prompt, tuple(completions)) in taken:  # a repeated prompt gets another set of completions
            completions = distinct_completions(prompt, prompts, k, rng)
        taken.add((prompt, tuple(completions)))
        tasks.append((prompt, completions))
    labelers = [SimulatedLabeler(name) for name in LABELERS]
    rankings = []
    for number, (prompt, completions) in enumerate(tasks):
        labeler = labelers[number % len(labelers)]
        tiers = labeler.rank(prompt, completions)
        rankings.append(Ranking(prompt, tuple(completions), tuple(map(tuple, tiers)), labeler.name))
    return tasks[:n_pool], rankings[:n_pool], rankings[n_pool:]


def frozen_features(args, tasks, seed: int) -> tuple[torch.Tensor, dict]:
    """(table (N, H), {(prompt, completion): row}) of every completion of ``tasks``, cached in ``--out``."""
    from transformers import AutoModel, AutoTokenizer

    pairs = list(dict.fromkeys((str(p), c) for p, completions in tasks for c in completions))
    cache = Path(args.out) / f"features-seed{seed}-pool{args.pool}-heldout{args.heldout}-k{args.k}-len{args.max_length}.pt"
    if cache.is_file():
        saved = torch.load(cache)
        if saved["pairs"] == pairs:
            return saved["table"], {pair: row for row, pair in enumerate(pairs)}
    base = default_base_model()
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if done[0] % 12800 < n:
            print(f"# embedded {done[0]}/{len(pairs)}", flush=True)

    table = embed_pairs(AutoModel.from_pretrained(base), AutoTokenizer.from_pretrained(base), [p for p, _ in pairs],
                        [c for _, c in pairs], args.max_length, progress=progress)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"pairs": pairs, "table": table, "encoder": base, "pooling": "mean"}, cache)
    return table, {pair: row for row, pair in enumerate(pairs)}


def train_and_score(args, rankings, heldout_groups, seed: int, work: str, features=None):
    """(held-out accuracy, the trained ensemble) of a fresh ensemble trained on ``rankings``: full members,
    or heads on ``features`` (table, index) in the frozen mode."""
    if features is not None:
        config = FrozenHeadsConfig(members=args.members, hidden=args.hidden, steps=args.steps, l2=args.l2, seed=seed)
        ensemble = train_frozen_heads(group_rankings(rankings), *features, config)
        return ensemble_metrics(ensemble, heldout_groups, groups_per_batch=1024)["reward/accuracy"], ensemble
    config = RewardConfig(output_dir=tempfile.mkdtemp(dir=work), base_model=default_base_model(),
                          max_length=args.max_length, epochs=args.epochs, validation_fraction=0.0,
                          checkpoint_every=0, seed=seed, ensemble=args.members)
    out, _ = train_reward_model(config, rankings)
    ensemble = load_reward_ensemble(out, max_length=args.max_length)
    return ensemble_metrics(ensemble, heldout_groups)["reward/accuracy"], ensemble


def acquisition_steps(budgets: list[int], batch: int) -> list[int]:
    """Labelled-set sizes after each acquisition: every budget, plus every ``batch`` in between (0: none)."""
    steps = []
    for low, high in zip(budgets, budgets[1:]):
        steps += list(range(low + batch, high, batch)) if batch else []
        steps.append(high)
    return steps


def run_seed(args, seed: int) -> list[dict]:
    world = seed if args.world_seed is None else args.world_seed
    pool, pool_rankings, heldout = make_world(args.pool, args.heldout, args.k, world)
    heldout_groups = group_rankings(heldout)
    features = frozen_features(args, pool + [(r.prompt, list(r.completions)) for r in heldout], world) \
        if args.features == "frozen" else None
    order = list(range(len(pool)))
    random.Random(f"order-{seed}").shuffle(order)
    first = args.budgets[0]
    rows = []

    def record(arm: str, accuracy: float, **extra) -> None:
        rows.append({"seed": seed, "arm": arm, "rankings": len(labelled[arm]), "accuracy": accuracy, **extra})
        print(json.dumps(rows[-1]), flush=True)

    def train(arm: str):
        return train_and_score(args, [pool_rankings[i] for i in labelled[arm]], heldout_groups, seed, work, features)

    with tempfile.TemporaryDirectory(prefix="active-curve-") as work:
        labelled = {"random": order[:first], "active": order[:first]}
        accuracy, ensemble = train("active")
        record("random", accuracy)
        record("active", accuracy)
        for size in acquisition_steps(args.budgets, args.acquisition_batch):
            taken = set(labelled["active"])
            rest = [i for i in range(len(pool)) if i not in taken]
            candidates = [(None, pool[i][0], pool[i][1]) for i in rest]
            scores = [task_informativeness(s, args.method)
                      for s in member_scores_per_task(ensemble, candidates, args.score_batch)]
            picks = select_tasks(scores, [pool[i][0] for i in rest], size - len(taken),
                                 SelectionConfig(method=args.method, seed=seed + size))
            labelled["active"] = labelled["active"] + [rest[p.index] for p in picks]
            if size in args.budgets:
                labelled["random"] = order[:size]
                record("random", train("random")[0])
            accuracy, ensemble = train("active")
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
    parser.add_argument("--epochs", type=int, default=2, help="fine-tuning epochs (finetuned)")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--method", default="uncertainty", choices=["uncertainty", "variance"],
                        help="the active arm's selection method")
    parser.add_argument("--features", default="finetuned", choices=["finetuned", "frozen"],
                        help="finetuned: full MiniLM members; frozen: heads on cached frozen MiniLM features")
    parser.add_argument("--hidden", type=int, default=0, help="frozen heads: 0 linear, else hidden width")
    parser.add_argument("--steps", type=int, default=100, help="frozen heads: at most this many L-BFGS iterations")
    parser.add_argument("--l2", type=float, default=FrozenHeadsConfig.l2, help="frozen heads: weight penalty")
    parser.add_argument("--acquisition-batch", type=int, default=0,
                        help="active re-trains after this many rankings (0: the gap between budgets)")
    parser.add_argument("--score-batch", type=int, default=32, help="candidate tasks scored per forward pass")
    parser.add_argument("--out", default="active-curve-out", help="frozen: feature cache; rows, table, chart")
    parser.add_argument("--world-seed", type=int, help="one simulated world (pool, rankings, held-out set) for "
                        "every seed; seeds then vary the order, the members and the picks (default: a world per seed)")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    if args.budgets != sorted(set(args.budgets)) or args.budgets[-1] > args.pool:
        parser.error("--budgets must increase and stay within --pool")
    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()
    rows = [row for seed in args.seeds for row in run_seed(args, seed)]
    table, ratios = report(rows, args.budgets, args.seeds)
    print("\n" + table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"curve-{args.features}-{args.method}"
    (out / f"{name}.md").write_text(table + "\n", encoding="utf-8")
    (out / f"{name}.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2), encoding="utf-8")
    if len(args.budgets) > 1:
        write_chart(out / f"{name}.svg", rows, args.budgets, args.seeds, ratios, f"{args.features} {args.method}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

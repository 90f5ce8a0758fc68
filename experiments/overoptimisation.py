"""Issue 19's measurements: reward over-optimisation with a single reward model against a guarded ensemble.

    nice -n 5 env OMP_NUM_THREADS=1 .venv/bin/python experiments/overoptimisation.py   # ~100 min on a shared core
    .venv/bin/python experiments/overoptimisation.py --out /tmp/oo --quick            # a smoke run of every step

Steps, each cached in ``--out`` (default var/experiments/overopt/) so a killed run resumes:

1. **Data**: K=4 samples of the start policy for ``--train-prompts`` prompts, ranked by three simulated
   labelers at default noise (:func:`loop_experiment.simulate_rankings`); 150 held-out prompts drawn first
   and kept out of training. (a) one reward model, (b) a ``--members``-member ensemble (bootstrap
   resamples, :func:`train_reward_ensemble`) on the same rankings, ``--rm-epochs`` each.
2. **Best-of-n**: 32 samples per held-out prompt, drawn once; for n = 1..32 the first n are picked from by
   the single model, the ensemble mean, ``uwo`` (mean - lambda * spread) and ``min``; gold of the pick
   (:mod:`overoptimisation_analysis`).
3. **Gao-style curve**: PPO from the start policy, stop rule off, against (a) the single model and (b) the
   ensemble's conservative aggregates, same seeds and iterations. Every iteration the rollouts are also
   scored by the ensemble (mean, uwo, min, spread) and by the gold score, so each run's history says where
   a stop rule would have stopped it; every ``--eval-every`` iterations the policy (its resume checkpoint) is
   judged on the held-out prompts: gold of 8 samples each (one sampling seed for every policy, so gains are
   paired) and KL to the start policy.
4. Tables (Markdown, printed) and ``overoptimisation.svg`` from :mod:`overoptimisation_analysis`.

Measured 2026-12-06 (benchmarks/RESULTS.md, "Reward hacking: the guard"): data 1.5 min, single reward model
2.4 min, ensemble 11 min, best-of-n 6.5 min, each PPO run (50 iterations of 256) about 39 min.

The rollouts are scored by this script's :class:`MonitoredScore` (the ``score_fn`` of ``train_ppo``), which
returns the aggregate being optimised and records the others, so the single-model run has the ensemble's
view of its own samples too.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

from loop_experiment import held_out_prompts, log, simulate_rankings  # noqa: E402
from modeling.formats.rankings import read_rankings, write_jsonl_atomic  # noqa: E402
from modeling.models import checkpoints  # noqa: E402
from modeling.models.kl import estimate_kl  # noqa: E402
from modeling.models.policy_model import load_policy  # noqa: E402
from modeling.models.reward_ensemble import load_reward_ensemble  # noqa: E402
from modeling.simulation.instructions import generate_prompts, gold_score  # noqa: E402
from modeling.training.ppo import PPOConfig, train_ppo  # noqa: E402
from modeling.training.ppo_rollout import generate_responses  # noqa: E402



def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "var" / "experiments" / "overopt"))
    parser.add_argument("--policy", default=str(ROOT / "var" / "bench" / "policy"), help="start policy")
    parser.add_argument("--train-prompts", type=int, default=2600,
                        help="prompts drawn (K samples each, ranked); about half survive as distinct-sample rows")
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--labelers", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--members", type=int, default=4, help="ensemble members")
    parser.add_argument("--rm-epochs", type=int, default=1)
    parser.add_argument("--eval-prompts", type=int, default=150)
    parser.add_argument("--eval-samples", type=int, default=8, help="held-out samples per prompt at a checkpoint")
    parser.add_argument("--bon-samples", type=int, default=32, help="best-of-n pool per held-out prompt")
    parser.add_argument("--runs", nargs="+", default=["single", "uwo"], help="PPO runs: single, mean, uwo, min")
    parser.add_argument("--uwo-lambda", type=float, default=1.0)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--rollout", type=int, default=256, help="responses per iteration")
    parser.add_argument("--per-prompt", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--kl-beta", type=float, default=0.05)
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stage", default="all", choices=["data", "bon", "ppo", "all"], help="stop after this step")
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    args = parser.parse_args(argv)
    if args.quick:
        args.train_prompts, args.eval_prompts, args.eval_samples, args.bon_samples = 40, 6, 2, 4
        args.max_new_tokens, args.members, args.iterations, args.rollout, args.eval_every = 16, 2, 3, 16, 2
    return args


def ensemble_views(members: torch.Tensor, lam: float, scale=None) -> dict[str, torch.Tensor]:
    """Per completion, from raw member scores ``(N, M)`` standardised by ``scale`` (None: by their own
    per-member mean and std, as best-of-n does): mean, spread, uwo (lambda ``lam``) and min, each ``(N,)``."""
    from modeling.models.conservative_reward import aggregate_rewards, member_scale, standardise

    z = standardise(members, *(scale or member_scale(members)))
    return {"mean": z.mean(dim=1), "spread": z.std(dim=1, correction=0), "uwo": aggregate_rewards(z, "uwo", lam),
            "min": aggregate_rewards(z, "min")}


class MonitoredScore:
    """PPO's ``score_fn``: the single model's score (B,) for the ``single`` run, else the ensemble's member
    scores (B, M) for PPO's guard to aggregate. Records per call (one per iteration) the means of the single
    model's score and of the ensemble's views, standardised on the first call's batch as PPO's guard does,
    so the single run's history has the ensemble's view of its own samples too."""

    def __init__(self, single, ensemble, aggregate: str, lam: float):
        self.single, self.ensemble, self.aggregate, self.lam = single, ensemble, aggregate, lam
        self.rows, self.scale = [], None

    def __call__(self, prompts, completions) -> torch.Tensor:
        from modeling.models.conservative_reward import member_scale

        members = self.ensemble.member_scores(prompts, completions, batch_size=128)  # (B, M)
        self.scale = self.scale or member_scale(members)
        single = self.single.member_scores(prompts, completions, batch_size=128)[:, 0]  # (B,)
        views = {**ensemble_views(members, self.lam, self.scale), "single": single}
        self.rows.append({f"monitor/{k}": float(v.mean()) for k, v in views.items()})
        return single if self.aggregate == "single" else members


def gold_fn(prompts, completions) -> torch.Tensor:
    return torch.tensor([gold_score(p, c) for p, c in zip(prompts, completions)])


def build_data(args, out: Path, train_prompts: list[str]) -> dict:
    """Rankings, the single reward model and the ensemble (each reused when already on disk)."""
    from modeling.training.reward_config import RewardConfig
    from modeling.training.reward_ensemble import train_reward_ensemble
    from modeling.training.reward_training import train_reward_model

    timings = {}
    path = out / "rankings.jsonl"
    if not path.is_file():
        mark = time.perf_counter()
        rankings = simulate_rankings(args.policy, train_prompts, args)
        write_jsonl_atomic(({"prompt": r.prompt, "completions": list(r.completions), "labeler": r.labeler,
                             "ranking": [list(t) for t in r.tiers]} for r in rankings), path)
        timings["sample_and_rank_s"] = time.perf_counter() - mark
    rankings = read_rankings(path)
    log(f"{len(rankings)} rankings of K={args.k} on {len({r.prompt for r in rankings})} prompts")
    metrics = {"rankings": len(rankings)}
    for name, members in (("single", 1), ("ensemble", args.members)):
        target = out / name
        if not (target / "metrics.json").is_file():
            mark = time.perf_counter()
            config = RewardConfig(output_dir=str(target), epochs=args.rm_epochs, seed=args.seed, ensemble=members)
            train = train_reward_ensemble if members > 1 else train_reward_model
            train(config, rankings, lambda step, total, latest: None)
            timings[f"reward_{name}_s"] = time.perf_counter() - mark
            log(f"reward {name}: {timings[f'reward_{name}_s']:.0f} s")
        final = json.loads((target / "metrics.json").read_text())["final"]
        metrics[name] = {k: final[k] for k in ("reward/accuracy", "reward/ece", "reward/spread") if k in final}
    return {**metrics, "timings": timings}


def judge_policy(model, tokenizer, reference, prompts: list[str], args) -> dict:
    """Held-out gold of ``eval_samples`` fresh samples per prompt (fixed seed) and KL to the start policy;
    the global RNG is left as it was, so judging does not change the run."""
    state = torch.get_rng_state()
    repeated = [p for p in prompts for _ in range(args.eval_samples)]
    torch.manual_seed(args.seed + 777)
    texts = generate_responses(model, tokenizer, repeated, max_new_tokens=args.max_new_tokens).texts
    kl = estimate_kl(model, reference, tokenizer, prompts, max_new_tokens=args.max_new_tokens, seed=args.seed + 99)
    torch.set_rng_state(state)
    return {"gold": [gold_score(p, c) for p, c in zip(repeated, texts)], "kl": kl}


def run_ppo(args, out: Path, aggregate: str, single, ensemble, train_prompts, eval_prompts) -> dict:
    """One PPO run (stop rule off) with its per-iteration monitor rows and held-out checkpoints."""
    target = out / f"ppo-{aggregate}"
    done = target / "curve.json"
    if done.is_file():
        return json.loads(done.read_text())
    reference, tokenizer = load_policy(args.policy, "cpu")
    reference.eval().requires_grad_(False)
    judged = {0: judge_policy(reference, tokenizer, reference, eval_prompts, args)}
    monitor = MonitoredScore(single, ensemble, aggregate, args.uwo_lambda)
    config = PPOConfig(output_dir=str(target / "policy"), policy=args.policy,
                       reward_model=str(out / ("single" if aggregate == "single" else "ensemble")),
                       reward_aggregate="mean" if aggregate == "single" else aggregate, uwo_lambda=args.uwo_lambda,
                       iterations=args.iterations, rollout_batch_size=args.rollout, samples_per_prompt=args.per_prompt,
                       use_value_model=False, minibatch_size=max(1, args.rollout // 4), learning_rate=args.lr,
                       kl_beta=args.kl_beta, max_new_tokens=args.max_new_tokens, checkpoint_every=args.eval_every,
                       seed=args.seed)
    started = time.perf_counter()

    def progress(iteration, total, latest):
        log(f"{aggregate} {iteration}/{total}: " + " ".join(f"{k.split('/')[1]} {v:.3f}" for k, v in
                                                           {**monitor.rows[-1], "x/gold": latest["ppo/gold"],
                                                            "x/kl": latest["ppo/kl"]}.items()))
        step = iteration - 1  # the resume checkpoint written after the previous iteration's callback
        if step and step % args.eval_every == 0:
            policy, _ = load_policy(args.policy, "cpu")
            checkpoints.load_checkpoint(checkpoints.latest_checkpoint(config.output_dir),
                                        model=torch.nn.ModuleDict({"policy": policy}), restore_rng=False)
            judged[step] = judge_policy(policy, tokenizer, reference, eval_prompts, args)

    path, metrics = train_ppo(config, train_prompts, progress, score_fn=monitor, gold_fn=gold_fn)
    final, _ = load_policy(str(path), "cpu")
    judged[args.iterations] = judge_policy(final, tokenizer, reference, eval_prompts, args)
    history = [{**row, **monitor.rows[i]} for i, row in enumerate(metrics["history"])]
    curve = {"aggregate": aggregate, "seconds": time.perf_counter() - started, "history": history,
             "judged": {str(k): v for k, v in sorted(judged.items())}}
    checkpoints.write_json(done, curve)
    return curve


def best_of_n_pool(args, out: Path, eval_prompts: list[str], single, ensemble) -> dict:
    """``bon_samples`` samples of the start policy per held-out prompt, drawn once, with every scorer's view."""
    path = out / "best_of_n.json"
    if path.is_file():
        return json.loads(path.read_text())
    model, tokenizer = load_policy(args.policy, "cpu")
    repeated = [p for p in eval_prompts for _ in range(args.bon_samples)]
    torch.manual_seed(args.seed + 4242)
    texts = generate_responses(model, tokenizer, repeated, max_new_tokens=args.max_new_tokens).texts
    views = ensemble_views(ensemble.member_scores(repeated, texts, batch_size=128), args.uwo_lambda)
    views["single"] = single.member_scores(repeated, texts, batch_size=128)[:, 0]
    pool = {"samples": args.bon_samples, "gold": [gold_score(p, c) for p, c in zip(repeated, texts)],
            **{k: v.tolist() for k, v in views.items()}}
    checkpoints.write_json(path, pool)
    return pool


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    eval_prompts = held_out_prompts(args.eval_prompts, seed=args.seed + 2)
    held_out = set(eval_prompts)
    train_prompts = [p for p in generate_prompts(args.train_prompts, seed=args.seed + 1) if p not in held_out]
    mark = time.perf_counter()
    results = {"settings": vars(args), "data": build_data(args, out, train_prompts)}
    results["data"]["timings"]["total_s"] = time.perf_counter() - mark
    if args.stage == "data":
        print(json.dumps(results, indent=2))
        return 0
    single = load_reward_ensemble(out / "single")
    ensemble = load_reward_ensemble(out / "ensemble")
    mark = time.perf_counter()
    results["best_of_n"] = best_of_n_pool(args, out, eval_prompts, single, ensemble)
    results["best_of_n_s"] = time.perf_counter() - mark
    if args.stage != "bon":
        results["ppo"] = {name: run_ppo(args, out, name, single, ensemble, train_prompts, eval_prompts)
                          for name in args.runs}
    checkpoints.write_json(out / "results.json", results)
    from overoptimisation_analysis import report

    print(report(results, out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

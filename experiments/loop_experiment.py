"""Proof that the loop closes: default policy -> simulated rankings -> (a) DPO, (b) reward model + PPO.

    python experiments/loop_experiment.py --out var/experiments/loop            # the real run
    python experiments/loop_experiment.py --out /tmp/loop --quick               # a smoke run (tiny)

Steps: bootstrap the default policy (or take ``--policy``); sample K=4 completions for a few hundred
training prompts; simulated labelers (modeling.simulation.oracle) rank them; (a) a DPO round on those rankings;
(b) a reward model trained on the same rankings, then a PPO round against it. Each resulting policy
is judged on held-out prompts by the gold scorer the simulated labelers are noisy copies of: mean
gold score of fresh samples before and after, the win rate of after over before (per prompt and
sample, ties count half), and the KL to the starting policy. Writes ``results.json`` and
``ppo_reward_kl.png`` (reward and KL over the PPO run) in ``--out`` and prints a Markdown table.
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

import torch  # noqa: E402

from line_chart import write_line_charts  # noqa: E402
from modeling.training.dpo import DPOConfig, train_dpo  # noqa: E402
from modeling.simulation.evaluation import paired_standard_error, win_rate  # noqa: E402
from modeling.simulation.instructions import generate_prompts, gold_score  # noqa: E402
from modeling.simulation.oracle import SimulatedLabeler  # noqa: E402
from modeling.training.ppo import PPOConfig, train_ppo  # noqa: E402
from modeling.models.kl import estimate_kl  # noqa: E402
from modeling.models.policy_model import load_policy  # noqa: E402
from modeling.training.ppo_rollout import generate_responses  # noqa: E402
from modeling.formats.rankings import Ranking, read_rankings, write_jsonl_atomic  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "var" / "experiments" / "loop"), help="output directory")
    parser.add_argument("--policy", default="", help="starting policy directory (default: bootstrap one in --out)")
    parser.add_argument("--train-prompts", type=int, default=3000, help="prompts sampled and ranked")
    parser.add_argument("--eval-prompts", type=int, default=150, help="held-out prompts for the gold score")
    parser.add_argument("--eval-samples", type=int, default=8, help="fresh samples per held-out prompt")
    parser.add_argument("--k", type=int, default=4, help="completions per ranked prompt")
    parser.add_argument("--labelers", type=int, default=3, help="simulated labelers per prompt")
    parser.add_argument("--max-new-tokens", type=int, default=48, help="sampling length limit")
    parser.add_argument("--dpo-loss", default="ipo", help="sigmoid, ipo or plackett_luce")
    parser.add_argument("--dpo-epochs", type=int, default=2)
    parser.add_argument("--dpo-lr", type=float, default=1e-4)
    parser.add_argument("--dpo-beta", type=float, default=0.1)
    parser.add_argument("--rm-epochs", type=int, default=2)
    parser.add_argument("--ppo-iterations", type=int, default=10)
    parser.add_argument("--ppo-batch", type=int, default=256)
    parser.add_argument("--ppo-lr", type=float, default=3e-5)
    parser.add_argument("--ppo-kl-beta", type=float, default=0.05)
    parser.add_argument("--ppo-ptx", type=float, default=0.0, help="PPO-ptx coefficient (LM loss on demonstrations)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of every step")
    args = parser.parse_args(argv)
    if args.quick:
        args.train_prompts, args.eval_prompts, args.eval_samples = 24, 12, 1
        args.max_new_tokens, args.dpo_epochs, args.rm_epochs = 16, 1, 1
        args.ppo_iterations, args.ppo_batch = 2, 8
    return args


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bootstrap_policy(out: Path, quick: bool) -> str:
    from modeling.training.policy_bootstrap import DEMONSTRATIONS_PATH, BootstrapConfig, load_demonstrations, train_policy

    target = out / "policy"
    if (target / "config.json").is_file():
        return str(target)
    settings = dict(size="tiny", steps=30, vocab_size=400, eval_prompts=0) if quick else {}
    path, metrics = train_policy(BootstrapConfig(out_dir=str(target), **settings),
                                 load_demonstrations(DEMONSTRATIONS_PATH))
    log(f"bootstrapped policy: final SFT loss {metrics['sft/final_loss']:.3f}")
    return str(path)


def simulate_rankings(policy_dir: str, prompts: list[str], args) -> list[Ranking]:
    """K samples per prompt (one batched ``generate`` per chunk, duplicates and empty ones dropped), then each of
    ``args.labelers`` simulated labelers ranks every prompt's distinct samples."""
    model, tokenizer = load_policy(policy_dir, "cpu")
    repeated = [p for p in prompts for _ in range(args.k)]
    torch.manual_seed(args.seed + 5)
    texts = generate_responses(model, tokenizer, repeated, max_new_tokens=args.max_new_tokens).texts
    labelers = [SimulatedLabeler(f"sim-{i}") for i in range(args.labelers)]
    rankings = []
    for number, prompt in enumerate(prompts):
        completions = [c for c in dict.fromkeys(texts[number * args.k : (number + 1) * args.k]) if c.strip()]
        if len(completions) < 2:
            continue
        for labeler in labelers:
            tiers = labeler.rank(prompt, completions)
            rankings.append(Ranking(prompt=prompt, completions=tuple(completions),
                                    tiers=tuple(tuple(t) for t in tiers), labeler=labeler.name))
    return rankings


def gold_of_samples(policy_dir: str, prompts: list[str], args) -> list[float]:
    """Gold score of fresh samples: ``eval_samples`` per prompt, the same sampling seed for every policy."""
    model, tokenizer = load_policy(policy_dir, "cpu")
    repeated = [p for p in prompts for _ in range(args.eval_samples)]
    torch.manual_seed(args.seed + 777)
    responses = generate_responses(model, tokenizer, repeated, max_new_tokens=args.max_new_tokens)
    return [gold_score(p, c) for p, c in zip(repeated, responses.texts)]


def held_out_prompts(count: int, seed: int) -> list[str]:
    """``count`` distinct prompts drawn first, in the generator's mix of instruction types.

    The templates have about a thousand distinct prompts in all, so a training set of thousands covers
    most list, fact and polite prompts; drawing the held-out set first and removing it from training
    keeps every type in the evaluation (drawing it after the training set would leave mostly the
    arithmetic prompts, whose numbers rarely repeat).
    """
    distinct = list(dict.fromkeys(generate_prompts(4 * count, seed=seed)))
    return distinct[:count]


def finished_run(config) -> dict | None:
    """Metrics of a finished run in ``config.output_dir`` trained with exactly these settings, else None.

    Lets a rerun with other settings for one method reuse the other method's finished outputs.
    """
    from modeling.models.checkpoints import config_to_dict

    directory = Path(config.output_dir)
    try:
        saved = json.loads((directory / "training_config.json").read_text())
        metrics = json.loads((directory / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    if saved.get("values") != json.loads(json.dumps(config_to_dict(config)["values"])):
        return None
    log(f"reusing the finished run in {directory}")
    return {**metrics["final"], "history": metrics["history"]}


def judge(name: str, policy_dir: str, start_dir: str, prompts: list[str], before: list[float], args) -> dict:
    after = gold_of_samples(policy_dir, prompts, args)
    policy, tokenizer = load_policy(policy_dir, "cpu")
    reference, _ = load_policy(start_dir, "cpu")
    kl = estimate_kl(policy, reference, tokenizer, prompts, max_new_tokens=args.max_new_tokens, seed=args.seed + 99)
    result = {"gold_before": sum(before) / len(before), "gold_after": sum(after) / len(after),
              "gain_standard_error": paired_standard_error(after, before),
              "win_rate": win_rate(after, before), "kl_to_start": kl}
    log(f"{name}: gold {result['gold_before']:.4f} -> {result['gold_after']:.4f} "
        f"(± {result['gain_standard_error']:.4f}), "
        f"win rate {result['win_rate']:.3f}, KL {kl:.3f}")
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    start_dir = args.policy or bootstrap_policy(out, args.quick)
    timings["bootstrap_s"] = time.perf_counter() - started

    eval_prompts = held_out_prompts(args.eval_prompts, seed=args.seed + 2)
    held_out = set(eval_prompts)
    train_prompts = [p for p in generate_prompts(args.train_prompts, seed=args.seed + 1) if p not in held_out]

    mark = time.perf_counter()
    rankings_path = out / "rankings.jsonl"
    rankings = read_rankings(rankings_path) if rankings_path.is_file() else []
    if not ({r.prompt for r in rankings} <= set(train_prompts) and len(rankings) >= 0.9 * len(train_prompts)):
        rankings = simulate_rankings(start_dir, train_prompts, args)
        write_jsonl_atomic(({"prompt": r.prompt, "completions": list(r.completions), "labeler": r.labeler,
                             "ranking": [list(t) for t in r.tiers]} for r in rankings), rankings_path)
    timings["sample_and_rank_s"] = time.perf_counter() - mark
    log(f"{len(rankings)} simulated rankings of K={args.k}")
    before = gold_of_samples(start_dir, eval_prompts, args)
    results: dict = {"settings": vars(args), "start_policy": start_dir, "rankings": len(rankings),
                     "eval_prompts": len(eval_prompts)}

    mark = time.perf_counter()
    dpo_config = DPOConfig(output_dir=str(out / "dpo"), policy=start_dir, loss_type=args.dpo_loss, beta=args.dpo_beta,
                           epochs=args.dpo_epochs, learning_rate=args.dpo_lr, kl_prompts=0, seed=args.seed)
    dpo_metrics = finished_run(dpo_config)
    dpo_dir = dpo_config.output_dir
    if dpo_metrics is None:
        dpo_dir, dpo_metrics = train_dpo(dpo_config, rankings)
    timings["dpo_s"] = time.perf_counter() - mark
    results["dpo"] = {**judge("DPO", str(dpo_dir), start_dir, eval_prompts, before, args),
                      "train": {k: v for k, v in dpo_metrics.items() if k != "history"}}

    from modeling.training.reward_config import RewardConfig
    from modeling.training.reward_training import train_reward_model

    mark = time.perf_counter()
    reward_config = RewardConfig(output_dir=str(out / "reward"), epochs=args.rm_epochs, seed=args.seed)
    reward_metrics = finished_run(reward_config)
    reward_dir = reward_config.output_dir
    if reward_metrics is None:
        reward_dir, reward_metrics = train_reward_model(reward_config, rankings)
    timings["reward_s"] = time.perf_counter() - mark
    log(f"reward model: held-out accuracy {reward_metrics.get('reward/accuracy', float('nan')):.3f}")
    mark = time.perf_counter()
    ppo_config = PPOConfig(output_dir=str(out / "ppo"), policy=start_dir, reward_model=str(reward_dir),
                           iterations=args.ppo_iterations, rollout_batch_size=args.ppo_batch,
                           minibatch_size=max(1, args.ppo_batch // 4), learning_rate=args.ppo_lr,
                           kl_beta=args.ppo_kl_beta, ptx_coef=args.ppo_ptx, max_new_tokens=args.max_new_tokens,
                           seed=args.seed)
    ppo_metrics = finished_run(ppo_config)
    ppo_dir = ppo_config.output_dir
    if ppo_metrics is None:
        ppo_dir, ppo_metrics = train_ppo(ppo_config, train_prompts,
                                         lambda i, n, m: log(f"PPO {i}/{n}: reward {m['ppo/reward']:.3f} "
                                                             f"KL {m['ppo/kl']:.3f}"))
    timings["ppo_s"] = time.perf_counter() - mark
    results["reward_model"] = {k: v for k, v in reward_metrics.items() if k != "history"}
    results["ppo"] = {**judge("PPO", str(ppo_dir), start_dir, eval_prompts, before, args),
                      "train": {k: v for k, v in ppo_metrics.items() if k != "history"},
                      "history": ppo_metrics["history"]}
    results["timings"] = timings

    history = ppo_metrics["history"]
    write_line_charts(out / "ppo_reward_kl.png", [
        ("PPO reward (RM score)", [(row["iteration"], row["ppo/reward"]) for row in history]),
        ("KL to start policy", [(row["iteration"], row["ppo/kl"]) for row in history]),
    ])
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("| method | gold before | gold after | gain ± SE | win rate (after vs before) | KL to start |")
    print("|---|---|---|---|---|---|")
    for name in ("dpo", "ppo"):
        r = results[name]
        print(f"| {name.upper()} | {r['gold_before']:.4f} | {r['gold_after']:.4f} "
              f"| {r['gold_after'] - r['gold_before']:+.4f} ± {r['gain_standard_error']:.4f} | {r['win_rate']:.3f} "
              f"| {r['kl_to_start']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

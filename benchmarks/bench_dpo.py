"""DPO training throughput: our grouped K-way DPO vs TRL's DPOTrainer on expanded pairs; PPO throughput.

Both DPO trainers start from the same policy checkpoint (the default small GPT-2, ``--policy``), see
the same simulated K-way rankings (``bench_reward.simulated_rankings``: prompts from
``modeling.simulation.instructions``, completions of uneven quality, ranked by ``modeling.simulation.oracle`` labelers) and
the same token ids (prompt and completion as ``modeling.formats.chat_format`` writes them), one epoch (ours also two), the same
learning rate, beta 0.1, sigmoid loss and sequences per optimizer step. TRL gets every non-tied
comparison as a chosen/rejected pair with ``precompute_ref_log_probs=True``; ours runs one forward per
completion and puts all of a prompt's comparisons on it, with reference log-probs cached once per
completion. Throughput is training pairs per second of training-step time (reference
precomputation and setup excluded for both).

Speed counts at equal accuracy: both policies are scored on held-out rankings (distinct prompts,
never trained on) by their preference accuracy, the fraction of held-out non-tied comparisons whose
implicit rewards ``log pi - log pi_ref`` are in the labeler's order (strictly: the untrained policy
scores 0); TRL's also at evenly spaced steps of its epoch (scoring time left out), ours after 1 and 2
epochs. The table gives TRL's accuracy at ours' training time and how much sooner ours comes within
1 point of TRL's trained policy.

Then one PPO figure for later improvement: rollout and update tokens per second of the default
policy against the packaged MiniLM reward base (its training does not change the cost).

    .venv-bench/bin/python benchmarks/bench_dpo.py --policy var/experiments/loop/policy
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from bench_reward import _TrainClock, simulated_rankings  # noqa: E402
from modeling.formats.comparisons import comparisons_from_tiers, group_rankings  # noqa: E402
from modeling.models.policy_model import load_policy  # noqa: E402
from modeling.training.dpo import DPOConfig, reference_logprobs, tokenize_policy_groups, train_dpo  # noqa: E402
from modeling.formats.chat_format import prompt_text, response_text  # noqa: E402


class HeldOut:
    """Held-out preference accuracy: the fraction of held-out non-tied comparisons whose implicit rewards
    ``log pi(c|p) - log pi_ref(c|p)`` (beta does not change their order) the labeler's order agrees with,
    strictly; the same code scores both trainers' policies."""

    def __init__(self, rankings, args):
        reference, tokenizer = load_policy(args.policy, "cpu")
        self.groups = group_rankings(rankings)
        self.prompt_lengths = tokenize_policy_groups(self.groups, tokenizer, args.max_length)
        self.pad_id, self.batch = tokenizer.pad_token_id, 2 * args.sequences_per_step
        self.reference = reference_logprobs(reference, self.groups, self.prompt_lengths, self.pad_id, "cpu",
                                            self.batch)
        self.pairs = sum(g.num_pairs for g in self.groups)

    def accuracy(self, model) -> float:
        policy = reference_logprobs(model, self.groups, self.prompt_lengths, self.pad_id, "cpu", self.batch)
        hits = 0
        for group, logps, ref in zip(self.groups, policy, self.reference):
            reward = [p - r for p, r in zip(logps, ref)]
            hits += sum(reward[b] > reward[w] for b, w in zip(group.better, group.worse))
        return hits / self.pairs


def run_trl(rankings, args, out_dir: str, score=None) -> tuple[float, int, object, list]:
    """TRL's DPOTrainer on every non-tied comparison as one pair; returns (training seconds, pairs,
    trained model, held-out curve of ``score`` as in ``bench_reward.run_trl``)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig as TRLDPOConfig
    from trl import DPOTrainer

    model = AutoModelForCausalLM.from_pretrained(args.policy)
    tokenizer = AutoTokenizer.from_pretrained(args.policy)
    rows = {"prompt": [], "chosen": [], "rejected": []}

    def response(prompt, text):  # the text chat_format tokenizes, then its EOS
        return response_text(tokenizer, prompt, text) + tokenizer.eos_token

    for ranking in rankings:
        for better, worse in comparisons_from_tiers(ranking.tiers):
            rows["prompt"].append(prompt_text(tokenizer, ranking.prompt))
            rows["chosen"].append(response(ranking.prompt, ranking.completions[better]))
            rows["rejected"].append(response(ranking.prompt, ranking.completions[worse]))
    config = TRLDPOConfig(
        output_dir=out_dir, num_train_epochs=1, per_device_train_batch_size=args.sequences_per_step // 2,
        learning_rate=args.learning_rate, lr_scheduler_type="linear", warmup_steps=0.1, max_grad_norm=1.0,
        beta=0.1, loss_type=["sigmoid"], max_length=args.max_length, precompute_ref_log_probs=True,
        precompute_ref_batch_size=args.sequences_per_step, disable_dropout=True, bf16=False, use_cpu=True,
        report_to=[], save_strategy="no", eval_strategy="no", logging_steps=10**6, seed=args.seed,
        data_seed=args.seed, dataloader_num_workers=0, disable_tqdm=True,
    )
    clock = _TrainClock(score, args.trl_eval_points)
    trainer = DPOTrainer(model=model, args=config, train_dataset=Dataset.from_dict(rows), processing_class=tokenizer,
                         callbacks=[clock])
    trainer.train()
    return clock.seconds, len(rows["prompt"]), trainer.model, clock.curve


def bench_k(k: int, n_prompts: int, n_heldout: int, args, work: str) -> dict:
    everything = simulated_rankings(n_prompts + n_heldout, k, seed=args.seed + k)
    rankings, heldout_rankings = everything[:n_prompts], everything[n_prompts:]  # distinct prompts
    pairs = sum(len(comparisons_from_tiers(r.tiers)) for r in rankings)
    heldout = HeldOut(heldout_rankings, args)
    print(f"K={k}: {len(rankings)} prompts, {pairs} non-tied pairs; held out {len(heldout_rankings)} prompts, "
          f"{heldout.pairs} pairs", flush=True)
    ours_runs = []
    for epochs in args.our_epochs:
        torch.manual_seed(args.seed)
        config = DPOConfig(output_dir=f"{work}/ours-k{k}-e{epochs}", policy=args.policy, max_length=args.max_length,
                           epochs=epochs, completions_per_batch=args.sequences_per_step,
                           learning_rate=args.learning_rate, kl_prompts=0, checkpoint_every=0, seed=args.seed)
        out, ours = train_dpo(config, rankings)
        assert ours["dpo/train_pairs"] == pairs * epochs
        accuracy = heldout.accuracy(load_policy(str(out), "cpu")[0])
        ours_runs.append({"epochs": epochs, "pairs_per_s": ours["perf/pairs_per_second"],
                          "seconds": ours["perf/train_seconds"], "accuracy": accuracy})
        print(f"  ours, {epochs} epoch(s): {ours['perf/pairs_per_second']:.1f} pairs/s "
              f"({ours['perf/train_seconds']:.1f}s), held-out accuracy {accuracy:.3f}", flush=True)
    torch.manual_seed(args.seed)
    trl_seconds, trl_pairs, trl_model, curve = run_trl(rankings, args, f"{work}/trl-k{k}", heldout.accuracy)
    trl_rate, trl_accuracy = trl_pairs / trl_seconds, heldout.accuracy(trl_model)
    print(f"  TRL, 1 epoch:  {trl_rate:.1f} pairs/s ({trl_seconds:.1f}s), held-out accuracy {trl_accuracy:.3f}",
          flush=True)
    for run in ours_runs:  # TRL's accuracy once it had trained as long as this run of ours
        before = [p for p in curve if p["seconds"] <= run["seconds"]]
        run["trl_accuracy_at_equal_time"] = before[-1]["accuracy"] if before else float("nan")
    one = ours_runs[0]
    target = trl_accuracy - 0.01  # within 1 point of TRL's trained policy
    trl_hit = next((p for p in curve if p["accuracy"] >= target), {"seconds": trl_seconds})
    ours_hit = min((r for r in ours_runs if r["accuracy"] >= target), key=lambda r: r["seconds"], default=None)
    return {"k": k, "prompts": len(rankings), "pairs": pairs, "heldout_pairs": heldout.pairs,
            "ours_pairs_per_s": one["pairs_per_s"], "trl_pairs_per_s": trl_rate,
            "ratio": one["pairs_per_s"] / trl_rate, "target_ratio": 0.8 * (k - 1), "ours_seconds": one["seconds"],
            "trl_seconds": trl_seconds, "trl_accuracy": trl_accuracy, "trl_curve": curve, "ours_runs": ours_runs,
            "trl_seconds_to_accuracy": trl_hit["seconds"],
            "ours_run_to_accuracy": ours_hit and ours_hit["epochs"],
            "time_ratio_at_equal_accuracy": ours_hit and trl_hit["seconds"] / ours_hit["seconds"]}


def bench_ppo(args, work: str) -> dict:
    """Rollout and update tokens per second of PPO on the default policy (mean of iterations 2..n)."""
    from modeling.simulation.instructions import generate_prompts
    from modeling.training.ppo import PPOConfig, train_ppo
    from modeling.models.reward_model import default_base_model

    config = PPOConfig(output_dir=f"{work}/ppo", policy=args.policy, reward_model=default_base_model(),
                       iterations=args.ppo_iterations, rollout_batch_size=64, minibatch_size=16, ppo_epochs=4,
                       max_new_tokens=48, checkpoint_every=0, seed=args.seed)
    _, metrics = train_ppo(config, generate_prompts(256, seed=args.seed + 5))
    rows = metrics["history"][1:] or metrics["history"]  # the first iteration pays warm-up costs
    mean = lambda key: sum(r[key] for r in rows) / len(rows)  # noqa: E731
    result = {"rollout_tokens_per_s": mean("perf/rollout_tokens_per_second"),
              "update_tokens_per_s": mean("perf/update_tokens_per_second"),
              "response_length": mean("ppo/response_length"), "iterations": len(rows)}
    print(f"PPO: rollout {result['rollout_tokens_per_s']:.0f} tokens/s, update {result['update_tokens_per_s']:.0f} "
          f"tokens/s (64 responses x ~{result['response_length']:.0f} tokens, 4 epochs)", flush=True)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True, help="policy checkpoint (the default small GPT-2)")
    parser.add_argument("--k", type=int, nargs="+", default=[4, 9], help="ranking sizes to benchmark")
    parser.add_argument("--prompts", type=int, nargs="+", default=[100, 40], help="prompts per K (same order)")
    parser.add_argument("--heldout-prompts", type=int, nargs="+", default=[100, 40],
                        help="held-out prompts per K (same order), never trained on")
    parser.add_argument("--our-epochs", type=int, nargs="+", default=[1, 2],
                        help="one run of ours per value; TRL runs 1 epoch")
    parser.add_argument("--trl-eval-points", type=int, default=8,
                        help="held-out accuracy of TRL's policy at this many evenly spaced steps (and the start)")
    parser.add_argument("--max-length", type=int, default=128, help="tokens per sequence, both trainers")
    parser.add_argument("--sequences-per-step", type=int, default=32, help="sequences per optimizer step, both")
    parser.add_argument("--learning-rate", type=float, default=5e-5, help="peak learning rate, both")
    parser.add_argument("--ppo-iterations", type=int, default=3, help="PPO iterations timed (0 = skip PPO)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    import datasets

    datasets.disable_progress_bars()
    started = time.perf_counter()
    results, ppo = [], None
    with tempfile.TemporaryDirectory() as work:
        for k, n_prompts, n_heldout in zip(args.k, args.prompts, args.heldout_prompts, strict=True):
            results.append(bench_k(k, n_prompts, n_heldout, args, work))
        if args.ppo_iterations:
            ppo = bench_ppo(args, work)
    print(f"\n{'K':>2} {'ours pairs/s':>12} {'TRL pairs/s':>11} {'ratio':>6} {'target':>6} "
          f"{'ours acc':>8} {'TRL acc':>7} {'TRL acc at ours time':>20} {'sooner at equal acc':>19}")
    for r in results:
        one = r["ours_runs"][0]
        sooner = (f"{r['time_ratio_at_equal_accuracy']:.2f}x ({r['ours_run_to_accuracy']} ep)"
                  if r["time_ratio_at_equal_accuracy"] else "not reached")
        print(f"{r['k']:>2} {r['ours_pairs_per_s']:>12.1f} {r['trl_pairs_per_s']:>11.1f} {r['ratio']:>5.2f}x "
              f"{r['target_ratio']:>5.1f}x {one['accuracy']:>8.3f} {r['trl_accuracy']:>7.3f} "
              f"{one['trl_accuracy_at_equal_time']:>20.3f} {sooner:>19}")
    total = time.perf_counter() - started
    print(f"total {total:.0f}s on {platform.processor() or platform.machine()}, torch threads {args.threads}")
    summary = {"results": results, "ppo": ppo, "total_seconds": total, "args": vars(args)}
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

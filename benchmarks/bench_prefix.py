"""Shared prompt prefixes: DPO and decoder reward-model steps with each prompt encoded once, vs every
sequence whole (our grouped path) and vs TRL's DPOTrainer on pairs, on long chat prompts.

Data: conversations built from the shipped demonstrations (a system message and earlier user/assistant
turns ending with a user turn) of about ``--prompt-tokens`` tokens (P), each with K completions of about
``--completion-tokens`` tokens (L), ranked at random by one labeler with an occasional tie. Model: a
randomly initialised GPT-2 (``--n-embd``, ``--n-layer``; 512 x 6 is about 23M parameters) with a
byte-level BPE tokenizer of 8,192 tokens trained here (nothing downloaded). Every variant runs in its
own subprocess, one after the other in the same run (the CPU is shared, so only ratios taken within
one run compare), and reports ``ru_maxrss`` as its peak memory:

- ``dpo-trl``: TRL's DPOTrainer on the non-tied pairs (``precompute_ref_log_probs``), 2 sequences a pair;
- ``dpo-grouped``: ``train_dpo`` with ``prefix_sharing=False`` (one forward per completion, prompt included);
- ``dpo-shared``: ``train_dpo`` with ``prefix_sharing=True`` (each prompt once, completions on its cache);
- ``rm-grouped`` / ``rm-shared``: ``train_reward_model`` on the decoder as a GPT-2 sequence classifier with
  ``prefix_sharing`` off / on (each step: scoring, grouped Bradley-Terry loss, clipping, AdamW and schedule).

Throughput is over optimizer-step time only (setup and the reference pass excluded for all three DPO
variants, as in bench_dpo.py; loading, tokenizing and the closing centring pass for the reward rows, which
hold out no validation split), and is the median over steps of each step's rate, the first step left
out (warm-up): other jobs on a shared CPU make single steps slow at random, and a median shrugs that
off where a total does not. sequences/s counts scored completions; tokens/s counts their prompt +
completion tokens as the sequences hold them (so the same data gives the same token count to every
variant and the rates compare; the shared path runs only P + sum(L) of them per group); pairs/s counts
the comparisons trained on. One torch thread per variant (``--threads``), as bench_reward.py runs.

    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/bench_prefix.py --steps 4 --threads 1
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VARIANTS = ("dpo-trl", "dpo-grouped", "dpo-shared", "rm-grouped", "rm-shared")
SYSTEM = ("You are a helpful assistant for a small team. Answer the user's last question briefly and exactly; "
          "keep lists numbered, numbers as digits, and say so when you are unsure.")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def build_decoder(out: Path, n_embd: int, n_layer: int) -> None:
    """A random GPT-2 and its BPE tokenizer, saved in ``out``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from modeling.formats.conversation import prompt_text
    from modeling.models.tokenizer import corpus_text, train_bpe_tokenizer
    from modeling.training.policy_bootstrap import DEMONSTRATIONS_PATH, load_demonstrations

    torch.manual_seed(0)
    rows = load_demonstrations(DEMONSTRATIONS_PATH)
    tokenizer = train_bpe_tokenizer((corpus_text(prompt_text(d.prompt), d.completion) for d in rows),
                                    vocab_size=8192, model_max_length=1024)
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=n_embd, n_layer=n_layer, n_head=n_embd // 64,
                        n_positions=1024, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    model = GPT2LMHeadModel(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    print(f"decoder: GPT-2 {n_embd} x {n_layer} layers, {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M "
          f"parameters, vocabulary {len(tokenizer)}", flush=True)


def chat_rankings(tokenizer, n_prompts: int, k: int, prompt_tokens: int, completion_tokens: int, seed: int):
    """Rankings of K completions of long conversations (the module docstring)."""
    from modeling.formats.chat_format import encode_prompt
    from modeling.formats.conversation import parse_prompt
    from modeling.formats.rankings import parse_ranking
    from modeling.training.policy_bootstrap import DEMONSTRATIONS_PATH, load_demonstrations

    rng = random.Random(seed)
    demos = load_demonstrations(DEMONSTRATIONS_PATH)
    words = " ".join(d.completion for d in demos).split()
    records = []
    for p in range(n_prompts):
        turns = [{"role": "system", "content": SYSTEM}]
        while True:  # earlier turns until the next one would pass P
            demo = rng.choice(demos)
            longer = turns + [{"role": "user", "content": demo.prompt}]
            if len(encode_prompt(tokenizer, parse_prompt(longer))) > prompt_tokens:
                break
            prompt = longer
            turns = longer + [{"role": "assistant", "content": demo.completion}]
        completions = []
        for i in range(k):
            start, text = rng.randrange(len(words) - 200), ""
            target = completion_tokens + rng.randint(-6, 6)
            for n in range(1, 200):
                text = " ".join(words[start : start + n]) + f" ({p}.{i})"
                if len(tokenizer(text)["input_ids"]) >= target:
                    break
            completions.append(text)
        order = list(range(k))
        rng.shuffle(order)
        tiers = [[order[0], order[1]]] + [[i] for i in order[2:]] if rng.random() < 0.3 else [[i] for i in order]
        records.append({"prompt": prompt, "completions": completions, "ranking": tiers, "labeler": "ann"})
    return [parse_ranking(r) for r in records]


def _clock():
    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        """Seconds of each training step."""

        steps: list = []

        def on_step_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.steps.append(time.perf_counter() - self.started)

    return Clock()


def run_trl(policy: str, rankings, args, k: int, out_dir: str) -> dict:
    """TRL's DPOTrainer on as many pairs as ``steps`` optimizer steps of K sequences take."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig as TRLDPOConfig
    from trl import DPOTrainer

    from modeling.formats.chat_format import encode_prompt, prompt_text, response_text
    from modeling.formats.comparisons import comparisons_from_tiers

    model, tokenizer = AutoModelForCausalLM.from_pretrained(policy), AutoTokenizer.from_pretrained(policy)
    pairs_per_step = max(1, k // 2)
    rows = {"prompt": [], "chosen": [], "rejected": []}
    tokens = []  # per pair
    for ranking in rankings:
        prompt_length = len(encode_prompt(tokenizer, ranking.prompt))
        for better, worse in comparisons_from_tiers(ranking.tiers):
            if len(rows["prompt"]) == pairs_per_step * args.steps:
                break
            rows["prompt"].append(prompt_text(tokenizer, ranking.prompt))
            tokens.append(0)
            for key, index in (("chosen", better), ("rejected", worse)):
                text = response_text(tokenizer, ranking.prompt, ranking.completions[index]) + tokenizer.eos_token
                rows[key].append(text)
                tokens[-1] += prompt_length + len(tokenizer(text, add_special_tokens=False)["input_ids"])
    config = TRLDPOConfig(
        output_dir=out_dir, num_train_epochs=1, per_device_train_batch_size=pairs_per_step, learning_rate=1e-5,
        lr_scheduler_type="linear", max_grad_norm=1.0, beta=0.1, loss_type=["sigmoid"], max_length=args.max_length,
        precompute_ref_log_probs=True, precompute_ref_batch_size=2 * pairs_per_step, disable_dropout=True,
        bf16=False, use_cpu=True, report_to=[], save_strategy="no", eval_strategy="no", logging_steps=10**6,
        seed=0, data_seed=0, dataloader_num_workers=0, disable_tqdm=True)
    clock = _clock()
    trainer = DPOTrainer(model=model, args=config, train_dataset=Dataset.from_dict(rows), processing_class=tokenizer,
                         callbacks=[clock])
    trainer.train()  # a batch of pairs_per_step pairs a step, in dataset order or not: same sizes on average
    per_step = [{"seconds": t, "sequences": 2 * pairs_per_step, "pairs": pairs_per_step,
                 "tokens": sum(tokens) / len(tokens) * pairs_per_step} for t in clock.steps[1:]]
    return {"per_step": per_step}


def run_ours_dpo(policy: str, rankings, args, k: int, shared: bool, out_dir: str) -> dict:
    from modeling.training.dpo import DPOConfig, train_dpo

    config = DPOConfig(output_dir=out_dir, policy=policy, max_length=args.max_length, epochs=1, max_steps=args.steps,
                       completions_per_batch=k, learning_rate=1e-5, kl_prompts=0, checkpoint_every=0,
                       prefix_sharing=shared)
    stamps = [time.perf_counter()]
    train_dpo(config, rankings, lambda step, total, metrics: stamps.append(time.perf_counter()))
    groups = _tokenized(policy, rankings, args.max_length)  # one group of K a step, all about the same size
    tokens = sum(len(ids) for g in groups for ids in g.input_ids) / len(groups)
    pairs = sum(g.num_pairs for g in groups) / len(groups)
    return {"per_step": [{"seconds": b - a, "sequences": k, "pairs": pairs, "tokens": tokens}
                         for a, b in zip(stamps[1:], stamps[2:])]}  # from the end of step 1 on


def _tokenized(policy: str, rankings, max_length: int):
    from transformers import AutoTokenizer

    from modeling.formats.comparisons import group_rankings
    from modeling.training.dpo import tokenize_policy_groups

    groups = group_rankings(rankings)
    tokenize_policy_groups(groups, AutoTokenizer.from_pretrained(policy), max_length)
    return groups


def run_reward(policy: str, rankings, args, k: int, shared: bool, out_dir: str) -> dict:
    """``train_reward_model`` on the decoder as a GPT-2 sequence classifier, one group of K a step."""
    from transformers import AutoTokenizer

    from modeling.formats.comparisons import group_rankings, tokenize_groups
    from modeling.training.reward_training import RewardConfig, train_reward_model

    config = RewardConfig(output_dir=out_dir, base_model=policy, max_length=args.max_length, epochs=1,
                          max_steps=args.steps, completions_per_batch=k, learning_rate=1e-5, validation_fraction=0.0,
                          checkpoint_every=0, prefix_sharing=shared)
    stamps = [time.perf_counter()]
    _, metrics = train_reward_model(config, rankings, lambda step, total, m: stamps.append(time.perf_counter()))
    assert metrics["perf/prefix_sharing"] == float(shared)
    groups = tokenize_groups(group_rankings(rankings), AutoTokenizer.from_pretrained(policy), args.max_length)
    tokens = sum(len(ids) for g in groups for ids in g.input_ids) / len(groups)
    pairs = sum(g.num_pairs for g in groups) / len(groups)
    return {"per_step": [{"seconds": b - a, "sequences": k, "pairs": pairs, "tokens": tokens}
                         for a, b in zip(stamps[1:], stamps[2:])]}  # from the end of step 1 on


def child(variant: str, policy: str, k: int, args) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    import statistics

    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(args.threads)

    rankings = chat_rankings(AutoTokenizer.from_pretrained(policy), args.steps, k, args.prompt_tokens,
                             args.completion_tokens, seed=k)
    with tempfile.TemporaryDirectory() as out:
        if variant == "dpo-trl":
            result = run_trl(policy, rankings, args, k, out)
        elif variant.startswith("dpo-"):
            result = run_ours_dpo(policy, rankings, args, k, variant == "dpo-shared", out)
        else:
            result = run_reward(policy, rankings, args, k, variant == "rm-shared", out)
    steps = result["per_step"]
    result.update(variant=variant, k=k, peak_mib=round(peak_mib()), steps=len(steps),
                  seconds=statistics.median(s["seconds"] for s in steps),
                  **{f"{what}_per_s": statistics.median(s[what] / s["seconds"] for s in steps)
                     for what in ("tokens", "sequences", "pairs")})
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps per variant; the first is not timed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per variant")
    parser.add_argument("--ks", default="4,9", help="completions per prompt to measure, comma-separated")
    parser.add_argument("--prompt-tokens", type=int, default=384, help="longest conversation prompt, in tokens")
    parser.add_argument("--completion-tokens", type=int, default=48, help="typical completion length, in tokens")
    parser.add_argument("--max-length", type=int, default=512, help="tokens per prompt + completion")
    parser.add_argument("--n-embd", type=int, default=512, help="decoder width")
    parser.add_argument("--n-layer", type=int, default=6, help="decoder layers")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="which variants to run")
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "POLICY", "K"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), args)
        return
    flags = ["--steps", str(args.steps), "--threads", str(args.threads), "--prompt-tokens", str(args.prompt_tokens),
             "--completion-tokens", str(args.completion_tokens), "--max-length", str(args.max_length)]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "decoder"
        build_decoder(policy, args.n_embd, args.n_layer)
        for k in (int(x) for x in args.ks.split(",")):
            for variant in args.variants.split(","):
                done = subprocess.run([sys.executable, __file__, *flags, "--child", variant, str(policy), str(k)],
                                      capture_output=True, text=True)
                if done.returncode:
                    print(f"{variant} K={k} failed:\n{done.stderr[-3000:]}", flush=True)
                    continue
                results[variant, k] = json.loads(done.stdout.strip().splitlines()[-1])
                r = results[variant, k]
                print(f"{variant:12s} K={k}: {r['tokens_per_s']:7.0f} tokens/s {r['sequences_per_s']:6.2f} sequences/s "
                      f"{r['pairs_per_s']:6.2f} pairs/s "
                      f"peak {r['peak_mib']} MiB (median of {r['steps']} steps: {r['seconds']:.1f}s)", flush=True)
    print(f"P <= {args.prompt_tokens} tokens, L ~ {args.completion_tokens}, {args.steps} steps per variant, "
          f"{args.threads} thread(s)")
    for k in sorted({k for _, k in results}):
        for kind, base, name in (("DPO", "dpo-grouped", "grouped"), ("DPO", "dpo-trl", "TRL"),
                                 ("reward model", "rm-grouped", "grouped")):
            shared = results.get(("dpo-shared" if kind == "DPO" else "rm-shared", k))
            if shared and (base, k) in results:  # pairs/s: a TRL pair costs 2 sequences, a group K for C(K,2)
                ratio = shared["pairs_per_s"] / results[base, k]["pairs_per_s"]
                print(f"prefix-shared vs {name}, {kind}, K={k}: {ratio:.1f}x")


if __name__ == "__main__":
    main()

"""Peak CPU memory of a DPO round with LoRA vs full fine-tuning, on the same ~92M-parameter decoder.

The decoder is a GPT-2 (n_embd 768, 12 layers, 12 heads) randomly initialised from its config, with
a byte-level BPE tokenizer (8,192 tokens) trained here on the shipped demonstrations; both variants
see the same rankings (K = 4), batch (``--completions-per-batch``), max length and steps, without the
final KL estimate; a third variant adds gradient checkpointing to LoRA. Each variant runs in a fresh subprocess and reports ``ru_maxrss``; another subprocess only
loads the policy (``load_policy``), and "over load" is a variant's peak minus that baseline: what
training adds (gradients and AdamW moments of every weight for full DPO; of the adapters for LoRA;
activations for both, which dominate at large batches in fp32). torch allocates outside Python's
heap, so tracemalloc would miss it.

    .venv/bin/python benchmarks/bench_lora_memory.py --steps 3 --completions-per-batch 4
    .venv/bin/python benchmarks/bench_lora_memory.py --steps 3 --completions-per-batch 16
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

WORDS = "the answer is here maybe we can see that it works good bad fine clear short long".split()


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def build_policy(out: Path) -> None:
    """A randomly initialised GPT-2 of about 92M parameters and its tokenizer, saved in ``out``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from modeling.formats.conversation import prompt_text
    from modeling.training.policy_bootstrap import DEMONSTRATIONS_PATH, load_demonstrations
    from modeling.models.tokenizer import corpus_text, train_bpe_tokenizer

    torch.manual_seed(0)
    rows = load_demonstrations(DEMONSTRATIONS_PATH)
    tokenizer = train_bpe_tokenizer((corpus_text(prompt_text(d.prompt), d.completion) for d in rows),
                                    vocab_size=8192, model_max_length=256)
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=768, n_layer=12, n_head=12, n_positions=256,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    model = GPT2LMHeadModel(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    print(f"policy: {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters", flush=True)


def rankings(n_prompts: int, k: int = 4):
    from modeling.formats.rankings import parse_ranking

    rng = random.Random(0)
    records = []
    for p in range(n_prompts):
        completions = [" ".join(rng.choices(WORDS, k=24)) + f" {i}" for i in range(k)]
        records.append({"prompt": f"question {p}: " + " ".join(rng.choices(WORDS, k=8)), "completions": completions,
                        "ranking": [[i] for i in range(k)], "labeler": "ann"})
    return [parse_ranking(r) for r in records]


def child(variant: str, policy: str, steps: int, completions_per_batch: int, max_length: int) -> None:
    """One measurement in this (fresh) process; prints a JSON line."""
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if variant == "load":
        from modeling.models.policy_model import load_policy

        load_policy(policy, "cpu")
        print(json.dumps({"variant": variant, "peak_mib": peak_mib()}))
        return
    from modeling.training.dpo import DPOConfig, train_dpo

    lora_r = 0 if variant == "full" else 16
    with tempfile.TemporaryDirectory() as out:
        config = DPOConfig(output_dir=out, policy=policy, lora_r=lora_r, completions_per_batch=completions_per_batch,
                           max_length=max_length, epochs=steps, max_steps=steps, kl_prompts=0, checkpoint_every=0,
                           learning_rate=1e-4, gradient_checkpointing=variant == "lora_checkpointing")
        started = time.perf_counter()
        _, metrics = train_dpo(config, rankings(8))
        seconds = time.perf_counter() - started
    print(json.dumps({"variant": variant, "peak_mib": peak_mib(), "seconds": seconds, "steps": metrics["dpo/steps"],
                      "loss": metrics["dpo/loss"]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="DPO optimizer steps per variant")
    parser.add_argument("--completions-per-batch", type=int, default=4, help="sequences per step (K = 4 per group)")
    parser.add_argument("--max-length", type=int, default=96, help="tokens per prompt + completion")
    parser.add_argument("--child", nargs=2, metavar=("VARIANT", "POLICY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.steps, args.completions_per_batch, args.max_length)
        return
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "policy"
        build_policy(policy)
        results = {}
        for variant in ("load", "full", "lora", "lora_checkpointing"):
            done = subprocess.run([sys.executable, __file__, "--steps", str(args.steps), "--completions-per-batch",
                                   str(args.completions_per_batch), "--max-length", str(args.max_length),
                                   "--child", variant, str(policy)], check=True, capture_output=True, text=True)
            results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps(results[variant]), flush=True)
    base, full = results["load"]["peak_mib"], results["full"]["peak_mib"]
    print(f"{args.completions_per_batch} completions per step, max length {args.max_length}, {args.steps} steps")
    print(f"after loading the policy: {base:.0f} MiB")
    print(f"full DPO peak: {full:.0f} MiB ({full - base:.0f} MiB over load)")
    for variant, name in (("lora", "LoRA"), ("lora_checkpointing", "LoRA + gradient checkpointing")):
        peak = results[variant]["peak_mib"]
        print(f"{name} (r=16) DPO peak: {peak:.0f} MiB ({peak - base:.0f} MiB over load)")
        print(f"{name} vs full DPO peak memory: {peak / full:.2f}x "
              f"(over load: {(peak - base) / max(full - base, 1e-9):.2f}x)")


if __name__ == "__main__":
    main()

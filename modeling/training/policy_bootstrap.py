"""The default policy: a small GPT-2 trained from scratch on the shipped demonstrations.

Steps: train a byte-level BPE tokenizer on the demonstrations, build a ``GPT2LMHeadModel`` of the
chosen size, fine-tune it with the SFT loop of :mod:`modeling.training.sft` (loss on completion tokens only,
ids from the tokenizer's own chat template), then save an ordinary Hugging Face checkpoint with
``training_config.json`` and ``metrics.json`` beside the weights.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from modeling.models.checkpoints import config_to_dict, publish_model
from modeling.formats.conversation import prompt_text
from modeling.training.bootstrap_config import DEMONSTRATIONS_PATH, POLICY_SIZES, BootstrapConfig, PolicySize  # noqa: F401
from modeling.models.sampling import greedy_completions, policy_device
from modeling.training.sft import Demonstration, adamw, encode_demonstration, fit, mean_loss, read_demonstrations, split_demonstrations
from modeling.models.tokenizer import corpus_text, train_bpe_tokenizer

ProgressCallback = Callable[[int, int, dict], None]  # (step, total_steps, metrics so far)


def load_demonstrations(path: str | Path) -> list[Demonstration]:
    """The demonstrations of a JSONL file (:func:`modeling.training.sft.read_demonstrations`)."""
    return read_demonstrations(path)


def build_policy(size: PolicySize, tokenizer, dropout: float) -> GPT2LMHeadModel:
    """A freshly initialised GPT-2 whose vocabulary and special tokens match ``tokenizer``."""
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=size.n_positions, n_embd=size.n_embd,
        n_layer=size.n_layer, n_head=size.n_head, resid_pdrop=dropout, embd_pdrop=dropout,
        attn_pdrop=dropout, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model


def learning_rate_at(step: int, config: BootstrapConfig) -> float:
    """Linear warm-up to ``learning_rate``, then cosine decay to a tenth of it at the last step."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.learning_rate * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress))))


def check_config(config: BootstrapConfig) -> None:
    """Raise ValueError if ``config`` cannot run or would overwrite a non-empty ``out_dir``."""
    if config.size not in POLICY_SIZES:
        raise ValueError(f"size must be one of {', '.join(POLICY_SIZES)}, not {config.size!r}")
    if config.steps < 1 or config.batch_size < 1:
        raise ValueError("steps and batch_size must be at least 1")
    out = Path(config.out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} already exists and is not an empty directory")


def train_policy(
    config: BootstrapConfig, demonstrations: list[dict], progress: ProgressCallback | None = None
) -> tuple[Path, dict]:
    """Train the bootstrap policy on ``demonstrations``; return (checkpoint dir, metrics).

    Raises ValueError on an impossible config before anything is written. The checkpoint is
    built in a hidden directory beside ``out_dir`` and moved there at the end, so ``out_dir`` is
    complete or absent.
    """
    check_config(config)
    threads = torch.get_num_threads()
    if config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
    try:
        return _train(config, demonstrations, progress)
    finally:
        torch.set_num_threads(threads)


def _train(config: BootstrapConfig, demonstrations: list[Demonstration],
           progress: ProgressCallback | None) -> tuple[Path, dict]:
    size = POLICY_SIZES[config.size]
    torch.manual_seed(config.seed)
    eval_rows, train_rows = split_demonstrations(demonstrations, config.eval_fraction, config.seed)

    started = time.perf_counter()
    tokenizer = train_bpe_tokenizer((corpus_text(prompt_text(d.prompt), d.completion) for d in train_rows),
                                    vocab_size=config.vocab_size, model_max_length=size.n_positions)
    train_examples, eval_examples = ([encode_demonstration(tokenizer, d.prompt, d.completion, size.n_positions)
                                      for d in part] for part in (train_rows, eval_rows))
    model = build_policy(size, tokenizer, config.dropout).to(policy_device())
    order = torch.Generator().manual_seed(config.seed)
    history = fit(model, train_examples, steps=config.steps, pad_id=tokenizer.pad_token_id,
                  batch_indexes=lambda step: torch.randint(len(train_examples), (config.batch_size,),
                                                           generator=order).tolist(),
                  learning_rate_at=lambda step: learning_rate_at(step, config),
                  optimizer=adamw(model, config.learning_rate, config.weight_decay), max_grad_norm=1.0,
                  log_every=max(1, config.steps // 20), progress=progress)

    metrics = {
        "sft/first_loss": history[0]["sft/loss"],
        "sft/final_loss": history[-1]["sft/loss_smoothed"],
        "sft/eval_loss": mean_loss(model, eval_examples, tokenizer.pad_token_id, 64) if eval_examples else None,
        "sft/train_seconds": time.perf_counter() - started,
        "sft/parameters": sum(p.numel() for p in model.parameters()),
        "sft/vocab_size": len(tokenizer),
        "sft/train_examples": len(train_examples),
    }
    if config.eval_prompts:
        metrics.update(_gold_eval(model, tokenizer, config))
    metrics["history"] = history
    return _save(model.cpu(), tokenizer, config, metrics), metrics


def _gold_eval(model, tokenizer, config: BootstrapConfig) -> dict:
    """Mean gold score of greedy answers to fresh prompts, overall and per instruction type."""
    from modeling.simulation.instructions import generate_prompts, gold_score, instruction_type

    prompts = generate_prompts(config.eval_prompts, seed=config.seed + 10_000)
    completions = greedy_completions(model, tokenizer, prompts, max_new_tokens=48)
    scores: dict[str, list[float]] = {}
    for prompt, completion in zip(prompts, completions):
        scores.setdefault(instruction_type(prompt), []).append(gold_score(prompt, completion))
    every = [s for group in scores.values() for s in group]
    result = {"sft/gold_score": sum(every) / len(every)}
    result.update({f"sft/gold_score/{kind}": sum(v) / len(v) for kind, v in sorted(scores.items())})
    return result


def _save(model, tokenizer, config: BootstrapConfig, metrics: dict) -> Path:
    """Publish the checkpoint: complete in ``out_dir`` or absent."""
    saved = config_to_dict(config)
    saved["values"]["policy_size"] = asdict(POLICY_SIZES[config.size])
    return publish_model(config.out_dir, model, tokenizer, saved, metrics)

"""Supervised fine-tuning: (config, demonstrations, progress) -> (policy checkpoint, metrics).

Demonstrations JSONL is TRL's prompt-completion format, one per line:
``{"prompt": str | [message, ...], "completion": str}`` (other keys are ignored). Each is encoded by
the policy's own chat template (:func:`modeling.formats.chat_format.encode_example`), so the completion ends
with the tokenizer's real EOS id. The loss is the mean cross-entropy over completion tokens only
(prompt tokens and padding carry label -100)::

    L = -(1 / |completion tokens in the batch|) * sum_t log pi(y_t | x, y_<t)

:func:`fit` is the one training loop: ``python -m modeling sft`` runs it over epochs of a loaded
policy, and the default policy's bootstrap (:mod:`modeling.training.policy_bootstrap`) runs it from scratch.
Under ``accelerate launch`` the steps, batches and loss curve are those of one process (see :func:`fit`);
only the main process evaluates and publishes. No resume checkpoints: an SFT run is minutes here; a
killed one starts again.
"""
from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from modeling.models import checkpoints
from modeling.formats.chat_format import encode_example
from modeling.formats.conversation import Prompt, parse_prompt
from modeling.errors import InputError
from modeling.formats.jsonl import jsonl_records
from modeling.training.distributed import Distributed
from modeling.training.sft_config import SFTConfig

ProgressCallback = Callable[[int, int, dict], None]  # (step done, total steps, latest metrics)


@dataclass(frozen=True)
class Demonstration:
    prompt: Prompt
    completion: str


def parse_demonstration(record: object) -> Demonstration:
    """One decoded JSON line as a :class:`Demonstration`; ValueError says what is wrong."""
    if not isinstance(record, dict) or "prompt" not in record:
        raise ValueError("expected an object with 'prompt' (a string or a list of messages) and 'completion'")
    prompt = parse_prompt(record["prompt"])
    completion = record.get("completion")
    if not isinstance(completion, str) or not completion.strip():
        raise ValueError("'completion' must be a non-empty string")
    return Demonstration(prompt, completion)


def read_demonstrations(path: str | Path) -> list[Demonstration]:
    """Every demonstration of a JSONL file; InputError names the file and line of the first bad one."""
    rows = []
    for number, record in jsonl_records(path, "demonstrations"):
        try:
            rows.append(parse_demonstration(record))
        except ValueError as exc:
            raise InputError(str(exc), path=str(path), line=number) from None
    if not rows:
        raise InputError("no demonstrations in file", path=str(path))
    return rows


def encode_demonstration(tokenizer, prompt: Prompt, completion: str, max_length: int) -> tuple[list, list]:
    """(input_ids, labels) for one demonstration; labels are -100 on prompt tokens."""
    ids, prompt_length = encode_example(tokenizer, prompt, completion, max_length)
    return ids, [-100] * prompt_length + ids[prompt_length:]


def collate(examples: list[tuple[list, list]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad (input_ids, labels) pairs into a batch; padding is masked out and not a target."""
    width = max(len(ids) for ids, _ in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)  # (batch, width)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, (ids, targets) in enumerate(examples):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(targets)] = torch.tensor(targets)
        attention_mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}


def adamw(model, learning_rate: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW over the trainable parameters, with weight decay on weight matrices only."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW([{"params": [p for p in trainable if p.dim() >= 2], "weight_decay": weight_decay},
                              {"params": [p for p in trainable if p.dim() < 2], "weight_decay": 0.0}],
                             lr=learning_rate)


@torch.no_grad()
def mean_loss(model, examples: list, pad_id: int, batch_size: int) -> float:
    """Token-weighted mean cross-entropy of ``model`` on the completion tokens of ``examples``."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(examples), batch_size):
        batch = {k: v.to(model.device) for k, v in collate(examples[start : start + batch_size], pad_id).items()}
        tokens = int((batch["labels"][:, 1:] != -100).sum())
        total += float(model(**batch).loss) * tokens
        count += tokens
    model.train(was_training)
    return total / max(1, count)


def fit(model, examples: list, *, steps: int, batch_indexes: Callable[[int], list[int]],
        learning_rate_at: Callable[[int], float], optimizer, pad_id: int, max_grad_norm: float,
        log_every: int, progress: ProgressCallback | None = None,
        forward_context: Callable = contextlib.nullcontext, dist: Distributed | None = None) -> list[dict]:
    """``steps`` optimizer steps on ``examples[batch_indexes(step)]``; returns the loss history.

    History rows: ``{"step", "sft/loss", "sft/loss_smoothed"}`` at the first step, every ``log_every``
    steps and the last; ``progress(step, steps, {"sft/loss": smoothed})`` after every step (on the
    main process). Under ``accelerate launch`` (``dist``; ``model`` and ``optimizer`` prepared by it)
    each process takes its round-robin share of a step's demonstrations and weights its loss, a mean
    over its completion tokens, by ``world_size * local tokens / batch tokens``: the averaged gradient
    is that of the whole batch's token mean, as on one process.
    """
    dist = dist or Distributed()
    device = next(model.parameters()).device
    history, smoothed = [], None
    trainable = [p for group in optimizer.param_groups for p in group["params"]]
    model.train()
    for step in range(steps):
        items = [examples[i] for i in batch_indexes(step)]
        mine, weight = dist.shard(items)
        if weight:  # the batch's token mean, not each process's: weight by completion tokens
            weight = dist.world_size * _target_tokens(mine) / max(1, _target_tokens(items))
        batch = {k: v.to(device) for k, v in collate(mine, pad_id).items()}
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step)
        with forward_context():
            loss = model(**batch).loss
        optimizer.zero_grad(set_to_none=True)
        dist.backward(loss * weight)
        if max_grad_norm:
            dist.clip_grad_norm_(trainable, max_grad_norm)
        optimizer.step()
        value = dist.sum(loss.item() * weight / dist.world_size)
        smoothed = value if smoothed is None else 0.95 * smoothed + 0.05 * value
        if step == 0 or (step + 1) % log_every == 0 or step + 1 == steps:
            history.append({"step": step + 1, "sft/loss": value, "sft/loss_smoothed": smoothed})
        if progress and dist.is_main:
            progress(step + 1, steps, {"sft/loss": smoothed})
    model.eval()
    return history


def _target_tokens(examples: list[tuple[list, list]]) -> int:
    """Tokens a causal-LM loss averages over: labels other than -100, after the one-token shift."""
    return sum(sum(1 for label in labels[1:] if label != -100) for _, labels in examples)


def split_demonstrations(rows: list, fraction: float, seed: int) -> tuple[list, list]:
    """(eval rows, train rows): a seeded shuffle, ``fraction`` held out when there are more than 20."""
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    n_eval = int(len(rows) * fraction) if len(rows) > 20 else 0
    return rows[:n_eval], rows[n_eval:]


def linear_warmup_decay(peak: float, warmup: int, total: int) -> Callable[[int], float]:
    """Learning rate at a step: linear warm-up over ``warmup`` steps to ``peak``, then linear decay to 0."""
    def at(step: int) -> float:
        if step < warmup:
            return peak * (step + 1) / warmup
        return peak * max(0.0, (total - step) / max(1, total - warmup))
    return at


def train_sft(config: SFTConfig, demonstrations: list[Demonstration],
              progress: ProgressCallback | None = None) -> tuple[Path, dict]:
    """Fine-tune ``config.policy`` on ``demonstrations`` and publish it to ``config.output_dir``."""
    from modeling.models import lora
    from modeling.models.policy_model import load_policy
    from modeling.training.seeding import seed_everything

    if not config.output_dir or not config.policy:
        raise ValueError("SFTConfig.output_dir and SFTConfig.policy are required")
    if config.epochs < 1 or config.batch_size < 1 or config.learning_rate <= 0:
        raise ValueError("need epochs >= 1, batch_size >= 1 and learning_rate > 0")
    seed_everything(config.seed)
    dist = Distributed(config.device)  # one process, or one of an accelerate launch (modeling.training.distributed)
    device = dist.device
    lora.check_lora_settings(config, device)
    model, tokenizer = load_policy(config.policy, device, load_in_4bit=config.load_in_4bit)
    model = lora.prepare_for_training(model, config, "CAUSAL_LM")
    eval_rows, train_rows = split_demonstrations(demonstrations, config.eval_fraction, config.seed)
    train, held_out = ([encode_demonstration(tokenizer, d.prompt, d.completion, config.max_length) for d in part]
                       for part in (train_rows, eval_rows))
    pad_id = tokenizer.pad_token_id
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    total = steps_per_epoch * config.epochs
    total = min(total, config.max_steps) if config.max_steps else total
    orders = [torch.randperm(len(train), generator=torch.Generator().manual_seed(config.seed + epoch)).tolist()
              for epoch in range(config.epochs)]

    def batch_indexes(step: int) -> list[int]:
        start = (step % steps_per_epoch) * config.batch_size
        return orders[step // steps_per_epoch][start : start + config.batch_size]

    eval_before = mean_loss(model, held_out, pad_id, 32) if held_out and dist.is_main else None
    if progress is not None and eval_before is not None:  # the held-out loss chart's first point
        progress(0, total, {"sft/eval_loss": eval_before})
    started = time.perf_counter()
    trained, optimizer = dist.prepare(model, adamw(model, config.learning_rate, config.weight_decay))
    history = fit(trained, train, steps=total, batch_indexes=batch_indexes, pad_id=pad_id,
                  learning_rate_at=linear_warmup_decay(config.learning_rate, int(config.warmup_ratio * total), total),
                  optimizer=optimizer, max_grad_norm=config.max_grad_norm, log_every=config.log_every,
                  progress=progress, forward_context=lambda: lora.autocast(device, config.bf16), dist=dist)
    if not dist.is_main:  # the main process evaluates and publishes; the others are done
        dist.wait()
        return Path(config.output_dir), {}
    eval_after = mean_loss(model, held_out, pad_id, 32) if held_out else None
    if progress is not None and eval_after is not None:
        progress(total, total, {"sft/eval_loss": eval_after})
    metrics = {
        "sft/first_loss": history[0]["sft/loss"], "sft/final_loss": history[-1]["sft/loss_smoothed"],
        "sft/eval_loss_before": eval_before, "sft/eval_loss": eval_after,
        "sft/steps": total, "sft/train_examples": len(train), "sft/eval_examples": len(held_out),
        "perf/train_seconds": time.perf_counter() - started, "world_size": dist.world_size,
    }
    saved = {**checkpoints.config_to_dict(config), "device": str(device), "world_size": dist.world_size}
    model = model if config.load_in_4bit else model.cpu()  # a 4-bit model cannot leave the GPU
    merged = (lambda staged: lora.save_merged(model, tokenizer, staged)) if config.merge and lora.is_lora(model) else None
    out = checkpoints.publish_model(config.output_dir, model, tokenizer, saved,
                                    {"final": metrics, "history": history}, extra=merged)
    dist.wait()
    return out, {**metrics, "history": history}

"""The default policy: a small GPT-2 trained from scratch on the shipped demonstrations.

Steps: train a byte-level BPE tokenizer on the formatted demonstrations, build a
``GPT2LMHeadModel`` of the chosen size, fine-tune it with the loss on response tokens only
(the prompt is context, not a target), then save an ordinary Hugging Face checkpoint with
``training_config.json`` and ``metrics.json`` beside the weights.
"""
from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from modeling.checkpoints import config_to_dict, publish_directory, staging_directory, write_json
from modeling.errors import InputError
from modeling.policy_config import DEMONSTRATIONS_PATH, POLICY_SIZES, BootstrapConfig, PolicySize  # noqa: F401
from modeling.sampling import greedy_completions, policy_device
from modeling.tokenizer import format_example, format_prompt, format_response, train_bpe_tokenizer

ProgressCallback = Callable[[int, int, dict], None]  # (step, total_steps, metrics so far)


def load_demonstrations(path: str | Path) -> list[dict]:
    """The ``{"prompt", "response", ...}`` lines of a JSONL file (blank lines skipped).

    Raises InputError naming the file and line of the first bad line, or an unreadable/empty file.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read demonstrations: {exc.strerror}", path=str(path)) from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc.msg})", path=str(path), line=number) from None
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str) \
                or not isinstance(row.get("response"), str):
            raise InputError("expected an object with string 'prompt' and 'response'", path=str(path), line=number)
        rows.append(row)
    if not rows:
        raise InputError("no demonstrations in file", path=str(path))
    return rows


def encode_demonstration(tokenizer, prompt: str, response: str, max_length: int) -> tuple[list, list]:
    """(input_ids, labels) for one demonstration; labels are -100 on prompt tokens.

    The sequence is truncated to ``max_length`` tokens, so an over-long response loses its end.
    """
    prompt_ids = tokenizer(format_prompt(prompt), add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(format_response(response), add_special_tokens=False)["input_ids"]
    ids = (prompt_ids + response_ids)[:max_length]
    labels = ([-100] * len(prompt_ids) + response_ids)[:max_length]
    return ids, labels


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


@torch.no_grad()
def mean_loss(model, examples: list, pad_id: int, batch_size: int) -> float:
    """Token-weighted mean cross-entropy of ``model`` on response tokens of ``examples``."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(examples), batch_size):
        batch = {k: v.to(model.device) for k, v in collate(examples[start : start + batch_size], pad_id).items()}
        tokens = int((batch["labels"][:, 1:] != -100).sum())
        total += float(model(**batch).loss) * tokens
        count += tokens
    model.train()
    return total / max(1, count)


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


def _train(config: BootstrapConfig, demonstrations: list[dict], progress: ProgressCallback | None) -> tuple[Path, dict]:
    size = POLICY_SIZES[config.size]
    torch.manual_seed(config.seed)
    rows = list(demonstrations)
    random.Random(config.seed).shuffle(rows)
    n_eval = int(len(rows) * config.eval_fraction) if len(rows) > 20 else 0
    eval_rows, train_rows = rows[:n_eval], rows[n_eval:]

    started = time.perf_counter()
    tokenizer = train_bpe_tokenizer((format_example(r["prompt"], r["response"]) for r in train_rows),
                                    vocab_size=config.vocab_size, model_max_length=size.n_positions)
    train_examples, eval_examples = ([encode_demonstration(tokenizer, r["prompt"], r["response"], size.n_positions)
                                      for r in part] for part in (train_rows, eval_rows))
    device = policy_device()
    model = build_policy(size, tokenizer, config.dropout).to(device)
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    others = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": matrices, "weight_decay": config.weight_decay},
                                   {"params": others, "weight_decay": 0.0}], lr=config.learning_rate)
    order = torch.Generator().manual_seed(config.seed)
    history, smoothed = [], None
    model.train()
    for step in range(config.steps):
        picks = torch.randint(len(train_examples), (config.batch_size,), generator=order).tolist()
        batch = {k: v.to(device) for k, v in collate([train_examples[i] for i in picks], tokenizer.pad_token_id).items()}
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, config)
        loss = model(**batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        value = loss.item()
        smoothed = value if smoothed is None else 0.95 * smoothed + 0.05 * value
        if step == 0 or (step + 1) % max(1, config.steps // 20) == 0 or step + 1 == config.steps:
            history.append({"step": step + 1, "sft/loss": value, "sft/loss_smoothed": smoothed})
        if progress:
            progress(step + 1, config.steps, {"sft/loss": smoothed})
    model.eval()

    metrics = {
        "sft/first_loss": history[0]["sft/loss"],
        "sft/final_loss": smoothed,
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
    from modeling.instructions import generate_prompts, gold_score, instruction_type

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
    """Write the checkpoint beside ``out_dir`` and move it into place only once it is complete."""
    staged = staging_directory(config.out_dir)
    try:
        model.save_pretrained(staged)
        tokenizer.save_pretrained(staged)
        saved = config_to_dict(config)
        saved["values"]["policy_size"] = asdict(POLICY_SIZES[config.size])
        write_json(staged / "training_config.json", saved)
        write_json(staged / "metrics.json", metrics)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return publish_directory(staged, config.out_dir)

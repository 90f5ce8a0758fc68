"""Reward-model training: (config, rankings, progress_callback) -> (checkpoint directory, metrics).

Each step scores the K completions of a few whole prompt groups (one forward pass per completion)
and applies the grouped Bradley-Terry loss to all their comparisons. With ``prefix_sharing`` (the
default) a decoder reward model encodes each group's common token prefix (its prompt) once and scores
the completions against its cache (:mod:`modeling.models.prefix_sharing`), in training and validation:
the same scores. An encoder (the default MiniLM) has no causal cache, so there the setting is ignored
rather than refused (it is on by default, and the same config then serves either kind of base); it is
also ignored under several processes (as DPO does) and with gradient checkpointing (which runs the
blocks without a cache). ``perf/prefix_sharing`` in the metrics says whether it was used.

Prompts are split into training and validation; held-out metrics are ``reward/loss``,
``reward/accuracy``, ``reward/margin``, ``reward/ece`` (expected calibration error of the pair
probabilities ``sigmoid(r_better - r_worse)``, :mod:`modeling.training.calibration`) and
``reward/agreement/<labeler>``. ``ensemble`` / ``ensemble_heads`` > 1 train an ensemble instead
(:mod:`modeling.training.reward_ensemble`). After training the reward
is shifted so the scores of all completions seen (the policy's samples) average 0. The output
directory is a plain Hugging Face checkpoint plus ``training_config.json`` and ``metrics.json``
(with history).
"""
from __future__ import annotations

import dataclasses
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Sequence

import torch

from modeling.models import checkpoints, lora
from modeling.errors import InputError
from modeling.formats.comparisons import (ComparisonGroup, batch_groups, collate_groups, epoch_batches, group_rankings,
                                  tokenize_groups)
from modeling.training.labeler_reliability import LabelerReliability
from modeling.training.out_of_fold_reliability import check_reliability_settings, out_of_fold_reliability
from modeling.training.losses import (grouped_bradley_terry_loss, noisy_bradley_terry_loss, pairwise_accuracy,
                                       reward_centering_loss)
from modeling.formats.rankings import Ranking
from modeling.training.calibration import expected_calibration_error
from modeling.training.reward_config import RewardConfig
from modeling.models.prefix_sharing import prefix_sharing_applies, shared_prefix_scores, split_shared_prefixes
from modeling.models.reward_model import (default_base_model, is_decoder_reward_model, load_reward_model,
                                          score_sequences, shift_reward)
from modeling.formats.conversation import prompt_sort_key
from modeling.training.distributed import Distributed
from modeling.training.seeding import seed_everything

ProgressCallback = Callable[[int, int, dict], None]  # (step done, total steps, latest metrics)


def split_by_prompt(groups: Sequence[ComparisonGroup], fraction: float, seed: int):
    """(train, validation) groups; all groups of one prompt fall on the same side."""
    prompts = sorted({g.prompt for g in groups}, key=prompt_sort_key)
    random.Random(seed).shuffle(prompts)
    count = round(fraction * len(prompts))
    if fraction > 0 and len(prompts) >= 2:
        count = min(max(count, 1), len(prompts) - 1)
    held_out = set(prompts[:count])
    return [g for g in groups if g.prompt not in held_out], [g for g in groups if g.prompt in held_out]


def common_prefix_length(sequences: Sequence[Sequence[int]]) -> int:
    """Tokens that all ``sequences`` start with: a group's prompt (and any start its completions share).
    Found from the tokens, so it holds for a text pair, a chat template and truncation alike."""
    shortest = min(len(s) for s in sequences)
    for position in range(shortest):
        token = sequences[0][position]
        if any(s[position] != token for s in sequences):
            return position
    return shortest


def score_groups(model, groups: Sequence[ComparisonGroup], indexes: Sequence[int], pad_token_id: int, batch,
                 prefix_sharing: bool) -> torch.Tensor:
    """Rewards of the completions of groups ``indexes``, stacked as ``batch`` (their :func:`collate_groups`)
    stacks them ``(N,)``: every sequence whole, or (``prefix_sharing``, decoders only) each group's common
    prefix once, the rest against its cache. Both give the same numbers."""
    if not prefix_sharing:
        return score_sequences(model, batch.input_ids, batch.attention_mask)
    sequences = [ids for i in indexes for ids in groups[i].input_ids]
    # split_shared_prefixes cuts at length - 1, so every row keeps at least one token to be scored at
    lengths = [common_prefix_length(groups[i].input_ids) for i in indexes for _ in groups[i].input_ids]
    split = split_shared_prefixes(sequences, lengths, pad_token_id).to(batch.input_ids.device)
    return shared_prefix_scores(model, split)


@torch.no_grad()
def scored_batches(model, groups: Sequence[ComparisonGroup], pad_token_id: int, *, completions_per_batch: int = 128,
                   device: torch.device | str = "cpu", bf16: bool = True, prefix_sharing: bool = False):
    """Yield ``(batch, rewards (N,) fp32)`` over ``groups`` (whole groups per batch), the model in eval mode."""
    device = torch.device(device)
    was_training = model.training
    model.eval()
    try:
        for indexes in batch_groups(groups, completions_per_batch):
            batch = collate_groups([groups[i] for i in indexes], pad_token_id).to(device)
            with lora.autocast(device, bf16):
                yield batch, score_groups(model, groups, indexes, pad_token_id, batch, prefix_sharing).float()
    finally:
        model.train(was_training)


def evaluate(model, groups: Sequence[ComparisonGroup], pad_token_id: int, *, completions_per_batch: int = 128,
             device: torch.device | str = "cpu", bf16: bool = True, prefix_sharing: bool = False) -> dict[str, float]:
    """Held-out metrics over ``groups``: grouped BT loss, pair accuracy, mean margin, per-labeler agreement."""
    loss_sum, num_groups = 0.0, 0
    correct, margins, labelers = [], [], []
    for batch, rewards in scored_batches(model, groups, pad_token_id, completions_per_batch=completions_per_batch,
                                         device=device, bf16=bf16, prefix_sharing=prefix_sharing):  # rewards (N,)
        loss = grouped_bradley_terry_loss(rewards, batch.better, batch.worse, batch.pair_group, batch.num_groups)
        loss_sum += loss.item() * batch.num_groups
        num_groups += batch.num_groups
        correct.append(pairwise_accuracy(rewards, batch.better, batch.worse).cpu())
        margins.append((rewards[batch.better] - rewards[batch.worse]).cpu())
        labelers += batch.labelers
    if not labelers:
        return {}
    correct_all, margin_all = torch.cat(correct), torch.cat(margins)  # (P,)
    metrics = {
        "reward/loss": loss_sum / num_groups,
        "reward/accuracy": correct_all.mean().item(),
        "reward/margin": margin_all.mean().item(),
        "reward/ece": expected_calibration_error(torch.sigmoid(margin_all)),  # of sigmoid(r_better - r_worse)
        "reward/pairs": float(len(labelers)),
    }
    return {**metrics, **labeler_agreement(labelers, correct_all.tolist())}


def labeler_agreement(labelers: Sequence[str], hits: Sequence[float]) -> dict[str, float]:
    """``reward/agreement/<labeler>``: the share of each labeler's pairs (``labelers``, ``hits`` (P,)) that
    the model orders as the labeler did."""
    by_labeler = defaultdict(list)
    for labeler, hit in zip(labelers, hits):
        by_labeler[labeler].append(hit)
    return {f"reward/agreement/{labeler}": sum(h) / len(h) for labeler, h in sorted(by_labeler.items())}


@torch.no_grad()
def mean_completion_score(model, groups: Sequence[ComparisonGroup], pad_token_id: int, *,
                          completions_per_batch: int = 128, device: torch.device | str = "cpu") -> float:
    """Mean reward over every completion of ``groups`` (each scored once), in fp32."""
    device = torch.device(device)
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    order = sorted(range(len(groups)), key=lambda i: groups[i].max_length)
    for start in range(0, len(order), max(1, completions_per_batch // 9)):
        chunk = [groups[i] for i in order[start : start + max(1, completions_per_batch // 9)]]
        batch = collate_groups(chunk, pad_token_id).to(device)
        rewards = score_sequences(model, batch.input_ids, batch.attention_mask)  # (N,)
        total += rewards.float().sum().item()
        count += rewards.numel()
    model.train(was_training)
    return total / max(count, 1)


def train_reward_model(
    config: RewardConfig,
    rankings: Sequence[Ranking],
    progress_callback: ProgressCallback | None = None,
    split: Callable[[list[ComparisonGroup]], tuple[list, list]] | None = None,
) -> tuple[Path, dict]:
    """Train, validate, centre and save a reward model; resumes from ``output_dir``'s last checkpoint.
    ``split``: tokenized groups -> (train, validation) instead of :func:`split_by_prompt` (an ensemble
    member's bootstrap resample). ``config.ensemble`` or ``ensemble_heads`` > 1: an ensemble instead
    (:mod:`modeling.training.reward_ensemble`)."""
    if not config.output_dir:
        raise ValueError("RewardConfig.output_dir is required")
    if config.ensemble != 1 or config.ensemble_heads != 1:
        from modeling.training.reward_ensemble import train_reward_ensemble

        return train_reward_ensemble(config, rankings, progress_callback)
    check_reliability_settings(config)
    seed_everything(config.seed)
    dist = Distributed(config.device)  # one process, or one of an accelerate launch (modeling.training.distributed)
    check_reliability_settings(config, dist.world_size)
    device = dist.device
    lora.check_lora_settings(config, device)
    model, tokenizer = load_reward_model(config.base_model or default_base_model(),
                                         disable_dropout=config.disable_dropout, load_in_4bit=config.load_in_4bit,
                                         device=device)
    model = lora.prepare_for_training(model, config, "SEQ_CLS")
    if not config.load_in_4bit:
        model.to(device)
    model.train()
    if config.prefix_sharing and not (is_decoder_reward_model(model) and prefix_sharing_applies(
            world_size=dist.world_size, gradient_checkpointing=config.gradient_checkpointing)):
        config = dataclasses.replace(config, prefix_sharing=False)  # ignored: see the module docstring
    pad_id = tokenizer.pad_token_id
    groups = tokenize_groups(group_rankings(rankings), tokenizer, config.max_length)
    train_groups, val_groups = (split(groups) if split else
                                split_by_prompt(groups, config.validation_fraction, config.seed))
    if not any(g.num_pairs for g in train_groups):
        raise InputError("no comparisons to train on: every training ranking is a full tie")

    def validate(history: list, step: int) -> dict:
        found = evaluate(model, val_groups, pad_id, completions_per_batch=2 * config.completions_per_batch,
                         device=device, bf16=config.bf16, prefix_sharing=config.prefix_sharing)
        if found:
            history.append({"step": step, **found})
        return found

    fixed_eta = (out_of_fold_reliability(config, rankings, train_groups, pad_id, device)
                 if config.labeler_reliability and config.reliability_method == "out_of_fold" else None)
    step, history, latest, perf = _optimize(config, model, train_groups, pad_id, dist, validate, progress_callback,
                                            fixed_eta)
    if not dist.is_main:  # the main process validates, centres and publishes; the others are done
        dist.wait()
        return Path(config.output_dir), {}
    validated_last = history and history[-1]["step"] == step and "reward/accuracy" in history[-1]
    final = {k: v for k, v in history[-1].items() if k != "step"} if validated_last else validate(history, step)
    offset, shifted = _center(model, groups, pad_id, 2 * config.completions_per_batch, device)
    metrics = {
        **final,
        "reward/train_loss": latest.get("reward/train_loss", float("nan")),
        "reward/offset": offset,  # mean score before centring; the saved model averages 0 unless "unshifted"
        "reward/steps": step,
        "reward/train_groups": len(train_groups),
        "reward/validation_groups": len(val_groups),
        "reward/train_comparisons": perf["train_comparisons"],
        "world_size": dist.world_size,
        **({"reward/labeler_reliability": perf["labeler_reliability"]} if "labeler_reliability" in perf else {}),
        "perf/prefix_sharing": float(config.prefix_sharing),  # 0 where it was asked for but did not apply
        "perf/train_seconds": perf["train_seconds"],
        "perf/train_cpu_seconds": perf["train_cpu_seconds"],  # this process's CPU time: robust to a busy machine
        "perf/comparisons_per_second": (perf["train_comparisons"] / perf["train_seconds"] if perf["train_seconds"]
                                        else 0.0),
    }
    merged = ((lambda staged: lora.save_merged(model, tokenizer, staged)) if config.merge and lora.is_lora(model)
              else None)
    out = checkpoints.publish_model(config.output_dir, model, tokenizer,
                                    {**checkpoints.config_to_dict(config), "reward_shift": shifted,
                                     "device": str(device)},
                                    {"final": metrics, "history": history}, extra=merged)
    dist.wait()
    return out, {**metrics, "history": history}


def _optimize(config: RewardConfig, model, train_groups, pad_id: int, dist: Distributed, validate,
              progress_callback, fixed_eta: dict[str, float] | None = None) -> tuple[int, list, dict, dict]:
    """The optimizer steps, resumed from the last checkpoint, validating every ``eval_every`` steps (or
    each epoch): ``(steps, history, last metrics, {"train_seconds", "train_cpu_seconds", "train_comparisons"})``.
    ``fixed_eta``: the labelers' reliabilities held constant in the noisy-BT loss (out of fold)."""
    from transformers import get_linear_schedule_with_warmup

    device = dist.device
    packed = batch_groups(train_groups, config.completions_per_batch, shuffle=True, seed=config.seed)
    steps_per_epoch = len(packed)  # the same every epoch: only the batch order changes (seeded, so resume agrees)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps) if config.epochs else config.max_steps
    trainable = lora.trainable_parameters(model)
    reliability = _reliability(config, train_groups, device, fixed_eta)
    learnt = reliability is not None and fixed_eta is None
    param_groups = [{"params": trainable}] + ([] if not learnt else [
        {"params": list(reliability.parameters()), "lr": config.reliability_learning_rate, "weight_decay": 0.0}])
    optimizer = torch.optim.AdamW(param_groups, lr=config.learning_rate, weight_decay=config.weight_decay,
                                  fused=True)  # one kernel for all parameters, on CPU and CUDA alike
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)

    step, history, perf = 0, [], {"train_seconds": 0.0, "train_cpu_seconds": 0.0, "train_comparisons": 0}
    resume_from = checkpoints.latest_checkpoint(config.output_dir)
    if resume_from is not None:
        step, extra = checkpoints.load_checkpoint(resume_from, model=model, optimizer=optimizer, scheduler=scheduler)
        history, perf = extra["history"], {key: extra[key] for key in perf}
        if reliability is not None and "reliability_logits" in extra:
            reliability.logits.data.copy_(torch.tensor(extra["reliability_logits"]))
    trained, optimizer = dist.prepare(model, optimizer)  # trained: model itself, or its DDP/FSDP wrapper

    batches, batches_epoch, latest = [], -1, {}
    while step < total_steps:
        epoch = step // steps_per_epoch
        if epoch != batches_epoch:
            batches, batches_epoch = epoch_batches(packed, epoch, config.seed), epoch
        started, started_cpu = time.perf_counter(), time.process_time()
        indexes = batches[step % steps_per_epoch]
        mine, weight = dist.shard(indexes)
        batch = collate_groups([train_groups[i] for i in mine], pad_id).to(device)
        with lora.autocast(device, config.bf16):
            rewards = score_groups(trained, train_groups, mine, pad_id, batch, config.prefix_sharing).float()  # (N,)
        if reliability is None:
            loss = grouped_bradley_terry_loss(rewards, batch.better, batch.worse, batch.pair_group, batch.num_groups)
        else:
            loss = noisy_bradley_terry_loss(rewards, batch.better, batch.worse, batch.pair_group, batch.num_groups,
                                            reliability.pair_logits(batch.labelers))
            if learnt:
                loss = loss + reliability.prior_penalty()
        if config.center_coefficient:
            loss = loss + reward_centering_loss(rewards, config.center_coefficient)
        optimizer.zero_grad(set_to_none=True)
        dist.backward(loss * weight)
        if learnt and dist.world_size > 1:  # DDP averages the model's gradients, not these
            reliability.logits.grad = dist.all_reduce_sum(reliability.logits.grad) / dist.world_size
        if config.max_grad_norm:
            dist.clip_grad_norm_(trainable, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        step += 1
        perf["train_seconds"] += time.perf_counter() - started
        perf["train_cpu_seconds"] += time.process_time() - started_cpu
        perf["train_comparisons"] += sum(train_groups[i].num_pairs for i in indexes)
        latest = {**dist.global_metrics({"reward/train_loss": loss.item()}, weight),
                  "reward/learning_rate": scheduler.get_last_lr()[0]}
        if step % config.log_every == 0 or step == total_steps:
            history.append({"step": step, "epoch": step / steps_per_epoch, **latest})
        end_of_epoch = step % steps_per_epoch == 0
        if (config.eval_every and step % config.eval_every == 0) or (not config.eval_every and end_of_epoch):
            latest.update(validate(history, step))
        if config.checkpoint_every and step % config.checkpoint_every == 0 and step < total_steps and dist.is_main:
            checkpoints.save_checkpoint(config.output_dir, step=step, model=model, optimizer=optimizer,
                                        scheduler=scheduler, config=config, extra={"history": history, **perf,
                                                                                   **_reliability_state(reliability)})
        if progress_callback is not None and dist.is_main:
            progress_callback(step, total_steps, latest)
    if reliability is not None:
        perf["labeler_reliability"] = reliability.estimates()
    return step, history, latest, perf


def _reliability(config: RewardConfig, train_groups, device, fixed_eta: dict | None = None) -> LabelerReliability | None:
    """The per-labeler reliability trained with the reward (or held at ``fixed_eta``), or None when
    ``labeler_reliability`` is off."""
    if not config.labeler_reliability:
        return None
    labelers = [name for group in train_groups for name in group.labelers]
    reliability = LabelerReliability(labelers, prior_mean=config.reliability_prior_mean,
                                     prior_strength=config.reliability_prior_strength)
    if fixed_eta is not None:
        reliability.hold(fixed_eta)
    return reliability.to(device)


def _reliability_state(reliability: LabelerReliability | None) -> dict:
    return {} if reliability is None else {"reliability_logits": reliability.logits.detach().cpu().tolist()}


def _center(model, groups, pad_id: int, completions_per_batch: int, device) -> tuple[float, str]:
    """Shift the score head so the mean completion score is 0: ``(offset removed, how it was shifted)``.
    A shift that did not move a sample's scores by exactly ``-offset`` (architectures vary) is undone
    and reported as ``"unshifted"``."""
    offset = mean_completion_score(model, groups, pad_id, completions_per_batch=completions_per_batch, device=device)
    sample = groups[:8]
    before = mean_completion_score(model, sample, pad_id, device=device)
    shifted = shift_reward(model, offset)
    after = mean_completion_score(model, sample, pad_id, device=device)
    if shifted != "unshifted" and abs(after - (before - offset)) > 1e-3 * max(1.0, abs(offset)):
        shift_reward(model, -offset)
        shifted = "unshifted"
    return offset, shifted

"""The cheap ensemble (``train-reward --ensemble-heads N``): one shared encoder with N linear heads.

Choices:

- The base loads as a sequence classifier with ``num_labels = N``: output h is head h's score, so one
  forward pass scores every completion under every head, and the saved directory is an ordinary
  Hugging Face checkpoint (``config.json`` says ``num_labels: N``) plus ``ensemble.json`` with
  ``"form": "heads"`` (:mod:`modeling.models.reward_ensemble` loads it back).
- Head h's bootstrap: a Poisson(1) weight per *training prompt* (all of a prompt's groups share it, as a
  full member draws whole prompts), drawn once from ``torch.Generator`` seeded with ``seed``; a prompt
  with weight 0 is out of that head's sample. The loss is :func:`heads_bootstrap_loss`.
- The split (``validation_fraction``, ``seed``), batches, optimizer and schedule are the single-model
  trainer's. Unlike it: one process, no resume checkpoints, no prefix sharing (an encoder has none), and
  no per-labeler reliability weighting (``labeler_reliability`` is ignored here; full members honour it).
- After training each head's bias is lowered by that head's mean score over every completion, so each
  averages 0; a head without a bias (a GPT-2 ``score``) is left as it is and its offsets are reported.
"""
from __future__ import annotations

import time
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from modeling.errors import InputError
from modeling.formats.comparisons import batch_groups, collate_groups, epoch_batches, group_rankings, tokenize_groups
from modeling.formats.rankings import Ranking
from modeling.models import checkpoints, lora
from modeling.models.reward_ensemble import FORMAT, RewardEnsemble, write_manifest
from modeling.models.reward_model import default_base_model, load_reward_model, score_sequences
from modeling.training.distributed import Distributed
from modeling.training.losses import reward_centering_loss
from modeling.training.reward_config import RewardConfig
from modeling.training.seeding import seed_everything


def heads_bootstrap_loss(rewards: torch.Tensor, better: torch.Tensor, worse: torch.Tensor, pair_group: torch.Tensor,
                         group_weights: torch.Tensor) -> torch.Tensor:
    """Grouped Bradley-Terry loss of H heads, each group weighted per head by its bootstrap weight.

        loss = 1/H sum_h 1/G sum_g w_gh * [ -1/P_g sum_{(b,w) in g} log sigmoid(r_bh - r_wh) ]

    ``rewards`` (N, H); ``better``/``worse``/``pair_group`` (P,) as in
    :func:`modeling.training.losses.grouped_bradley_terry_loss`; ``group_weights`` (G, H). With every
    weight 1 each head's term is that loss.
    """
    pair_loss = -F.logsigmoid(rewards[better] - rewards[worse])  # (P, H)
    groups, heads = group_weights.shape
    group_sum = torch.zeros(groups, heads, dtype=pair_loss.dtype, device=pair_loss.device)
    group_sum = group_sum.index_add(0, pair_group, pair_loss)  # (G, H)
    pairs_per_group = torch.bincount(pair_group, minlength=groups).clamp(min=1)  # (G,)
    return (group_weights * group_sum / pairs_per_group[:, None]).mean()


def bootstrap_weights(groups, heads: int, seed: int) -> torch.Tensor:
    """Poisson(1) weight per (prompt, head), given to each of the prompt's groups: (len(groups), heads)."""
    from modeling.formats.conversation import prompt_sort_key

    prompts = sorted({g.prompt for g in groups}, key=prompt_sort_key)
    generator = torch.Generator().manual_seed(seed)
    per_prompt = torch.poisson(torch.ones(len(prompts), heads), generator=generator)  # (prompts, H)
    row = {prompt: i for i, prompt in enumerate(prompts)}
    return per_prompt[[row[g.prompt] for g in groups]]  # (G, H)


def _heads_layer(model, heads: int) -> nn.Linear:
    layers = [m for m in model.modules() if isinstance(m, nn.Linear) and m.out_features == heads]
    if not layers:
        raise ValueError(f"no {heads}-output linear head found on the reward model")
    return layers[-1]


def train_reward_heads(config: RewardConfig, rankings: Sequence[Ranking], progress_callback=None):
    """Train, centre and save N heads over one encoder: ``(OUT, metrics)`` (module docstring)."""
    from modeling.training.reward_ensemble import held_out_metrics
    from modeling.training.reward_training import split_by_prompt

    heads = config.ensemble_heads
    seed_everything(config.seed)
    dist = Distributed(config.device)
    if dist.world_size > 1:
        raise InputError("--ensemble-heads trains in one process (not under accelerate launch)")
    device = dist.device
    lora.check_lora_settings(config, device)
    model, tokenizer = load_reward_model(config.base_model or default_base_model(),
                                         disable_dropout=config.disable_dropout, load_in_4bit=config.load_in_4bit,
                                         device=device, num_labels=heads)
    model = lora.prepare_for_training(model, config, "SEQ_CLS")
    if not config.load_in_4bit:
        model.to(device)
    model.train()
    groups = tokenize_groups(group_rankings(rankings), tokenizer, config.max_length)
    train_groups, val_groups = split_by_prompt(groups, config.validation_fraction, config.seed)
    if not any(g.num_pairs for g in train_groups):
        raise InputError("no comparisons to train on: every training ranking is a full tie")
    weights = bootstrap_weights(train_groups, heads, config.seed).to(device)  # (G_train, H)
    step, seconds, cpu_seconds, latest = _optimize_heads(config, model, train_groups, weights, tokenizer.pad_token_id,
                                                         device, progress_callback)
    model.eval()
    ensemble = RewardEnsemble(models=[(model, tokenizer, heads)], max_length=config.max_length, device=device)
    layer = _heads_layer(model, heads)
    offsets = ensemble.member_scores([g.prompt for g in groups for _ in g.completions],
                                     [c for g in groups for c in g.completions],
                                     batch_size=2 * config.completions_per_batch).mean(dim=0)  # (H,)
    shifted = layer.bias is not None
    if shifted:
        with torch.no_grad():
            layer.bias -= offsets.to(layer.bias.dtype).to(layer.bias.device)
    metrics = {
        **held_out_metrics(ensemble, rankings, config),
        "reward/train_loss": latest,
        "reward/offsets": offsets.tolist(),  # mean score of each head before centring
        "reward/steps": step,
        "reward/train_groups": len(train_groups),
        "reward/validation_groups": len(val_groups),
        "reward/bootstrap_weight_mean": weights.mean().item(),
        "perf/train_seconds": seconds,
        "perf/train_cpu_seconds": cpu_seconds,
    }
    manifest = {"format": FORMAT, "version": 1, "form": "heads", "heads": heads, "seed": config.seed,
                "resample": "poisson(1) weight per training prompt and head, torch.Generator(seed)",
                "centred": shifted}

    def extra(staged):
        write_manifest(staged, manifest)
        if config.merge and lora.is_lora(model):
            lora.save_merged(model, tokenizer, staged)

    out = checkpoints.publish_model(config.output_dir, model, tokenizer,
                                    {**checkpoints.config_to_dict(config), "reward_shift": "head.bias" if shifted
                                     else "unshifted", "device": str(device)},
                                    {"final": metrics}, extra=extra)
    return out, metrics


def _optimize_heads(config: RewardConfig, model, train_groups, weights, pad_id: int, device, progress_callback):
    """The single-model trainer's steps with :func:`heads_bootstrap_loss`: (steps, seconds, CPU seconds, last loss)."""
    from transformers import get_linear_schedule_with_warmup

    packed = batch_groups(train_groups, config.completions_per_batch, shuffle=True, seed=config.seed)
    total_steps = len(packed) * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps) if config.epochs else config.max_steps
    trainable = lora.trainable_parameters(model)
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay, fused=True)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    started, started_cpu, loss_value, batches = time.perf_counter(), time.process_time(), float("nan"), []
    for step in range(total_steps):
        if step % len(packed) == 0:
            batches = epoch_batches(packed, step // len(packed), config.seed)
        indexes = batches[step % len(packed)]
        batch = collate_groups([train_groups[i] for i in indexes], pad_id).to(device)
        with lora.autocast(device, config.bf16):
            rewards = score_sequences(model, batch.input_ids, batch.attention_mask, all_heads=True).float()  # (N, H)
        loss = heads_bootstrap_loss(rewards, batch.better, batch.worse, batch.pair_group, weights[indexes])
        if config.center_coefficient:
            loss = loss + reward_centering_loss(rewards, config.center_coefficient)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        loss_value = loss.item()
        if progress_callback is not None:
            progress_callback(step + 1, total_steps, {"reward/train_loss": loss_value,
                                                      "reward/learning_rate": scheduler.get_last_lr()[0]})
    return total_steps, time.perf_counter() - started, time.process_time() - started_cpu, loss_value

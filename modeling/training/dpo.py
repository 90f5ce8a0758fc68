"""DPO round: (config, rankings, progress_callback) -> (policy checkpoint directory, metrics).

Rankings are grouped per prompt exactly as for the reward model (:mod:`modeling.formats.comparisons`): each
step runs one policy forward per completion of a few whole groups and applies the chosen loss to all
the groups' comparisons. The frozen reference is the starting policy; its log-probs are computed once
per completion before training and cached in ``OUT/reference_logprobs.pt`` (kept in the finished
checkpoint), so the reference model is only loaded again to estimate KL on fresh samples. With LoRA
(``lora_r`` > 0) from a full checkpoint the reference is the base with the adapter disabled, for the
cache and the KL estimate alike: one copy of the base in memory.

With ``stop_patience`` a share of the ranking groups is held out and the round stops early on the
implicit reward's held-out accuracy, publishing the best evaluation's policy (:mod:`modeling.training.dpo_guard`).

Output directory: a Hugging Face policy checkpoint (a peft adapter directory with LoRA, and a full
merged checkpoint in ``merged/`` with ``merge``) plus ``training_config.json`` (config with help,
inputs), ``metrics.json`` (final + history) and ``reference_logprobs.pt``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import hashlib
import time
from pathlib import Path
from typing import Callable, Sequence

import torch

from modeling.models import checkpoints, lora
from modeling.formats.comparisons import ComparisonGroup, batch_groups, collate_groups, epoch_batches, group_rankings
from modeling.formats.chat_format import encode_examples
from modeling.models.kl import estimate_kl
from modeling.models.logprobs import sequence_logprobs
from modeling.models.prefix_sharing import (
    prefix_sharing_applies, shared_prefix_sequence_logprobs, split_shared_prefixes,
)
from modeling.training.policy_losses import DPO_LOSSES, DPOOutput, preferred_nll_loss, ranking_ids
from modeling.models.policy_model import load_policy
from modeling.training.seeding import seed_everything
from modeling.training.dpo_config import DPOConfig  # noqa: F401  (re-exported)
from modeling.formats.rankings import Ranking
from modeling.training.distributed import Distributed
from modeling.training.dpo_guard import DPOGuard, no_guard_metrics, split_heldout, stop_rule_error

ProgressCallback = Callable[[int, int, dict], None]  # (step done, total steps, latest metrics)
REFERENCE_FILE = "reference_logprobs.pt"


def tokenize_policy_groups(groups: Sequence[ComparisonGroup], tokenizer, max_length: int) -> list[list[int]]:
    """Fill each group's ``input_ids`` with policy tokens; returns each group's prompt lengths."""
    prompt_lengths = []
    for group in groups:
        encoded = encode_examples(tokenizer, group.prompt, group.completions, max_length)
        group.input_ids = [ids for ids, _ in encoded]
        prompt_lengths.append([n for _, n in encoded])
    return prompt_lengths


def completion_mask_for(attention_mask: torch.Tensor, prompt_lengths: Sequence[int]) -> torch.Tensor:
    """1 on completion tokens of right-padded rows whose first ``prompt_lengths[row]`` are prompt."""
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device).unsqueeze(0)  # (1, L)
    starts = torch.tensor(prompt_lengths, device=attention_mask.device).unsqueeze(1)  # (N, 1)
    return ((positions >= starts) & attention_mask.bool()).long()


def _fingerprint(groups: Sequence[ComparisonGroup]) -> str:
    digest = hashlib.sha256()
    for group in groups:
        for ids in group.input_ids:
            digest.update(str(ids).encode())
    return digest.hexdigest()


def completion_logprobs(model, groups, indexes, prompt_lengths, pad_id, device, prefix_sharing: bool,
                        batch=None) -> torch.Tensor:
    """``log pi(completion | prompt)`` of the completions of groups ``indexes``, stacked as
    :func:`collate_groups` stacks them ``(N,)``: each prompt encoded once and its completions run against
    its cache (:mod:`modeling.models.prefix_sharing`), or every sequence whole (``batch``, collated here
    when not given). Both give the same numbers."""
    lengths = [n for i in indexes for n in prompt_lengths[i]]
    if prefix_sharing:
        sequences = [ids for i in indexes for ids in groups[i].input_ids]
        return shared_prefix_sequence_logprobs(model, split_shared_prefixes(sequences, lengths, pad_id).to(device))
    batch = batch if batch is not None else collate_groups([groups[i] for i in indexes], pad_id).to(device)
    return sequence_logprobs(model, batch.input_ids, batch.attention_mask,
                             completion_mask_for(batch.attention_mask, lengths))


@torch.no_grad()
def reference_logprobs(model, groups, prompt_lengths, pad_id, device, completions_per_batch=64,
                       prefix_sharing: bool = False) -> list[list[float]]:
    """``log pi_ref(completion | prompt)`` of every completion of every group, one forward each."""
    model.eval()
    result: list[list[float]] = [[] for _ in groups]
    for batch_indexes in batch_groups(groups, completions_per_batch):  # groups without pairs are skipped
        logps = completion_logprobs(model, groups, batch_indexes, prompt_lengths, pad_id, device,
                                    prefix_sharing).tolist()
        for i in batch_indexes:
            k = len(groups[i].completions)
            result[i], logps = logps[:k], logps[k:]
    return result


def dpo_batch_loss(model, groups, indexes, prompt_lengths, reference, config: DPOConfig, pad_id, device) -> DPOOutput:
    """The configured loss over the groups ``indexes``: one policy forward per completion (each prompt
    once with ``config.prefix_sharing``)."""
    batch = collate_groups([groups[i] for i in indexes], pad_id).to(device)
    policy_logps = completion_logprobs(model, groups, indexes, prompt_lengths, pad_id, device,
                                       config.prefix_sharing, batch)  # (N,)
    reference_logps = torch.tensor([x for i in indexes for x in reference[i]], device=device)  # (N,)
    args = (policy_logps, reference_logps, batch.better, batch.worse, batch.pair_group, batch.num_groups)
    weight = (torch.tensor([float(config.labeler_weights.get(name, 1.0)) for name in batch.labelers], device=device)
              if config.labeler_weights else None)  # (P,)
    if config.loss_type == "plackett_luce":
        rankings = ranking_ids(batch.pair_group, batch.labelers).to(device)
        out = DPO_LOSSES["plackett_luce"](*args, rankings, beta=config.beta, pair_weight=weight)
    else:
        out = DPO_LOSSES[config.loss_type](*args, beta=config.beta, pair_weight=weight)
    if config.rpo_alpha:
        lengths = [n for i in indexes for n in prompt_lengths[i]]
        completion_lengths = completion_mask_for(batch.attention_mask, lengths).sum(dim=1)  # (N,)
        nll = preferred_nll_loss(policy_logps, completion_lengths, batch.better)
        out = dataclasses.replace(out, loss=out.loss + config.rpo_alpha * nll)
    return out


def _metrics(out: DPOOutput, prefix: str = "dpo/") -> dict:
    return {f"{prefix}loss": out.loss.item(), f"{prefix}accuracy": out.accuracy.item(),
            f"{prefix}chosen_reward": out.chosen_reward.item(), f"{prefix}rejected_reward": out.rejected_reward.item(),
            f"{prefix}margin": out.margin.item()}


@torch.no_grad()
def evaluate(model, groups, prompt_lengths, reference, config: DPOConfig, pad_id, device) -> dict:
    """``dpo/eval/*``: loss, accuracy, rewards and margin of the current policy over all the round's
    groups (the training rankings; a pair-weighted mean over batches). At the start the margin is 0."""
    model.eval()
    totals: dict[str, float] = {}
    pairs = 0
    for indexes in batch_groups(groups, 2 * config.completions_per_batch):
        out = dpo_batch_loss(model, groups, indexes, prompt_lengths, reference, config, pad_id, device)
        n = sum(groups[i].num_pairs for i in indexes)
        for key, value in _metrics(out, "dpo/eval/").items():
            totals[key] = totals.get(key, 0.0) + value * n
        pairs += n
    model.train()
    return {key: value / max(pairs, 1) for key, value in totals.items()}


@dataclass
class _Round:
    """What every stage of a DPO round works on."""

    config: DPOConfig
    model: torch.nn.Module
    tokenizer: object
    groups: list
    prompt_lengths: list
    dist: Distributed
    reference: list | None = None  # log pi_ref of every completion, per group
    fingerprint: str = ""
    heldout: tuple = ()  # (groups, prompt lengths, reference) held out for the stop rule; () = none
    all_reference: list | None = None  # every group's reference log-probs (the published cache) when some are held out

    @property
    def device(self):
        return self.dist.device

    @property
    def reference_path(self) -> str:
        return self.config.reference or self.config.policy

    @property
    def reference_is_base(self) -> bool:  # LoRA from a full checkpoint: the base under the adapter
        return lora.reference_is_base(self.config, self.config.policy, self.config.reference)


def train_dpo(config: DPOConfig, rankings: Sequence[Ranking],
              progress_callback: ProgressCallback | None = None) -> tuple[Path, dict]:
    """Run one DPO round on ``rankings``; resumes from ``output_dir``'s last checkpoint."""
    if not config.output_dir or not config.policy:
        raise ValueError("DPOConfig.output_dir and DPOConfig.policy are required")
    if config.loss_type not in DPO_LOSSES:
        raise ValueError(f"loss_type must be one of {sorted(DPO_LOSSES)}, not {config.loss_type!r}")
    if stop_rule_error(config):
        raise ValueError(stop_rule_error(config))
    seed_everything(config.seed)
    dist = Distributed(config.device)  # one process, or one of an accelerate launch (modeling.training.distributed)
    if config.prefix_sharing and not prefix_sharing_applies(world_size=dist.world_size,
                                                           gradient_checkpointing=config.gradient_checkpointing):
        config = dataclasses.replace(config, prefix_sharing=False)
    lora.check_lora_settings(config, dist.device)
    model, tokenizer = load_policy(config.policy, dist.device, load_in_4bit=config.load_in_4bit)
    model = lora.prepare_for_training(model, config, "CAUSAL_LM")
    groups = group_rankings(rankings)
    prompt_lengths = tokenize_policy_groups(groups, tokenizer, config.max_length)
    if not any(g.num_pairs for g in groups):
        raise ValueError("no comparisons to train on: every ranking is a full tie")
    state = _Round(config, model, tokenizer, groups, prompt_lengths, dist)
    Path(config.output_dir).mkdir(parents=True, exist_ok=True)
    state.reference, state.fingerprint = _reference_logprobs(state)
    if config.stop_patience > 0:
        _hold_out(state)
    model.train()
    step, history, latest, perf, guard = _optimize(state, progress_callback)
    if not dist.is_main:  # the main process evaluates and publishes; the others are done
        dist.wait()
        return Path(config.output_dir), {}
    guard_metrics = (guard.metrics(guard.restore_best(model)) if guard is not None
                     else no_guard_metrics(config.stop_patience > 0))
    metrics = {**latest, **_final_metrics(state), **guard_metrics, "dpo/steps": step, "dpo/groups": len(groups),
               "dpo/train_pairs": perf["train_pairs"], "world_size": dist.world_size,
               "perf/train_seconds": perf["train_seconds"],
               "perf/prefix_sharing": float(config.prefix_sharing),  # 0 where asked for but not applied
               "perf/pairs_per_second": perf["train_pairs"] / perf["train_seconds"] if perf["train_seconds"] else 0.0}
    published = _publish(state, metrics, history)
    dist.wait()
    return published, {**metrics, "history": history}


def _reference_logprobs(state: _Round) -> tuple[list, str]:
    """``(log pi_ref per completion, fingerprint of the tokenized groups)``: from ``OUT/reference_logprobs.pt``
    when it was computed for the same groups and reference, else one no-grad forward per completion."""
    config, device = state.config, state.device
    cache_path, fingerprint = Path(config.output_dir) / REFERENCE_FILE, _fingerprint(state.groups)
    cached = torch.load(cache_path, weights_only=False) if cache_path.is_file() else None
    if cached is not None and cached["fingerprint"] == fingerprint and cached["policy"] == state.reference_path:
        return cached["logprobs"], fingerprint
    pad_id = state.tokenizer.pad_token_id
    with lora.autocast(device, config.bf16):
        if state.reference_is_base:
            with lora.reference_model(state.model) as scorer:
                reference = reference_logprobs(scorer, state.groups, state.prompt_lengths, pad_id, device,
                                               prefix_sharing=config.prefix_sharing)
        else:
            scorer = (state.model if state.reference_path == config.policy
                      else load_policy(state.reference_path, device)[0])
            reference = reference_logprobs(scorer, state.groups, state.prompt_lengths, pad_id, device,
                                           prefix_sharing=config.prefix_sharing)
            del scorer
    if state.dist.is_main:
        torch.save({"fingerprint": fingerprint, "logprobs": reference, "policy": state.reference_path}, cache_path)
    return reference, fingerprint


def _hold_out(state: _Round) -> None:
    """Move the stop rule's held-out groups out of the training groups (:func:`split_heldout`); with fewer
    than 2 groups with pairs nothing is held out and the rule stays off (``guard/note`` says so)."""
    if sum(1 for g in state.groups if g.num_pairs) < 2:
        return
    train, held = split_heldout(state.groups, state.config.heldout_fraction, state.config.seed)
    pick = lambda items, indexes: [items[i] for i in indexes]  # noqa: E731
    state.all_reference = state.reference
    state.heldout = tuple(pick(x, held) for x in (state.groups, state.prompt_lengths, state.reference))
    state.groups, state.prompt_lengths, state.reference = (pick(x, train) for x in
                                                           (state.groups, state.prompt_lengths, state.reference))


def _optimize(state: _Round, progress_callback: ProgressCallback | None) -> tuple[int, list, dict, dict, DPOGuard | None]:
    """The optimizer steps of the round, resumed from the last checkpoint: ``(steps, history, last
    step's metrics, {"train_seconds", "train_pairs"}, the stop rule or None)``."""
    from transformers import get_linear_schedule_with_warmup

    config, model, groups, dist, device = state.config, state.model, state.groups, state.dist, state.device
    out_dir, pad_id = Path(config.output_dir), state.tokenizer.pad_token_id
    packed = batch_groups(groups, config.completions_per_batch, shuffle=True, seed=config.seed)
    steps_per_epoch = len(packed)  # the same every epoch: only the batch order changes (seeded, so resume agrees)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps) if config.epochs else config.max_steps
    trainable = lora.trainable_parameters(model)
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)

    step, history, perf = 0, [], {"train_seconds": 0.0, "train_pairs": 0}
    guard = DPOGuard(config, state.heldout, steps_per_epoch) if state.heldout else None
    resume_from = checkpoints.latest_checkpoint(out_dir)
    if resume_from is not None:
        step, extra = checkpoints.load_checkpoint(resume_from, model=model, optimizer=optimizer, scheduler=scheduler)
        history, perf = extra["history"], {"train_seconds": extra["train_seconds"], "train_pairs": extra["train_pairs"]}
        if guard is not None:
            guard.restore(extra)
    trained, optimizer = dist.prepare(model, optimizer)  # trained: model itself, or its DDP/FSDP wrapper

    batches, batches_epoch, latest = [], -1, {}
    while step < total_steps:
        epoch = step // steps_per_epoch
        if epoch != batches_epoch:
            batches, batches_epoch = epoch_batches(packed, epoch, config.seed), epoch
        started = time.perf_counter()
        indexes = batches[step % steps_per_epoch]
        mine, weight = dist.shard(indexes)
        with lora.autocast(device, config.bf16):
            out = dpo_batch_loss(trained, groups, mine, state.prompt_lengths, state.reference, config, pad_id, device)
        optimizer.zero_grad(set_to_none=True)
        dist.backward(out.loss * weight)
        if config.max_grad_norm:
            dist.clip_grad_norm_(trainable, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        step += 1
        perf["train_seconds"] += time.perf_counter() - started
        perf["train_pairs"] += sum(groups[i].num_pairs for i in indexes)
        latest = {**dist.global_metrics(_metrics(out), weight), "dpo/learning_rate": scheduler.get_last_lr()[0]}
        evaluated = guard.after_step(step, latest["dpo/margin"], model, pad_id, device) if guard is not None else {}
        if step % config.log_every == 0 or step == total_steps or evaluated:
            history.append({"step": step, "epoch": step / steps_per_epoch, **latest, **evaluated})
        if progress_callback is not None and dist.is_main:
            progress_callback(step, total_steps, {**latest, **evaluated})
        if guard is not None and guard.stopped:
            break
        if config.checkpoint_every and step % config.checkpoint_every == 0 and step < total_steps and dist.is_main:
            guarded = guard.checkpoint_extra() if guard is not None else {}
            checkpoints.save_checkpoint(out_dir, step=step, model=model, optimizer=optimizer, scheduler=scheduler,
                                        config=config, extra={"history": history, **perf, **guarded})
    return step, history, latest, perf, guard


def _final_metrics(state: _Round) -> dict:
    """``dpo/eval/*`` over the round's groups and, with ``kl_prompts``, ``dpo/kl`` to the reference."""
    config, model, device = state.config, state.model, state.device
    with lora.autocast(device, config.bf16):
        metrics = evaluate(model, state.groups, state.prompt_lengths, state.reference, config,
                           state.tokenizer.pad_token_id, device)
    if config.kl_prompts:
        reference_model = None if state.reference_is_base else load_policy(state.reference_path, device)[0]
        prompts = list(dict.fromkeys(g.prompt for g in state.groups))[: config.kl_prompts]
        metrics["dpo/kl"] = estimate_kl(model, reference_model, state.tokenizer, prompts,
                                        max_new_tokens=config.kl_max_new_tokens, seed=config.seed)
    model.eval()
    return metrics


def _publish(state: _Round, metrics: dict, history: list) -> Path:
    config, model = state.config, state.model

    def extra(staged: Path) -> None:
        torch.save({"fingerprint": state.fingerprint, "logprobs": state.all_reference or state.reference,
                    "policy": state.reference_path}, staged / REFERENCE_FILE)
        if config.merge and lora.is_lora(model):
            lora.save_merged(model, state.tokenizer, staged)

    saved = {**checkpoints.config_to_dict(config), "device": str(state.device), "world_size": state.dist.world_size}
    return checkpoints.publish_model(config.output_dir, model, state.tokenizer, saved,
                                     {"final": metrics, "history": history}, extra=extra)

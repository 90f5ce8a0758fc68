"""PPO round: (config, prompts, progress_callback) -> (policy checkpoint directory, metrics).

Each iteration samples ``samples_per_prompt`` responses per prompt of a rollout batch (KV cache,
batched), scores each with the reward model at its last token (minus a penalty when it hit the length
limit without EOS), takes each score relative to the other responses to the same prompt when there are
several (a leave-one-out baseline, as in RLOO: Ahmadian et al. 2024), subtracts a per-token KL penalty
to the frozen reference (the starting policy unless ``reference`` is set), estimates advantages with GAE
(gamma 1, lambda 0.95) over a learned value model, or, with ``use_value_model`` off, takes each token's
return to go as its advantage (no critic, as in RLOO), whitens them, and runs several epochs of
minibatch updates with the clipped policy and value losses (plus, optionally, PPO-ptx: the
language-model loss on the shipped demonstrations). The value model is a copy of the starting policy
with a scalar head per token (see :func:`modeling.training.ppo_rollout.load_value_model` for why not the reward
model). With several responses per prompt the leave-one-out baseline already removes what a critic
would: a value model trained from scratch on a few thousand responses only adds its own error to the
advantages (Ahmadian et al. 2024, "Back to Basics"), so rounds turn it off.

Several processes (``accelerate launch``, DDP only): each iteration's prompt groups are split
round-robin, each process samples its groups with its own seed (``seed + rank``, mixed with the
iteration), and the whitening, the KL controller, the metrics and every minibatch are global
(:mod:`modeling.training.ppo_shards`): the same global ``minibatch_size`` and number of optimizer steps
as one process. Gradients are summed by one explicit all-reduce of the trainable parameters' gradients
per step, not by wrapping the model in DDP: an iteration calls ``generate``, the reference (the policy
with its adapter disabled, under LoRA) and up to two forwards per step (policy, PPO-ptx) on the same
model, plus a separate value model, and a process may hold no rows of a minibatch; DDP needs exactly
one forward per backward on every process. FSDP and DeepSpeed shard the weights, which this cannot
all-reduce, so ppo refuses them. Only the main process reports progress, checkpoints and publishes;
a run may resume with another process count.

The reward may be an ensemble: PPO optimises a conservative aggregate of its members (``reward_aggregate``)
and can stop early when that stops improving while the members' mean keeps rising, publishing the best
iteration's policy (:mod:`modeling.training.ppo_guard`). ``gold_fn`` (simulation) logs a gold score.

Output directory: the policy as a Hugging Face checkpoint, ``value_model/`` (when one is learned),
``training_config.json`` and ``metrics.json`` (final + one history row per iteration).
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch

from modeling.errors import InputError
from modeling.models import checkpoints, lora
from modeling.training.distributed import Distributed
from modeling.training.gae import AdaptiveKLController, FixedKLController, generalized_advantages, leave_one_out_scores
from modeling.training.policy_losses import clipped_policy_loss, clipped_value_loss, kl_penalized_rewards, masked_mean
from modeling.models.policy_model import load_policy
from modeling.models.conservative_reward import aggregate_error
from modeling.training.ppo_guard import PPOGuard
from modeling.training.ppo_rollout import (Responses, ScoreFn, generate_responses, load_value_model, response_logprobs,
                                           response_values, reward_member_scorer)
from modeling.training.ppo_shards import (RolloutShard, global_masked_means, global_means, global_stat_means,
                                          global_whiten, minibatch_order, sum_gradients)
from modeling.training.seeding import seed_everything
from modeling.training.ppo_config import PPOConfig  # noqa: F401  (re-exported)

ProgressCallback = Callable[[int, int, dict], None]  # (iteration done, total iterations, latest metrics)


class _Demonstrations:
    """Cycles through tokenized demonstrations for the PPO-ptx term."""

    def __init__(self, config: PPOConfig, tokenizer, max_length: int):
        from modeling.training.bootstrap_config import DEMONSTRATIONS_PATH
        from modeling.training.sft import encode_demonstration, read_demonstrations

        rows = read_demonstrations(config.ptx_demonstrations or DEMONSTRATIONS_PATH)
        random.Random(config.seed).shuffle(rows)
        self.examples = [encode_demonstration(tokenizer, d.prompt, d.completion, max_length) for d in rows]
        self.batch_size, self.position, self.pad_id = config.ptx_batch_size, 0, tokenizer.pad_token_id

    def loss(self, model, device, dist: Distributed) -> tuple[torch.Tensor | None, float]:
        """``(LM loss of this process's share of the next batch, its weight)``: the share's target tokens
        over the batch's, so the weighted losses of all processes add up to the batch's (None: no share)."""
        from modeling.training.sft import collate

        batch = [self.examples[(self.position + i) % len(self.examples)] for i in range(self.batch_size)]
        self.position = (self.position + self.batch_size) % len(self.examples)
        weight = 1.0
        if dist.world_size > 1:
            targets = lambda examples: sum(t != -100 for _, labels in examples for t in labels[1:])  # noqa: E731
            everyone, batch = targets(batch), batch[dist.rank :: dist.world_size]
            if not batch:
                return None, 0.0
            weight = targets(batch) / max(everyone, 1)
        tensors = {k: v.to(device) for k, v in collate(batch, self.pad_id).items()}
        return model(**tensors).loss, weight


@dataclass
class _Round:
    """What every iteration of a PPO round works with."""

    config: PPOConfig
    policy: torch.nn.Module
    reference: torch.nn.Module | None  # None: the policy with its LoRA adapter disabled
    value_model: torch.nn.Module | None
    tokenizer: object
    score_fn: ScoreFn
    optimizer: torch.optim.Optimizer
    controller: AdaptiveKLController | FixedKLController
    demonstrations: _Demonstrations | None
    dist: Distributed
    guard: PPOGuard
    gold_fn: ScoreFn | None = None

    @property
    def device(self):
        return self.dist.device


def _rollout_prompts(prompts: Sequence[str], iteration: int, size: int, seed: int) -> list[str]:
    """The prompts of one iteration: a seeded draw, so a resumed run sees the same batches."""
    rng = random.Random(seed * 100_003 + iteration)
    if size <= len(prompts):
        return rng.sample(list(prompts), size)
    return [rng.choice(list(prompts)) for _ in range(size)]


def _check_processes(config: PPOConfig, dist: Distributed) -> None:
    if dist.accelerator is None:
        return
    kind = str(dist.accelerator.distributed_type).rsplit(".", 1)[-1]
    if kind in ("FSDP", "DEEPSPEED", "MEGATRON_LM"):
        raise InputError(f"ppo runs under DDP only (every process holds the whole model), not {kind}: "
                         "launch it without an FSDP or DeepSpeed config")
    if config.rollout_batch_size // config.samples_per_prompt < dist.world_size:
        raise InputError(f"ppo needs at least one prompt per process: rollout_batch_size / samples_per_prompt "
                         f"({config.rollout_batch_size // config.samples_per_prompt}) < {dist.world_size} processes")


def train_ppo(config: PPOConfig, prompts: Sequence[str], progress_callback: ProgressCallback | None = None,
              score_fn: ScoreFn | None = None, gold_fn: ScoreFn | None = None) -> tuple[Path, dict]:
    """Run a PPO round; ``score_fn`` replaces the reward model (tests use a toy reward: (B,) scores, or (B, M)
    for an ensemble's members); ``gold_fn`` (prompts, texts) -> (B,) gold scores, logged as ``ppo/gold``."""
    if not config.output_dir or not config.policy or not (config.reward_model or score_fn):
        raise ValueError("PPOConfig.output_dir, policy and reward_model are required")
    if not prompts:
        raise ValueError("no prompts to train on")
    if config.samples_per_prompt < 1 or config.rollout_batch_size % config.samples_per_prompt:
        raise ValueError(f"rollout_batch_size ({config.rollout_batch_size}) must be a multiple of samples_per_prompt "
                         f"({config.samples_per_prompt})")
    if aggregate_error(config.reward_aggregate, config.uwo_lambda):
        raise ValueError(aggregate_error(config.reward_aggregate, config.uwo_lambda))
    seed_everything(config.seed)
    dist = Distributed(config.device)  # one process, or one of an accelerate launch (module docstring)
    _check_processes(config, dist)
    device = dist.device
    lora.check_lora_settings(config, device)
    policy, tokenizer = load_policy(config.policy, device, load_in_4bit=config.load_in_4bit)
    policy = lora.prepare_for_training(policy, config, "CAUSAL_LM")
    reference = None  # LoRA from a full checkpoint: the policy's base with the adapter disabled
    if not lora.reference_is_base(config, config.policy, config.reference):
        reference, _ = load_policy(config.reference or config.policy, device)
        reference.eval().requires_grad_(False)
    value_model = (load_value_model(lora.adapter_base_path(config.policy), device) if config.use_value_model
                   else None)
    score_fn = score_fn or reward_member_scorer(config.reward_model, device, config.reward_max_length)
    trained = torch.nn.ModuleDict({"policy": policy})  # what resume checkpoints hold
    param_groups = [{"params": lora.trainable_parameters(policy), "lr": config.learning_rate}]
    if value_model is not None:
        trained["value"] = value_model
        param_groups.append({"params": value_model.parameters(), "lr": config.value_learning_rate})
    optimizer = torch.optim.AdamW(param_groups)
    controller = (AdaptiveKLController(config.kl_beta, config.kl_target, config.kl_horizon) if config.adaptive_kl
                  else FixedKLController(config.kl_beta))
    max_positions = getattr(policy.config, "n_positions", None) or policy.config.max_position_embeddings
    demonstrations = _Demonstrations(config, tokenizer, max_positions) if config.ptx_coef else None

    iteration, history, guard = 0, [], PPOGuard(config, dist)
    out_dir = Path(config.output_dir)
    resume_from = checkpoints.latest_checkpoint(out_dir)
    if resume_from is not None:
        iteration, extra = checkpoints.load_checkpoint(resume_from, model=trained, optimizer=optimizer)
        history, controller.value = extra["history"], extra["kl_beta"]
        guard.restore(extra)
        if demonstrations is not None:
            demonstrations.position = extra.get("ptx_position", 0)
    dist.broadcast_([p.data for group in optimizer.param_groups for p in group["params"]])  # as DDP does
    state = _Round(config, policy, reference, value_model, tokenizer, score_fn, optimizer, controller,
                   demonstrations, dist, guard, gold_fn)

    latest: dict = {}
    while iteration < config.iterations:
        drawn = _rollout_prompts(prompts, iteration, config.rollout_batch_size // config.samples_per_prompt, config.seed)
        guard.before_iteration(trained)
        latest = ppo_iteration(state, drawn, iteration)
        iteration += 1
        history.append({"iteration": iteration, **latest})
        stop = guard.after_iteration(iteration, latest)  # the same on every process: global means
        if progress_callback is not None and dist.is_main:
            progress_callback(iteration, config.iterations, latest)
        if stop:
            break
        if (config.checkpoint_every and iteration % config.checkpoint_every == 0 and iteration < config.iterations
                and dist.is_main):
            extra = {"history": history, "kl_beta": controller.value,
                     "ptx_position": demonstrations.position if demonstrations else 0, **guard.checkpoint_extra()}
            checkpoints.save_checkpoint(out_dir, step=iteration, model=trained, optimizer=optimizer, config=config,
                                        extra=extra)

    if not dist.is_main:  # the main process publishes; the others are done
        dist.wait()
        return out_dir, {}
    published_best = guard.restore_best(trained)  # on a stop: the policy that sampled the best rollout
    metrics = {**latest, "ppo/iterations": iteration, "world_size": dist.world_size, **guard.metrics(published_best)}

    def extra(staged: Path) -> None:
        if value_model is not None:
            value_model.save_pretrained(staged / "value_model")
        if config.merge and lora.is_lora(policy):
            lora.save_merged(policy, tokenizer, staged)

    critic = "policy copy + scalar head per token" if value_model is not None else "none (advantage = return to go)"
    published = checkpoints.publish_model(out_dir, policy, tokenizer,
                                          {**checkpoints.config_to_dict(config), "device": str(device),
                                           "value_model": critic, "world_size": dist.world_size},
                                          {"final": metrics, "history": history}, extra=extra)
    dist.wait()
    return published, {**metrics, "history": history}


@dataclass
class _Rollout:
    """One process's share of a rollout batch, scored, with its advantages; tensors ``(local B, T)``."""

    responses: Responses
    old_logps: torch.Tensor
    old_values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    scores: torch.Tensor  # (local B,) the score minus the missing-EOS penalty
    raw_scores: torch.Tensor  # (local B,) the conservative reward (the score of a single reward model)
    proxy: torch.Tensor  # (local B,) the members' mean
    spread: torch.Tensor  # (local B,) the members' std
    gold: torch.Tensor | None  # (local B,) gold scores (simulation), None without a gold_fn
    kl_per_response: torch.Tensor  # (local B,)


def ppo_iteration(state: _Round, drawn: list, iteration: int) -> dict:
    """One rollout batch (this process's groups of the ``drawn`` prompts) and its PPO updates; returns the
    iteration's metrics, global means over every process."""
    config, dist = state.config, state.dist
    shard = RolloutShard(dist, len(drawn), config.samples_per_prompt)
    prompts = [prompt for prompt in shard.groups(drawn) for _ in range(config.samples_per_prompt)]  # groups in a row
    if dist.world_size > 1:  # each process samples its own responses, the same ones when a run resumes
        torch.manual_seed(((config.seed + dist.rank) * 100_003 + iteration) * 2)
    started = time.perf_counter()
    rollout = _rollout(state, prompts, shard)
    rollout_seconds = time.perf_counter() - started
    mask = rollout.responses.response_mask
    shard.set_lengths(mask)

    started = time.perf_counter()
    stats = _update(state, rollout, shard, iteration)
    update_seconds = time.perf_counter() - started

    means = global_means(dist, {"ppo/reward": rollout.scores, "ppo/score": rollout.raw_scores,
                                "ppo/kl": rollout.kl_per_response, "ppo/response_length": mask.sum(dim=1).float(),
                                "ppo/eos_rate": rollout.responses.ended.float(), "ppo/proxy_reward": rollout.proxy,
                                "ppo/spread": rollout.spread,
                                **({"ppo/gold": rollout.gold} if rollout.gold is not None else {})})
    kl, beta = means["ppo/kl"], state.controller.value
    state.controller.update(kl, shard.size)
    response_tokens = shard.tokens
    return {
        "ppo/reward": means["ppo/reward"],
        "ppo/score": means["ppo/score"],
        "ppo/kl": kl,
        "ppo/proxy_reward": means["ppo/proxy_reward"],
        "ppo/conservative_reward": means["ppo/score"],
        "ppo/spread": means["ppo/spread"],
        **({"ppo/gold": means["ppo/gold"]} if rollout.gold is not None else {}),
        "ppo/non_score_reward": -beta * kl,
        "ppo/beta": beta,
        **stats,
        "ppo/response_length": means["ppo/response_length"],
        "ppo/eos_rate": means["ppo/eos_rate"],
        **global_masked_means(dist, {"ppo/advantage_mean": rollout.advantages, "ppo/return_mean": rollout.returns},
                              mask),
        "perf/rollout_tokens_per_second": response_tokens / rollout_seconds if rollout_seconds else 0.0,
        "perf/update_tokens_per_second": response_tokens * config.ppo_epochs / update_seconds if update_seconds else 0.0,
    }


def _rollout(state: _Round, prompts: list, shard: RolloutShard) -> _Rollout:
    """Sample, score and compute the advantages of this process's responses (whitened over all processes)."""
    config, policy, value_model, device = state.config, state.policy, state.value_model, state.device
    responses = generate_responses(policy, state.tokenizer, prompts, max_new_tokens=config.max_new_tokens,
                                   temperature=config.temperature, batch_size=config.generation_batch_size)
    ids, attention, mask, width = (responses.input_ids, responses.attention_mask, responses.response_mask,
                                   responses.prompt_width)
    with torch.no_grad(), lora.autocast(device, config.bf16):
        old_logps, _ = response_logprobs(policy, ids, attention, width)  # (B, T)
        with lora.reference_model(policy, state.reference) as scorer:
            ref_logps, _ = response_logprobs(scorer, ids, attention, width)  # (B, T)
        old_values = (response_values(value_model, ids, attention, width) if value_model is not None
                      else torch.zeros_like(old_logps))  # (B, T)
        scored = state.guard.score(state.score_fn(prompts, responses.texts).to(device).float())  # (B,) each
        raw_scores = scored.conservative
        gold = state.gold_fn(prompts, responses.texts).to(device).float() if state.gold_fn is not None else None
        scores = raw_scores - config.missing_eos_penalty * (~responses.ended).float()
        relative = leave_one_out_scores(scores, config.samples_per_prompt)  # prompts come in whole groups
        rewards = kl_penalized_rewards(old_logps, ref_logps, relative, mask, state.controller.value)  # (B, T)
        lam = config.lam if value_model is not None else 1.0  # no critic: GAE(V = 0, lambda 1) = return to go
        advantages, returns = generalized_advantages(rewards, old_values, mask, config.gamma, lam)
        if config.whiten_advantages:
            advantages = global_whiten(state.dist, advantages, mask)
        kl_per_response = ((old_logps - ref_logps) * mask).sum(dim=1)  # (B,)
    return _Rollout(responses, old_logps, old_values, advantages, returns, scores, raw_scores, scored.proxy,
                    scored.spread, gold, kl_per_response)


def _update(state: _Round, rollout: _Rollout, shard: RolloutShard, iteration: int) -> dict:
    """``ppo_epochs`` passes of global minibatches over the rollout batch; the mean minibatch statistics."""
    config, dist, optimizer = state.config, state.dist, state.optimizer
    keys = ((["ppo/value_loss", "ppo/value_clipfrac"] if state.value_model is not None else [])
            + (["ppo/ptx_loss"] if state.demonstrations is not None else [])
            + ["ppo/policy_loss", "ppo/clipfrac", "ppo/approx_kl", "ppo/entropy"])
    sums = dict.fromkeys(keys, 0.0)  # of weight * value over the minibatches
    trainable = [p for group in optimizer.param_groups for p in group["params"]]  # what the clip must cover
    same_everywhere = torch.Generator().manual_seed((config.seed * 100_003 + iteration) * 2 + 1)
    steps = 0
    for _ in range(config.ppo_epochs):
        order = minibatch_order(dist, shard.size, same_everywhere, state.device)
        for start in range(0, shard.size, config.minibatch_size):
            rows, weight = shard.share(order[start : start + config.minibatch_size])
            loss = _minibatch_loss(state, rollout, rows, weight, sums)
            optimizer.zero_grad(set_to_none=True)
            if loss is not None:
                loss.backward()
            sum_gradients(dist, trainable)
            if config.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
            optimizer.step()
            steps += 1
    return global_stat_means(dist, sums, steps)


def _minibatch_loss(state: _Round, rollout: _Rollout, rows: torch.Tensor, weight: float, sums: dict):
    """This process's weighted loss on its ``rows`` of a minibatch (None when it has nothing to train on);
    adds ``weight * value`` of each statistic to ``sums``."""
    config, device = state.config, state.device
    mask, width = rollout.responses.response_mask[rows], rollout.responses.prompt_width
    ids, attention = rollout.responses.input_ids[rows], rollout.responses.attention_mask[rows]
    loss, stats = None, []
    with lora.autocast(device, config.bf16):
        if len(rows):
            logps, entropy = response_logprobs(state.policy, ids, attention, width, with_entropy=True)
            policy_out = clipped_policy_loss(logps, rollout.old_logps[rows], rollout.advantages[rows], mask,
                                             config.clip_range)
            loss = policy_out.loss
            if state.value_model is not None:
                values = response_values(state.value_model, ids, attention, width)
                value_loss, value_clipfrac = clipped_value_loss(values, rollout.old_values[rows], rollout.returns[rows],
                                                                mask, config.value_clip_range)
                loss = loss + config.value_coef * value_loss
                stats += [("ppo/value_loss", value_loss, weight), ("ppo/value_clipfrac", value_clipfrac, weight)]
            if weight != 1.0:
                loss = loss * weight
            stats += [("ppo/policy_loss", policy_out.loss, weight), ("ppo/clipfrac", policy_out.clipfrac, weight),
                      ("ppo/approx_kl", policy_out.approx_kl, weight),
                      ("ppo/entropy", masked_mean(entropy.detach(), mask), weight)]
        if state.demonstrations is not None:
            ptx, ptx_weight = state.demonstrations.loss(state.policy, device, state.dist)
            if ptx is not None:
                term = config.ptx_coef * (ptx if ptx_weight == 1.0 else ptx * ptx_weight)
                loss = term if loss is None else loss + term
                stats.append(("ppo/ptx_loss", ptx, ptx_weight))
    for key, value, share in stats:
        sums[key] += share * float(value.detach())
    return loss

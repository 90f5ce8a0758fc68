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

Output directory: the policy as a Hugging Face checkpoint, ``value_model/`` (when one is learned),
``training_config.json`` and ``metrics.json`` (final + one history row per iteration).
"""
from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Callable, Sequence

import torch

from modeling.models import checkpoints, lora
from modeling.training.gae import (AdaptiveKLController, FixedKLController, generalized_advantages, leave_one_out_scores,
                          whiten)
from modeling.training.policy_losses import clipped_policy_loss, clipped_value_loss, kl_penalized_rewards, masked_mean
from modeling.models.policy_model import load_policy
from modeling.training.ppo_rollout import (ScoreFn, generate_responses, load_value_model, response_logprobs, response_values,
                                  reward_model_scorer)
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

    def loss(self, model, device) -> torch.Tensor:
        from modeling.training.sft import collate

        batch = [self.examples[(self.position + i) % len(self.examples)] for i in range(self.batch_size)]
        self.position = (self.position + self.batch_size) % len(self.examples)
        tensors = {k: v.to(device) for k, v in collate(batch, self.pad_id).items()}
        return model(**tensors).loss


def _rollout_prompts(prompts: Sequence[str], iteration: int, size: int, seed: int) -> list[str]:
    """The prompts of one iteration: a seeded draw, so a resumed run sees the same batches."""
    rng = random.Random(seed * 100_003 + iteration)
    if size <= len(prompts):
        return rng.sample(list(prompts), size)
    return [rng.choice(list(prompts)) for _ in range(size)]


def train_ppo(config: PPOConfig, prompts: Sequence[str], progress_callback: ProgressCallback | None = None,
              score_fn: ScoreFn | None = None) -> tuple[Path, dict]:
    """Run a PPO round; ``score_fn`` replaces the reward model (tests use a toy reward)."""
    if not config.output_dir or not config.policy or not (config.reward_model or score_fn):
        raise ValueError("PPOConfig.output_dir, policy and reward_model are required")
    if not prompts:
        raise ValueError("no prompts to train on")
    if config.samples_per_prompt < 1 or config.rollout_batch_size % config.samples_per_prompt:
        raise ValueError(f"rollout_batch_size ({config.rollout_batch_size}) must be a multiple of samples_per_prompt "
                         f"({config.samples_per_prompt})")
    seed_everything(config.seed)
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    lora.check_lora_settings(config, device)
    policy, tokenizer = load_policy(config.policy, device, load_in_4bit=config.load_in_4bit)
    policy = lora.prepare_for_training(policy, config, "CAUSAL_LM")
    reference = None  # LoRA from a full checkpoint: the policy's base with the adapter disabled
    if not lora.reference_is_base(config, config.policy, config.reference):
        reference, _ = load_policy(config.reference or config.policy, device)
        reference.eval().requires_grad_(False)
    value_model = (load_value_model(lora.adapter_base_path(config.policy), device) if config.use_value_model
                   else None)
    score_fn = score_fn or reward_model_scorer(config.reward_model, device, config.reward_max_length)
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

    iteration, history = 0, []
    out_dir = Path(config.output_dir)
    resume_from = checkpoints.latest_checkpoint(out_dir)
    if resume_from is not None:
        iteration, extra = checkpoints.load_checkpoint(resume_from, model=trained, optimizer=optimizer)
        history, controller.value = extra["history"], extra["kl_beta"]
        if demonstrations is not None:
            demonstrations.position = extra.get("ptx_position", 0)

    latest: dict = {}
    while iteration < config.iterations:
        drawn = _rollout_prompts(prompts, iteration, config.rollout_batch_size // config.samples_per_prompt, config.seed)
        batch_prompts = [prompt for prompt in drawn for _ in range(config.samples_per_prompt)]  # groups in a row
        latest = ppo_iteration(config, policy, reference, value_model, tokenizer, score_fn, optimizer,
                               controller, batch_prompts, demonstrations, device)
        iteration += 1
        history.append({"iteration": iteration, **latest})
        if progress_callback is not None:
            progress_callback(iteration, config.iterations, latest)
        if config.checkpoint_every and iteration % config.checkpoint_every == 0 and iteration < config.iterations:
            extra = {"history": history, "kl_beta": controller.value,
                     "ptx_position": demonstrations.position if demonstrations else 0}
            checkpoints.save_checkpoint(out_dir, step=iteration, model=trained, optimizer=optimizer, config=config,
                                        extra=extra)

    metrics = {**latest, "ppo/iterations": iteration}

    def extra(staged: Path) -> None:
        if value_model is not None:
            value_model.save_pretrained(staged / "value_model")
        if config.merge and lora.is_lora(policy):
            lora.save_merged(policy, tokenizer, staged)

    critic = "policy copy + scalar head per token" if value_model is not None else "none (advantage = return to go)"
    published = checkpoints.publish_model(out_dir, policy, tokenizer,
                                          {**checkpoints.config_to_dict(config), "device": str(device),
                                           "value_model": critic},
                                          {"final": metrics, "history": history}, extra=extra)
    return published, {**metrics, "history": history}


def ppo_iteration(config: PPOConfig, policy, reference, value_model, tokenizer, score_fn, optimizer, controller,
                  prompts: list[str], demonstrations, device) -> dict:
    """One rollout batch and its PPO updates; returns the iteration's metrics.

    ``reference`` None: the KL anchor is ``policy`` with its LoRA adapter disabled."""
    started = time.perf_counter()
    responses = generate_responses(policy, tokenizer, prompts, max_new_tokens=config.max_new_tokens,
                                   temperature=config.temperature, batch_size=config.generation_batch_size)
    ids, attention, mask, width = (responses.input_ids, responses.attention_mask, responses.response_mask,
                                   responses.prompt_width)
    with torch.no_grad(), lora.autocast(device, config.bf16):
        old_logps, _ = response_logprobs(policy, ids, attention, width)  # (B, T)
        with lora.reference_model(policy, reference) as scorer:
            ref_logps, _ = response_logprobs(scorer, ids, attention, width)  # (B, T)
        old_values = (response_values(value_model, ids, attention, width) if value_model is not None
                      else torch.zeros_like(old_logps))  # (B, T)
        raw_scores = score_fn(prompts, responses.texts).to(device).float()  # (B,)
        scores = raw_scores - config.missing_eos_penalty * (~responses.ended).float()
        relative = leave_one_out_scores(scores, config.samples_per_prompt)  # prompts come in groups (train_ppo)
        rewards = kl_penalized_rewards(old_logps, ref_logps, relative, mask, controller.value)  # (B, T)
        lam = config.lam if value_model is not None else 1.0  # no critic: GAE(V = 0, lambda 1) = return to go
        advantages, returns = generalized_advantages(rewards, old_values, mask, config.gamma, lam)
        if config.whiten_advantages:
            advantages = whiten(advantages, mask)
        kl_per_response = ((old_logps - ref_logps) * mask).sum(dim=1)  # (B,)
    rollout_seconds = time.perf_counter() - started
    response_tokens = int(mask.sum())

    started = time.perf_counter()
    stats: dict[str, list[float]] = {}
    size = len(prompts)
    trainable = [p for group in optimizer.param_groups for p in group["params"]]  # what the clip must cover
    for _ in range(config.ppo_epochs):
        order = torch.randperm(size, device=device)
        for start in range(0, size, config.minibatch_size):
            mb = order[start : start + config.minibatch_size]
            with lora.autocast(device, config.bf16):
                logps, entropy = response_logprobs(policy, ids[mb], attention[mb], width, with_entropy=True)
                policy_out = clipped_policy_loss(logps, old_logps[mb], advantages[mb], mask[mb], config.clip_range)
                loss = policy_out.loss
                if value_model is not None:
                    values = response_values(value_model, ids[mb], attention[mb], width)
                    value_loss, value_clipfrac = clipped_value_loss(values, old_values[mb], returns[mb], mask[mb],
                                                                    config.value_clip_range)
                    loss = loss + config.value_coef * value_loss
                    stats.setdefault("ppo/value_loss", []).append(float(value_loss.detach()))
                    stats.setdefault("ppo/value_clipfrac", []).append(float(value_clipfrac.detach()))
                if demonstrations is not None:
                    ptx = demonstrations.loss(policy, device)
                    loss = loss + config.ptx_coef * ptx
                    stats.setdefault("ppo/ptx_loss", []).append(ptx.item())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
            optimizer.step()
            for key, value in (("ppo/policy_loss", policy_out.loss),
                               ("ppo/clipfrac", policy_out.clipfrac), ("ppo/approx_kl", policy_out.approx_kl),
                               ("ppo/entropy", masked_mean(entropy.detach(), mask[mb]))):
                stats.setdefault(key, []).append(float(value.detach()))
    update_seconds = time.perf_counter() - started

    kl = float(kl_per_response.mean())
    beta = controller.value
    controller.update(kl, size)
    return {
        "ppo/reward": float(scores.mean()),
        "ppo/score": float(raw_scores.mean()),
        "ppo/kl": kl,
        "ppo/non_score_reward": -beta * kl,
        "ppo/beta": beta,
        **{key: sum(values) / len(values) for key, values in stats.items()},
        "ppo/response_length": float(mask.sum(dim=1).float().mean()),
        "ppo/eos_rate": float(responses.ended.float().mean()),
        "ppo/advantage_mean": float(masked_mean(advantages, mask)),
        "ppo/return_mean": float(masked_mean(returns, mask)),
        "perf/rollout_tokens_per_second": response_tokens / rollout_seconds if rollout_seconds else 0.0,
        "perf/update_tokens_per_second": response_tokens * config.ppo_epochs / update_seconds if update_seconds else 0.0,
    }

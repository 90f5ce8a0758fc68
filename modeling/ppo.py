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
with a scalar head per token (see :func:`modeling.ppo_rollout.load_value_model` for why not the reward
model). With several responses per prompt the leave-one-out baseline already removes what a critic
would: a value model trained from scratch on a few thousand responses only adds its own error to the
advantages (Ahmadian et al. 2024, "Back to Basics"), so rounds turn it off.

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

from modeling import checkpoints, lora
from modeling.gae import (AdaptiveKLController, FixedKLController, generalized_advantages, leave_one_out_scores,
                          whiten)
from modeling.policy_losses import clipped_policy_loss, clipped_value_loss, kl_penalized_rewards, masked_mean
from modeling.config_fields import help_field as _help
from modeling.policy_model import load_policy
from modeling.ppo_rollout import (ScoreFn, generate_responses, load_value_model, response_logprobs, response_values,
                                  reward_model_scorer)
from modeling.seeding import seed_everything

ProgressCallback = Callable[[int, int, dict], None]  # (iteration done, total iterations, latest metrics)


@dataclass
class PPOConfig(lora.LoraFields):
    """Settings of one PPO round (saved as training_config.json); LoRA fields from :class:`lora.LoraFields`."""

    output_dir: str = _help("directory for the finished policy; resume checkpoints live inside", "")
    policy: str = _help("policy checkpoint to start from; also the value model's init", "")
    reference: str = _help("frozen KL reference checkpoint; empty = the starting policy. Later rounds of a loop "
                           "pass the first (SFT) policy, so the penalty bounds the drift from it, not per round", "")
    reward_model: str = _help("reward-model checkpoint (any tokenizer: responses are re-tokenized as text)", "")
    iterations: int = _help("rollout batches (each followed by ppo_epochs of updates)", 20)
    rollout_batch_size: int = _help("responses per rollout batch (rollout_batch_size / samples_per_prompt prompts)", 64)
    samples_per_prompt: int = _help(
        "responses per prompt in a rollout batch; with 2 or more each score is taken relative to the mean of the "
        "prompt's other responses, so a prompt's difficulty cancels out of the advantage (1 = the plain score)", 1)
    use_value_model: bool = _help(
        "learn a value model as GAE's baseline; off = no critic (as in RLOO): each token's advantage is its return "
        "to go, the (leave-one-out) score minus the KL penalties still ahead; meant for samples_per_prompt >= 2", True)
    generation_batch_size: int = _help("prompts per generate() call", 64)
    max_new_tokens: int = _help("response length limit in tokens", 48)
    temperature: float = _help("sampling temperature of rollouts", 1.0)
    ppo_epochs: int = _help("passes over each rollout batch", 4)
    minibatch_size: int = _help("responses per gradient step", 16)
    learning_rate: float = _help("AdamW learning rate of the policy", 1e-5)
    value_learning_rate: float = _help("AdamW learning rate of the value model", 1e-4)
    max_grad_norm: float = _help("gradient clipping norm (0 = no clipping)", 1.0)
    kl_beta: float = _help("initial coefficient of the per-token KL penalty", 0.02)
    adaptive_kl: bool = _help("steer kl_beta towards kl_target (Ziegler et al. controller)", False)
    kl_target: float = _help("target KL per response for the adaptive controller", 6.0)
    kl_horizon: int = _help("controller horizon in responses", 10000)
    clip_range: float = _help("PPO ratio clip epsilon", 0.2)
    value_clip_range: float = _help("value clip range around the rollout values", 0.2)
    value_coef: float = _help("weight of the value loss", 0.1)
    gamma: float = _help("GAE discount", 1.0)
    lam: float = _help("GAE lambda", 0.95)
    whiten_advantages: bool = _help("normalise advantages to mean 0, std 1 per rollout batch", True)
    missing_eos_penalty: float = _help("subtracted from the score of a response cut at the length limit", 1.0)
    reward_max_length: int = _help("tokens of prompt + response given to the reward model", 256)
    ptx_coef: float = _help("PPO-ptx: weight of the LM loss on demonstrations (0 = off)", 0.0)
    ptx_demonstrations: str = _help("JSONL of {prompt, completion} for PPO-ptx; empty = the shipped ones", "")
    ptx_batch_size: int = _help("demonstrations per PPO-ptx term", 8)
    checkpoint_every: int = _help("write a resume checkpoint every N iterations (0 = never)", 1)
    device: str = _help("'cuda', 'cpu' or empty for CUDA when available", "")
    seed: int = _help("seed for prompt order, sampling and minibatches", 0)
    inputs: dict = _help("ids or paths of what this round was trained from (prompts, policy, reward)", factory=dict)


class _Demonstrations:
    """Cycles through tokenized demonstrations for the PPO-ptx term."""

    def __init__(self, config: PPOConfig, tokenizer, max_length: int):
        from modeling.policy_config import DEMONSTRATIONS_PATH
        from modeling.sft import encode_demonstration, read_demonstrations

        rows = read_demonstrations(config.ptx_demonstrations or DEMONSTRATIONS_PATH)
        random.Random(config.seed).shuffle(rows)
        self.examples = [encode_demonstration(tokenizer, d.prompt, d.completion, max_length) for d in rows]
        self.batch_size, self.position, self.pad_id = config.ptx_batch_size, 0, tokenizer.pad_token_id

    def loss(self, model, device) -> torch.Tensor:
        from modeling.sft import collate

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

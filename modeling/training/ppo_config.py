"""Settings of one PPO round, importable without torch (the CLI builds its flags from them)."""
from __future__ import annotations

from dataclasses import dataclass

from modeling.config_fields import help_field as _help
from modeling.models.lora import LoraFields


@dataclass
class PPOConfig(LoraFields):
    """Settings of one PPO round (saved as training_config.json); LoRA fields from :class:`modeling.models.lora.LoraFields`."""

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
    reward_aggregate: str = _help(
        "what PPO optimises of an ensemble's member scores (each member standardised on the first rollout batch): "
        "'mean', 'min' (worst case) or 'uwo' (mean - uwo_lambda * members' std); one reward model: its score",
        "mean")
    uwo_lambda: float = _help("weight of the members' spread in the 'uwo' reward (>= 0)", 1.0)
    stop_patience: int = _help(
        "stop when the conservative reward has not improved for this many iterations while the proxy (members' "
        "mean) rose above its value at the best iteration; publishes the best iteration's policy (0 = off)", 0)
    stop_spread_ratio: float = _help(
        "stop when the members' spread on a rollout exceeds this multiple of its value on the first rollout "
        "(0 = off); needs an ensemble", 0.0)
    reward_max_length: int = _help("tokens of prompt + response given to the reward model", 256)
    ptx_coef: float = _help("PPO-ptx: weight of the LM loss on demonstrations (0 = off)", 0.0)
    ptx_demonstrations: str = _help("JSONL of {prompt, completion} for PPO-ptx; empty = the shipped ones", "")
    ptx_batch_size: int = _help("demonstrations per PPO-ptx term", 8)
    checkpoint_every: int = _help("write a resume checkpoint every N iterations (0 = never)", 1)
    device: str = _help("'cuda', 'cpu' or empty for CUDA when available", "")
    seed: int = _help("seed for prompt order, sampling and minibatches", 0)
    inputs: dict = _help("ids or paths of what this round was trained from (prompts, policy, reward)", factory=dict)

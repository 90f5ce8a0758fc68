"""Settings of one DPO round, importable without torch (the CLI builds its flags from them)."""
from __future__ import annotations

from dataclasses import dataclass

from modeling.config_fields import help_field as _help
from modeling.models.lora import LoraFields


@dataclass
class DPOConfig(LoraFields):
    """Settings of one DPO round (saved as training_config.json); LoRA fields from :class:`modeling.models.lora.LoraFields`."""

    output_dir: str = _help("directory for the finished policy; resume checkpoints live inside", "")
    policy: str = _help("policy checkpoint to start from; also the frozen reference unless `reference` is set", "")
    reference: str = _help("frozen reference checkpoint; empty = the starting policy. Later rounds of a loop start "
                           "from the last policy and keep the first (SFT) one as reference, so the pull is towards "
                           "it and repeated rounds on the same rankings do not compound", "")
    loss_type: str = _help("'sigmoid' (DPO), 'ipo' or 'plackett_luce' (full ranking, ties per docstring)", "sigmoid")
    beta: float = _help("strength of the pull towards the reference (DPO's beta)", 0.1)
    rpo_alpha: float = _help("weight of the per-token NLL of preferred completions (RPO; 0 = pure DPO)", 0.0)
    max_length: int = _help("tokens per prompt + completion; the completion is cut first", 128)
    epochs: int = _help("passes over the ranking groups", 1)
    max_steps: int = _help("stop after this many optimizer steps (0 = run all epochs)", 0)
    completions_per_batch: int = _help("sequences per step; whole groups only", 32)
    prefix_sharing: bool = _help("encode each prompt once and run its completions against its cached keys and values "
                                 "(modeling.models.prefix_sharing): the same losses, P + sum(L) tokens per group "
                                 "instead of K*P + sum(L); off = every sequence whole. One process only, not with gradient checkpointing", True)
    learning_rate: float = _help("AdamW peak learning rate", 5e-5)
    weight_decay: float = _help("AdamW weight decay", 0.0)
    warmup_ratio: float = _help("fraction of steps with linear warm-up, then linear decay to 0", 0.1)
    max_grad_norm: float = _help("gradient clipping norm (0 = no clipping)", 1.0)
    kl_prompts: int = _help("prompts sampled at the end to estimate KL to the reference (0 = skip)", 32)
    kl_max_new_tokens: int = _help("longest sampled completion for the KL estimate", 48)
    checkpoint_every: int = _help("write a resume checkpoint every N steps (0 = never)", 50)
    log_every: int = _help("record training metrics in the history every N steps", 10)
    stop_patience: int = _help(
        "stop when the held-out implicit-reward accuracy (ties: margin) has not improved for this many evaluations "
        "while the training margin rose, and publish the best evaluation's policy (0 = off; on: heldout_fraction of "
        "the ranking groups is held out and not trained on)", 0)
    eval_every: int = _help("steps between the stop rule's held-out evaluations (0 = once per epoch)", 0)
    heldout_fraction: float = _help("share of ranking groups held out for the stop rule (only with stop_patience)",
                                    0.1)
    device: str = _help("'cuda', 'cpu' or empty for CUDA when available", "")
    seed: int = _help("seed for the batch order and the KL samples", 0)
    labeler_weights: dict = _help("{labeler: weight} of each labeler's pairs in the loss (a weighted mean per group), "
                                  "from the round's reward model's reliability (modeling.training.labeler_reliability."
                                  "dpo_weights); a labeler not named weighs 1; empty = all 1", factory=dict)
    inputs: dict = _help("ids or paths of what this round was trained from (rankings, policy)", factory=dict)

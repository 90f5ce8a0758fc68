"""Settings of reward-model training, importable without torch (the CLI builds its flags from them)."""
from __future__ import annotations

from dataclasses import dataclass
from modeling.config_fields import help_field as _help
from modeling.models.lora import LoraFields

RELIABILITY_METHODS = ("joint", "out_of_fold")  # RewardConfig.reliability_method
RELIABILITY_FLAG_BELOW = 0.6  # a labeler's reliability under this marks them unreliable (stats page, benchmarks)


@dataclass
class RewardConfig(LoraFields):
    """Settings of one reward-model training run (saved as training_config.json).

    LoRA / QLoRA fields (``lora_r``, ..., ``bf16``) come from :class:`modeling.models.lora.LoraFields`."""

    output_dir: str = _help("directory for the finished checkpoint; resume checkpoints live inside", "")
    base_model: str = _help("checkpoint directory to start from; empty = the packaged MiniLM encoder", "")
    max_length: int = _help("tokens per (prompt, completion) sequence, longer side cut first", 128)
    epochs: int = _help("passes over the training groups", 1)
    max_steps: int = _help("stop after this many optimizer steps (0 = run all epochs)", 0)
    completions_per_batch: int = _help("sequences per step; whole groups only, so K=9 fits 7 groups in 64", 64)
    prefix_sharing: bool = _help("decoder reward models: encode each prompt once and score its completions against its "
                                 "cached keys and values (modeling.models.prefix_sharing), the same scores for P + "
                                 "sum(L) tokens per group; ignored for encoders, several processes and gradient "
                                 "checkpointing", True)
    learning_rate: float = _help("AdamW peak learning rate (benchmarks/RESULTS.md: 3e-4 beat 5e-5)", 3e-4)
    weight_decay: float = _help("AdamW weight decay", 0.0)
    warmup_ratio: float = _help("fraction of steps with linear warm-up, then linear decay to 0", 0.1)
    max_grad_norm: float = _help("gradient clipping norm (0 = no clipping)", 1.0)
    center_coefficient: float = _help("weight of mean r^2 that keeps rewards near 0 (0 = off)", 0.0)
    validation_fraction: float = _help("fraction of prompts held out for validation metrics", 0.1)
    eval_every: int = _help("validate every N steps (0 = at the end of each epoch)", 0)
    checkpoint_every: int = _help("write a resume checkpoint every N steps (0 = never)", 100)
    log_every: int = _help("record the training loss in the history every N steps", 10)
    disable_dropout: bool = _help("turn dropout off, as reward models usually do", True)
    device: str = _help("'cuda', 'cpu' or empty for CUDA when available", "")
    seed: int = _help("seed for the split, the batch order and initialisation of the head", 0)
    labeler_reliability: bool = _help("learn each labeler's reliability eta (CrowdBT) with the reward and weight their "
                                      "comparisons by it (modeling.training.labeler_reliability); metrics carry "
                                      "reward/labeler_reliability. Off by default: in benchmarks/RESULTS.md ('A bad labeler') a "
                                      "bad labeler with a quarter of the rankings cost plain BT nothing; one with half, "
                                      "ranking at random, cost 0.066 and out-of-fold weighting won back half of it "
                                      "(goal 90%), a 20% flipper cost nothing; no clicker was flagged within 50 rankings",
                                      False)
    reliability_method: str = _help("with labeler_reliability: 'joint' (eta trained with the reward, CrowdBT) or "
                                    "'out_of_fold' (eta fitted by EM to the pair probabilities of reward models that "
                                    "did not train on the pair, then the reward trained at those fixed etas; "
                                    "modeling.training.out_of_fold_reliability). Default out_of_fold: in "
                                    "benchmarks/RESULTS.md ('A bad labeler', second pass) it won back 49% of a "
                                    "prolific clicker's damage where joint won back none (-6%), at 2x the training",
                                    "out_of_fold")
    reliability_folds: int = _help("out_of_fold: folds of the training prompts, one plain reward model each (>= 2; "
                                   "2 makes the option cost 2 plain trainings in all)", 2)
    reliability_learning_rate: float = _help("AdamW learning rate of the per-labeler reliability logits (0.05 left a "
                                             "random labeler at 0.82 after 2 epochs, 0.5 at 0.76: RESULTS.md)", 0.5)
    reliability_prior_mean: float = _help("mean of the Beta prior on each labeler's eta (in (0.5, 1))", 0.8)
    reliability_prior_strength: float = _help("alpha + beta of that prior, in pseudo-comparisons (weak: 10)", 10.0)
    ensemble: int = _help("train N full members (seeds seed..seed+N-1, each on a bootstrap resample of the training "
                          "prompts) saved under OUT/members/<i>/ with OUT/ensemble.json (1 = one model)", 1)
    ensemble_heads: int = _help("the cheap ensemble: one shared encoder with N linear heads, each on its own Poisson(1) "
                                "bootstrap weights of the prompt groups (1 = one head); not with --ensemble > 1", 1)

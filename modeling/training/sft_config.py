"""Settings of supervised fine-tuning on demonstrations, importable without torch (the CLI's flags)."""
from __future__ import annotations

from dataclasses import dataclass

from modeling.config_fields import help_field as _help
from modeling.models.lora import LoraFields


@dataclass
class SFTConfig(LoraFields):
    """One SFT run (``python -m modeling sft``); saved as ``training_config.json`` in the checkpoint.

    LoRA / QLoRA fields (``lora_r``, ...) come from :class:`modeling.models.lora.LoraFields`."""

    output_dir: str = _help("directory for the fine-tuned policy", "")
    policy: str = _help("policy checkpoint to start from (save_pretrained format)", "")
    epochs: int = _help("passes over the training demonstrations", 3)
    max_steps: int = _help("stop after this many optimizer steps (0 = run all epochs)", 0)
    batch_size: int = _help("demonstrations per optimizer step", 16)
    learning_rate: float = _help("AdamW peak learning rate", 5e-5)
    warmup_ratio: float = _help("fraction of steps with linear warm-up, then linear decay to 0", 0.1)
    weight_decay: float = _help("AdamW weight decay on weight matrices", 0.0)
    max_grad_norm: float = _help("gradient clipping norm (0 = no clipping)", 1.0)
    max_length: int = _help("tokens per prompt + completion; the completion is cut first", 256)
    eval_fraction: float = _help("share of demonstrations held out for the eval loss (none below 20 rows)", 0.05)
    log_every: int = _help("record the loss in the history every N steps", 10)
    device: str = _help("'cuda', 'cpu' or empty for CUDA when available", "")
    seed: int = _help("seed for the split and the batch order", 0)
    inputs: dict = _help("ids or paths of what this run was trained from (demonstrations, policy)", factory=dict)

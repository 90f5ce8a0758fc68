"""Settings of the policy bootstrap, importable without torch (the CLI builds its flags from them)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from modeling.config_fields import help_field as _help

DEMONSTRATIONS_PATH = Path(__file__).parents[1] / "data" / "demonstrations.jsonl"


@dataclass(frozen=True)
class PolicySize:
    """Shape of the GPT-2 policy."""

    n_embd: int = _help("hidden size", 128)
    n_layer: int = _help("transformer blocks", 4)
    n_head: int = _help("attention heads per block", 4)
    n_positions: int = _help("longest prompt + response, in tokens", 128)


POLICY_SIZES = {
    "tiny": PolicySize(n_embd=16, n_layer=2, n_head=2),  # tests: seconds to train, babbles
    "small": PolicySize(n_embd=128, n_layer=4, n_head=4),  # default: minutes on 2 CPU cores
}


@dataclass
class BootstrapConfig:
    """Settings of one bootstrap run; saved as ``training_config.json`` in the checkpoint."""

    out_dir: str = _help("where the checkpoint is written (must not exist yet, or be empty)", "")
    size: str = _help("policy shape, a key of POLICY_SIZES: tiny (tests) or small (default)", "small")
    steps: int = _help("optimizer steps", 1000)
    batch_size: int = _help("demonstrations per step", 32)
    learning_rate: float = _help("peak AdamW learning rate", 2e-3)
    warmup_steps: int = _help("linear warm-up steps before cosine decay to 10% of the peak", 50)
    weight_decay: float = _help("AdamW weight decay on weight matrices", 0.01)
    dropout: float = _help("dropout in embeddings, attention and residuals", 0.0)
    vocab_size: int = _help("BPE vocabulary size, special tokens included", 2048)
    eval_fraction: float = _help("share of demonstrations held out for the eval loss", 0.05)
    eval_prompts: int = _help("fresh prompts answered greedily and gold-scored at the end (0: skip)", 60)
    cpu_threads: int = _help("torch CPU threads while training (0: torch's default); one is fastest for these small ops", 1)
    seed: int = _help("seed for the split, batch order, initialisation and eval prompts", 0)
    demonstrations: str = _help("JSONL of {prompt, completion} lines (TRL's prompt-completion format)", str(DEMONSTRATIONS_PATH))

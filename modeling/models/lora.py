"""LoRA (and QLoRA on CUDA) through peft, shared by sft, dpo, ppo and train-reward.

A LoRA run freezes the base weights and trains low-rank adapters ``W + (alpha / r) * B A`` on the
linear layers of the transformer blocks (GPT-2's ``Conv1D`` included), plus, for a reward model, its
score head in full. Its output directory is a peft adapter directory whose ``base_model_name_or_path``
is the absolute path of the base checkpoint. The frozen reference of DPO and PPO is the same base
with the adapter disabled (``disable_adapter()``), so one copy of the base is in memory, not two.

Importable without torch: the config fields are what the CLI builds its flags from.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from modeling.config_fields import help_field as _help
from modeling.errors import InputError

ADAPTER_CONFIG = "adapter_config.json"
MERGED_DIR = "merged"


@dataclass
class LoraFields:
    """Config fields of LoRA / QLoRA and the CUDA memory options, mixed into every training config."""

    lora_r: int = _help("LoRA rank; 0 = full fine-tuning (the output is then a full checkpoint)", 0)
    lora_alpha: float = _help("LoRA scale numerator: adapters add (alpha / r) * B A", 16.0)
    lora_dropout: float = _help("dropout on the LoRA branch (0 keeps log-probs equal between passes)", 0.0)
    lora_target_modules: str = _help("comma-separated module names to adapt; empty = every linear layer "
                                     "(and GPT-2 Conv1D) inside the transformer blocks", "")
    merge: bool = _help("with LoRA, also write a full merged checkpoint in OUT/merged/", False)
    load_in_4bit: bool = _help("QLoRA: load the base in 4-bit NF4 (needs CUDA and bitsandbytes)", False)
    gradient_checkpointing: bool = _help("recompute activations in the backward pass (less memory, slower)", False)
    bf16: bool = _help("bf16 autocast on CUDA (ignored on CPU)", True)


def is_adapter_dir(path) -> bool:
    return bool(path) and (Path(path) / ADAPTER_CONFIG).is_file()


def is_checkpoint_dir(path) -> bool:
    """A full Hugging Face checkpoint (``config.json``) or a peft adapter directory over one."""
    return bool(path) and ((Path(path) / "config.json").is_file() or is_adapter_dir(path))


def adapter_base_path(path) -> str:
    """The base checkpoint an adapter directory was trained on; a full checkpoint is its own base."""
    if not is_adapter_dir(path):
        return str(path)
    return json.loads((Path(path) / ADAPTER_CONFIG).read_text())["base_model_name_or_path"]


def check_lora_settings(settings: LoraFields, device) -> None:
    """InputError (one line) for settings that cannot run here."""
    if settings.lora_r < 0:
        raise InputError(f"--lora-r must be >= 0 (0 = full fine-tuning), not {settings.lora_r}")
    if settings.lora_r and settings.lora_alpha <= 0:
        raise InputError("--lora-alpha must be > 0")
    if not 0.0 <= settings.lora_dropout < 1.0:
        raise InputError("--lora-dropout must be in [0, 1)")
    if settings.load_in_4bit:
        if getattr(device, "type", str(device)) != "cuda" or importlib.util.find_spec("bitsandbytes") is None:
            raise InputError("--load-in-4bit needs a CUDA GPU and the bitsandbytes package")
        if not settings.lora_r:
            raise InputError("--load-in-4bit trains adapters only: give --lora-r > 0")


def quantization_config():
    """QLoRA's 4-bit NF4 weights with bf16 compute (bitsandbytes; CUDA only)."""
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16, bnb_4bit_quant_type="nf4")


def autocast(device, bf16: bool):
    """bf16 autocast on a CUDA device that supports it; a no-op elsewhere (CPU runs in fp32)."""
    import torch

    if getattr(device, "type", str(device)) == "cuda" and bf16 and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _block_list(model):
    """The ModuleList of transformer blocks (GPT-2 ``transformer.h``, Llama ``model.layers``, BERT ``encoder.layer``)."""
    from torch import nn

    layers = getattr(model.config, "num_hidden_layers", None) or getattr(model.config, "n_layer", None)
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) == layers:
            return name
    raise ValueError("no list of transformer blocks found: pass --lora-target-modules")


def default_target_modules(model) -> list[str]:
    """Full names of every ``nn.Linear`` / GPT-2 ``Conv1D`` inside the transformer blocks.

    Names, not types, are handed to peft so that heads outside the blocks (LM head, score head,
    BERT's pooler) are never adapted even when they share a leaf name such as ``dense``.
    """
    from torch import nn
    from transformers.pytorch_utils import Conv1D

    prefix = _block_list(model) + "."
    return [name for name, module in model.named_modules()
            if name.startswith(prefix) and isinstance(module, (nn.Linear, Conv1D))]


def _reward_modules_to_save(model) -> list[str]:
    """The reward model's score head (trained in full) and, for a bias-free head, the final LayerNorm
    that :func:`modeling.models.reward_model.shift_reward` moves, so the saved adapter keeps the shift."""
    from torch import nn

    outputs = getattr(model.config, "num_labels", 1)  # N for the heads form of an ensemble
    heads = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear) and m.out_features == outputs]
    if not heads:
        raise ValueError(f"no {outputs}-output linear head found on the reward model")
    name, head = heads[-1]
    names = [name]
    if head.bias is None:
        norms = [n for n, m in model.named_modules() if isinstance(m, nn.LayerNorm) and m.bias is not None]
        names += norms[-1:]
    return names


def _train_only_adapters(model) -> None:
    for name, parameter in model.named_parameters():
        parameter.requires_grad = "lora_" in name or "modules_to_save" in name


def prepare_for_training(model, settings: LoraFields, task_type: str):
    """The model to train: ``model`` itself (full fine-tuning), or a peft model with fresh adapters.

    ``task_type`` is peft's ``"CAUSAL_LM"`` or ``"SEQ_CLS"``. A model loaded from an adapter directory
    keeps training that adapter (its rank wins over ``lora_r``); with ``lora_r`` 0 it is merged into
    its base and trained in full.
    """
    from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training
    from transformers.pytorch_utils import Conv1D

    if settings.gradient_checkpointing:
        inner = model.get_base_model() if isinstance(model, PeftModel) else model
        inner.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if isinstance(model, PeftModel):
        if not settings.lora_r:
            return model.merge_and_unload()
        _train_only_adapters(model)
        return model
    if not settings.lora_r:
        return model
    if getattr(model, "is_loaded_in_4bit", False):
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=settings.gradient_checkpointing,
                                                gradient_checkpointing_kwargs={"use_reentrant": False})
    if settings.lora_target_modules.strip():
        targets = [name.strip() for name in settings.lora_target_modules.split(",") if name.strip()]
    else:
        targets = default_target_modules(model)
    modules = dict(model.named_modules())
    fan_in_fan_out = any(isinstance(modules.get(name), Conv1D) for name in targets)  # GPT-2 stores W transposed
    lora = LoraConfig(r=settings.lora_r, lora_alpha=settings.lora_alpha, lora_dropout=settings.lora_dropout,
                      target_modules=targets, task_type=task_type, fan_in_fan_out=fan_in_fan_out,
                      modules_to_save=_reward_modules_to_save(model) if task_type == "SEQ_CLS" else None)
    return get_peft_model(model, lora)


def is_lora(model) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


def trainable_parameters(model) -> list:
    return [p for p in model.parameters() if p.requires_grad]


@contextlib.contextmanager
def reference_model(policy, reference=None):
    """The frozen reference to score with: ``reference`` when one was loaded, else ``policy`` with its
    adapter disabled, i.e. the same base weights before any adapter training (one copy in memory)."""
    if reference is not None:
        yield reference
    else:
        with policy.disable_adapter():
            yield policy


def reference_is_base(settings: LoraFields, policy_path: str, reference_path: str = "") -> bool:
    """True when the reference is the base under the adapter being trained, so disabling the adapter
    gives it: LoRA from a full checkpoint with no other reference, or a continued adapter whose base is
    the reference (a round after the first: policy = adapter over the first policy, reference = that)."""
    if not settings.lora_r:
        return False
    if not is_adapter_dir(policy_path):
        return reference_path in ("", policy_path)
    return bool(reference_path) and Path(adapter_base_path(policy_path)).resolve() == Path(reference_path).resolve()


def save_merged(model, tokenizer, out_dir: Path) -> None:
    """Write base + adapter merged into one full checkpoint in ``out_dir / "merged"``.

    Merges in place (no second copy; the in-memory model is plain afterwards). A 4-bit base is
    reloaded in full precision on the CPU from the saved adapter directory and merged there.
    """
    from peft import AutoPeftModelForCausalLM, AutoPeftModelForSequenceClassification

    if getattr(model, "is_loaded_in_4bit", False):
        auto = AutoPeftModelForSequenceClassification if model.peft_config["default"].task_type == "SEQ_CLS" \
            else AutoPeftModelForCausalLM
        model = auto.from_pretrained(str(out_dir))
    merged = model.merge_and_unload()
    merged.save_pretrained(out_dir / MERGED_DIR)
    tokenizer.save_pretrained(out_dir / MERGED_DIR)

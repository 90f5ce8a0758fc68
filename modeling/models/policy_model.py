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


def load_policy(path: str, device, *, load_in_4bit: bool = False) -> tuple[nn.Module, object]:
    """(causal LM without dropout, tokenizer padding prompts on the left) from a checkpoint directory.

    ``path`` is a full checkpoint or a peft adapter directory (``adapter_config.json``): then its base is
    loaded and the adapter put on it (frozen; :func:`modeling.models.lora.prepare_for_training` makes it
    trainable again). ``load_in_4bit`` loads the base quantized (QLoRA, CUDA only) straight onto the GPU.
    """
    from pathlib import Path

    from transformers import AutoModelForCausalLM

    from modeling.models.lora import adapter_base_path, is_adapter_dir, quantization_config

    tokenizer = load_tokenizer(path)
    base_path = str(Path(adapter_base_path(path)).resolve())  # absolute: a saved adapter names its base by it
    if load_in_4bit:
        model = AutoModelForCausalLM.from_pretrained(base_path, quantization_config=quantization_config(),
                                                     device_map={"": device})
    else:
        model = AutoModelForCausalLM.from_pretrained(base_path)
    if is_adapter_dir(path):
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(path))
    model = disable_dropout(model)
    return (model if load_in_4bit else model.to(device)), tokenizer

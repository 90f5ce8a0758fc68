"""A foreign chat model for tests: a tiny Llama with a ChatML template and EOS ``<|im_end|>``.

Nothing of the project's own prompt format: its tokenizer is a byte-level BPE trained here with the
special tokens ``<|endoftext|>`` (pad), ``<|im_start|>`` and ``<|im_end|>`` (EOS), and its
``chat_template`` is ChatML, as Qwen2 and many other chat checkpoints ship it. ``tiny_chat_model_dir``
is a ``save_pretrained`` directory (randomly initialised, hidden size 16, 2 layers) built once per
session; copy it to change it.
"""
from __future__ import annotations

import pytest

__all__ = ["tiny_chat_model_dir", "CHATML_TEMPLATE", "build_tiny_chat_model"]

CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tiny_chat_model(out_dir, texts=None, seed: int = 0):
    """Write a tiny ChatML Llama checkpoint to ``out_dir`` and return its path."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from modeling.training.policy_bootstrap import DEMONSTRATIONS_PATH, load_demonstrations

    if texts is None:
        texts = [f"{d.prompt}\n{d.completion}" for d in load_demonstrations(DEMONSTRATIONS_PATH)[:300]]
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.train_from_iterator(list(texts) + ["system user assistant"], trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        model_max_length=256, clean_up_tokenization_spaces=False)
    tokenizer.chat_template = CHATML_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=None, tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="session")
def tiny_chat_model_dir(tmp_path_factory):
    """Directory of a saved tiny ChatML Llama (read-only for tests: copy to change)."""
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny_chat") / "model")

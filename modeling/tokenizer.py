"""The policy's tokenizer and its prompt format, defined once for SFT, sampling, DPO and PPO.

A byte-level BPE (GPT-2 style) trained from scratch with ``tokenizers`` on the shipped
demonstrations, wrapped as a ``transformers.PreTrainedTokenizerFast`` so that it saves and loads
with ``save_pretrained`` / ``AutoTokenizer.from_pretrained`` like any Hugging Face tokenizer.

The chat format (also stored as the tokenizer's ``chat_template``)::

    <|bos|>User: {prompt}\\nAssistant: {response}<|eos|>

``format_prompt`` gives everything up to and including ``Assistant:``; a response is appended
with one leading space, which byte-level BPE attaches to its first word, so the tokens of
``format_prompt(p)`` are always a prefix of the tokens of ``format_example(p, r)``.
"""
from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

BOS = "<|bos|>"
EOS = "<|eos|>"
PAD = "<|pad|>"
SPECIAL_TOKENS = (PAD, BOS, EOS)  # ids 0, 1, 2 in every tokenizer trained here

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}" + BOS + "User: {{ message['content'] | trim }}\nAssistant:"
    "{% elif message['role'] == 'assistant' %} {{ message['content'] | trim }}" + EOS + "{% endif %}"
    "{% endfor %}"
)


def format_prompt(prompt: str) -> str:
    """The text the policy is conditioned on for ``prompt``; the response follows it directly."""
    return f"{BOS}User: {prompt.strip()}\nAssistant:"


def format_response(response: str) -> str:
    """The text the policy must produce for ``response``: a leading space, the text, then EOS."""
    return f" {response.strip()}{EOS}"


def format_example(prompt: str, response: str) -> str:
    """One training sequence: ``format_prompt(prompt) + format_response(response)``."""
    return format_prompt(prompt) + format_response(response)


def train_bpe_tokenizer(
    texts: Iterable[str],
    vocab_size: int = 2048,
    min_frequency: int = 2,
    model_max_length: int = 256,
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on ``texts`` (raw text, special tokens are added here).

    The result has ``bos``/``eos``/``pad`` tokens (ids 1, 2, 0), adds no special tokens by itself
    (``format_prompt`` writes BOS; ``format_response`` writes EOS), pads on the left for
    generation, and carries :data:`CHAT_TEMPLATE`. Any byte can be encoded, so nothing is unknown.
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        model_max_length=model_max_length,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def decode_completion(tokenizer: PreTrainedTokenizerFast, token_ids: Iterable[int]) -> str:
    """The text of generated ``token_ids``: cut at the first EOS, special tokens dropped, stripped."""
    ids = []
    for token_id in token_ids:
        if token_id == tokenizer.eos_token_id:
            break
        ids.append(int(token_id))
    return tokenizer.decode(ids, skip_special_tokens=True).strip()

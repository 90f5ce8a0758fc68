"""The default policy's tokenizer and its chat template.

A byte-level BPE (GPT-2 style) trained from scratch with ``tokenizers`` on the shipped
demonstrations, wrapped as a ``transformers.PreTrainedTokenizerFast`` so that it saves and loads
with ``save_pretrained`` / ``AutoTokenizer.from_pretrained`` like any Hugging Face tokenizer.

Its chat template (:data:`CHAT_TEMPLATE`) writes a conversation as::

    <|bos|>System: {system}\nUser: {user}\nAssistant: {assistant}<|eos|>\nUser: {user}\nAssistant:

(the trailing ``Assistant:`` is the generation prompt). A single user turn and its response are
therefore ``<|bos|>User: {prompt}\nAssistant: {response}<|eos|>``, the format the policy has
always been trained on. Every policy, this one or a user's own, is formatted through
:mod:`modeling.formats.chat_format`, which reads the template.
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
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}System: {{ message['content'] | trim }}\n"
    "{% elif message['role'] == 'user' %}User: {{ message['content'] | trim }}\n"
    "{% else %}Assistant: {{ message['content'] | trim }}{{ eos_token }}\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def corpus_text(prompt: str, response: str) -> str:
    """One demonstration as text for training the BPE merges (special tokens are added as such)."""
    return f"{BOS}User: {prompt.strip()}\nAssistant: {response.strip()}{EOS}"


def train_bpe_tokenizer(
    texts: Iterable[str],
    vocab_size: int = 2048,
    min_frequency: int = 2,
    model_max_length: int = 256,
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on ``texts`` (raw text, special tokens are added here).

    The result has ``bos``/``eos``/``pad`` tokens (ids 1, 2, 0), adds no special tokens by itself
    (the chat template writes BOS; :mod:`modeling.formats.chat_format` ends a response with EOS), pads on the
    left for generation, and carries :data:`CHAT_TEMPLATE`. Any byte can be encoded, so nothing is unknown.
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
    """The text of generated ``token_ids``: cut at the first EOS, special tokens dropped, stripped.

    A NUL becomes U+FFFD, as an undecodable byte does: a byte-level model can emit one, and no
    database stores it (Postgres text refuses it), so the distinct-completion rule sees the stored text.
    """
    ids = []
    for token_id in token_ids:
        if token_id == tokenizer.eos_token_id:
            break
        ids.append(int(token_id))
    return tokenizer.decode(ids, skip_special_tokens=True).replace("\x00", "\ufffd").strip()

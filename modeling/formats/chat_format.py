"""The one way a policy sees a prompt and a response: the tokenizer's own chat template.

SFT, sampling, DPO and its reference, PPO rollouts and KL, and evaluation all get their token ids
from :func:`encode_prompt` (what sampling conditions on) and :func:`encode_example` (what training
scores), so a model is trained on exactly the ids it is sampled from.

With a chat template (``tokenizer.chat_template``):

- prompt ids: ``apply_chat_template(messages, add_generation_prompt=True)``;
- example: ``apply_chat_template(messages + [assistant response])``, whose text must start with the
  prompt's text (checked: a template that rewrites earlier turns cannot be trained on here). The
  response ids are the rest of the text, cut before the template's first EOS string (what a template
  writes after the end of the turn, such as ChatML's ``\\n``, is not part of the response), then the
  tokenizer's real EOS id, exactly once. The two are tokenized separately, so the prompt's ids are a
  prefix of the example's ids by construction.

Without one, the plain fallback: the tokenizer's BOS (when it has one), each turn as
``Role: content`` followed by a blank line, then ``Assistant:``; a response is a space, its text
and the EOS id. A tokenizer without an EOS token is refused.

Special-token strings inside message content are tokenized as special tokens, as
``apply_chat_template`` does: content is trusted training data here.
"""
from __future__ import annotations

from modeling.formats.conversation import Prompt, as_messages


def _eos_id(tokenizer) -> int:
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no EOS token; set tokenizer.eos_token before training or sampling")
    return int(tokenizer.eos_token_id)


def _ids(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def prompt_text(tokenizer, prompt: Prompt) -> str:
    """The text the policy is conditioned on for ``prompt``; the response follows it directly."""
    messages = as_messages(prompt)
    if tokenizer.chat_template:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    turns = "".join(f"{m['role'].capitalize()}: {m['content'].strip()}\n\n" for m in messages)
    return f"{tokenizer.bos_token or ''}{turns}Assistant:"


def response_text(tokenizer, prompt: Prompt, response: str, head: str | None = None) -> str:
    """The response as the template writes it after :func:`prompt_text` (``head``, when already
    rendered), without EOS or what follows it."""
    if not tokenizer.chat_template:
        return f" {response.strip()}"
    head = prompt_text(tokenizer, prompt) if head is None else head
    full = tokenizer.apply_chat_template(as_messages(prompt) + [{"role": "assistant", "content": response}],
                                         tokenize=False)
    if not full.startswith(head):
        raise ValueError("the tokenizer's chat template does not render the prompt (with its generation prompt) "
                         "as the start of prompt + response, so training and sampling would see different text")
    rest = full[len(head):]
    eos = tokenizer.eos_token
    return rest[: rest.index(eos)] if eos and eos in rest else rest


def encode_prompt(tokenizer, prompt: Prompt) -> list[int]:
    """Token ids the policy samples a response after."""
    _eos_id(tokenizer)
    return _ids(tokenizer, prompt_text(tokenizer, prompt))


def encode_example(tokenizer, prompt: Prompt, response: str, max_length: int | None = None) -> tuple[list[int], int]:
    """``(prompt ids + response ids + [EOS], number of prompt ids)`` for one training example.

    Over ``max_length``: the response is cut first (its EOS goes with it), then the prompt loses its
    start; at least one response token is always kept.
    """
    return encode_examples(tokenizer, prompt, [response], max_length)[0]


def encode_examples(tokenizer, prompt: Prompt, responses, max_length: int | None = None) -> list[tuple[list[int], int]]:
    """:func:`encode_example` for several responses to one prompt, rendering and tokenizing the prompt once."""
    eos_id = _eos_id(tokenizer)
    head = prompt_text(tokenizer, prompt)
    prompt_ids = _ids(tokenizer, head)
    return [_join(prompt_ids, _ids(tokenizer, response_text(tokenizer, prompt, r, head)) + [eos_id], max_length)
            for r in responses]


def _join(prompt_ids: list[int], response_ids: list[int], max_length: int | None) -> tuple[list[int], int]:
    if max_length is not None:
        response_ids = response_ids[: max(1, max_length - len(prompt_ids))]
        prompt_ids = prompt_ids[max(0, len(prompt_ids) + len(response_ids) - max_length):]
    return list(prompt_ids) + response_ids, len(prompt_ids)


def left_padded_prompts(tokenizer, prompts, device=None):
    """``(input_ids, attention_mask)`` ``(B, P)`` of :func:`encode_prompt` for each prompt, padded on the left."""
    from modeling.models.logprobs import pad_batch

    encoded = [encode_prompt(tokenizer, p) for p in prompts]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else _eos_id(tokenizer)
    input_ids, attention_mask, _ = pad_batch(encoded, [len(ids) for ids in encoded], pad_id, side="left")
    return input_ids.to(device), attention_mask.to(device)

"""A prompt is a string or a conversation: TRL's conversational format, checked once, here.

A conversation is a list of ``{"role": "system"|"user"|"assistant", "content": str}`` messages
ending with a user turn; a system message may only come first. A string is the same as one user
message (:func:`as_messages`). Inside ``modeling`` a conversation is a tuple of frozen
:class:`Message` objects, so a prompt of either kind is hashable and groups rankings by equality;
:func:`prompt_to_json` turns it back into what the JSONL files hold.

Limits (each refused with a message naming the field): at most :data:`MAX_MESSAGES` messages and
:data:`MAX_PROMPT_CHARS` characters of content in all; no empty content; no keys other than
``role`` and ``content`` in a message.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

ROLES = ("system", "user", "assistant")
MAX_MESSAGES = 64
MAX_PROMPT_CHARS = 100_000


@dataclass(frozen=True)
class Message:
    """One turn of a conversation."""

    role: str  # "system", "user" or "assistant"
    content: str

    def to_json(self) -> dict:
        return {"role": self.role, "content": self.content}


Prompt = Union[str, tuple[Message, ...]]


def parse_prompt(value: object, field: str = "prompt") -> Prompt:
    """``value`` as a :data:`Prompt`; ValueError naming ``field`` says what is wrong with it."""
    if isinstance(value, str):
        if not value.strip():
            raise ValueError(f"'{field}' must be a non-empty string or a list of messages")
        if len(value) > MAX_PROMPT_CHARS:
            raise ValueError(f"'{field}' is longer than {MAX_PROMPT_CHARS:,} characters")
        return value
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"'{field}' must be a non-empty string or a non-empty list of messages")
    if len(value) > MAX_MESSAGES:
        raise ValueError(f"'{field}' has {len(value)} messages; at most {MAX_MESSAGES} are allowed")
    messages = tuple(_parse_message(item, f"{field}[{index}]") for index, item in enumerate(value))
    if any(m.role == "system" for m in messages[1:]):
        raise ValueError(f"'{field}' may have a system message only as its first message")
    if messages[-1].role != "user":
        raise ValueError(f"'{field}' must end with a user message, not {messages[-1].role!r}")
    if sum(len(m.content) for m in messages) > MAX_PROMPT_CHARS:
        raise ValueError(f"'{field}' is longer than {MAX_PROMPT_CHARS:,} characters")
    return messages


def _parse_message(item: object, where: str) -> Message:
    if isinstance(item, Message):
        item = item.to_json()
    if not isinstance(item, dict):
        raise ValueError(f"'{where}' must be an object with 'role' and 'content'")
    extra = sorted(set(item) - {"role", "content"})
    if extra:
        raise ValueError(f"'{where}' has unknown key(s) {extra}; a message has only 'role' and 'content'")
    role, content = item.get("role"), item.get("content")
    if role not in ROLES:
        raise ValueError(f"'{where}.role' is {role!r}; expected one of {', '.join(ROLES)}")
    if not isinstance(content, str) or not content.strip():
        raise ValueError(f"'{where}.content' must be a non-empty string")
    return Message(role, content)


def prompt_sort_key(prompt: Prompt) -> tuple:
    """A total order over prompts of both kinds: strings first, in their own order, then conversations."""
    if isinstance(prompt, str):
        return (0, prompt, ())
    return (1, "", tuple((m.role, m.content) for m in prompt))


def is_conversation(prompt: Prompt) -> bool:
    return not isinstance(prompt, str)


def as_messages(prompt: Prompt) -> list[dict]:
    """The prompt as chat messages (what ``apply_chat_template`` takes); a string is one user turn."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [m.to_json() for m in prompt]


def prompt_to_json(prompt: Prompt) -> str | list[dict]:
    """What a JSONL file holds for ``prompt``: the string, or the list of message objects."""
    return prompt if isinstance(prompt, str) else [m.to_json() for m in prompt]


def last_user_message(prompt: Prompt) -> str:
    """The instruction being answered: the string itself, or the conversation's final user turn."""
    return prompt if isinstance(prompt, str) else prompt[-1].content


def prompt_text(prompt: Prompt) -> str:
    """Plain text of ``prompt`` for an encoder reward model, search and CSV: a string unchanged; a
    conversation as ``Role: content`` turns separated by blank lines (the encoder's text pair
    is this and the completion)."""
    if isinstance(prompt, str):
        return prompt
    return "\n\n".join(f"{m.role.capitalize()}: {m.content}" for m in prompt)

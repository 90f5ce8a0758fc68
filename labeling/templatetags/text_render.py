"""Prompts and completions on a page: ``{{ text|markdown }}``, ``{% text_view text %}``, ``{% prompt_view prompt %}``.

``text_view`` shows one text (a completion, a string prompt, one message) as sanitised Markdown
(:func:`labeling.rendering.render_markdown`) with a "raw" toggle that swaps in the exact text
(static/labeling/raw-toggle.js). ``prompt_view`` takes a ``Prompt``, a list of messages or a string:
a string is one ``text_view``; a conversation is its turns in order, each with its role, and a long
system prompt folded into a ``<details>`` so the turn being answered stays in view.
"""
from __future__ import annotations

from django import template

from labeling.rendering import render_markdown

register = template.Library()

# A system prompt longer than this, in characters or in lines, starts folded.
SYSTEM_FOLD_CHARS = 300
SYSTEM_FOLD_LINES = 4
ROLE_LABELS = {"system": "System", "user": "User", "assistant": "Assistant"}


@register.filter
def markdown(text):
    return render_markdown(text)


@register.inclusion_tag("labeling/_text.html")
def text_view(text):
    return _text(text)


@register.inclusion_tag("labeling/_prompt.html")
def prompt_view(prompt):
    messages = _messages_of(prompt)
    if messages is None:
        return {"turns": None, "text": _text(getattr(prompt, "text", prompt))}
    return {"turns": [_turn(message) for message in messages], "text": None}


def _text(text) -> dict:
    raw = "" if text is None else str(text)
    return {"html": render_markdown(raw), "raw": raw}


def _messages_of(prompt) -> list | None:
    """A conversation's messages, or None for a string prompt (a ``Prompt`` row, a list, or a str)."""
    if hasattr(prompt, "is_conversation"):
        return list(prompt.messages) if prompt.is_conversation else None
    if isinstance(prompt, (list, tuple)) and prompt:
        return list(prompt)
    return None


def _turn(message) -> dict:
    if isinstance(message, dict):
        role, content = message.get("role"), message.get("content")
    else:  # modeling.formats.conversation.Message
        role, content = getattr(message, "role", None), getattr(message, "content", None)
    role = str(role or "")
    content = "" if content is None else str(content)
    lines = content.splitlines()
    return {
        "role": role if role in ROLE_LABELS else "other",
        "label": ROLE_LABELS.get(role, role or "Message"),
        "folded": role == "system" and (len(content) > SYSTEM_FOLD_CHARS or len(lines) > SYSTEM_FOLD_LINES),
        "preview": next((line.strip() for line in lines if line.strip()), ""),
        "size": f"{len(lines)} line{'s' if len(lines) != 1 else ''}, {len(content):,} characters",
        "text": _text(content),
    }

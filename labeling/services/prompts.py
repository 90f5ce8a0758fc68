"""A prompt value (a string or a conversation) as the fields of a ``Prompt`` row, and back.

Every place that creates a ``Prompt`` from a value goes through :func:`prompt_fields`, so a
conversation is always stored the same way: ``messages`` holds its JSON messages and ``text`` its
plain text (``modeling.formats.conversation.prompt_text``) for search, CSV and ``__str__``. Every job that
hands a stored prompt to ``modeling`` takes :func:`prompt_value`.
"""
from __future__ import annotations

from labeling.models import Prompt
from modeling.formats.conversation import Prompt as PromptValue
from modeling.formats.conversation import parse_prompt, prompt_text, prompt_to_json


def prompt_fields(value) -> dict:
    """``{"text", "messages"}`` of a row holding ``value``: a string, a tuple of ``Message`` or the JSON
    list of messages. ``messages`` is None for a string. ValueError (naming ``prompt``) on a bad value."""
    parsed = parse_prompt(value)
    if isinstance(parsed, str):
        return {"text": parsed, "messages": None}
    return {"text": prompt_text(parsed), "messages": prompt_to_json(parsed)}


def prompt_value(prompt: Prompt) -> PromptValue:
    """What ``modeling`` takes for a stored prompt: its string, or its conversation as a tuple of
    ``Message`` (hashable, so it also matches sample results back to their rows)."""
    return parse_prompt(prompt.value, f"prompt {prompt.pk}")

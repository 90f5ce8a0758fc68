"""The one way config dataclasses declare a field: a default plus one line of help.

The help text is what ``python -m modeling <command> --help`` prints for the generated flag and what
a reader of ``training_config.json`` looks up.
"""
from __future__ import annotations

from dataclasses import field


def help_field(text: str, default=None, factory=None):
    """``field(default=...)`` (or ``default_factory`` for mutable defaults) with ``metadata["help"]``."""
    if factory is not None:
        return field(default_factory=factory, metadata={"help": text})
    return field(default=default, metadata={"help": text})

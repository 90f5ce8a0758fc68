"""A project's flags and skip reasons, read as ``(key, label)`` choices.

``Project.flags`` and ``Project.skip_reasons`` are JSON ``[[key, label], ...]``; the settings page
checks them, but the Django admin edits the raw JSON, so they are read tolerantly here: an entry that
is not a pair with a text key is left out, and a missing label shows the key. Rankings and skips
store the keys; the submit and skip services accept only the keys of the task's project.
"""
from __future__ import annotations


def label_choices(pairs) -> list[tuple[str, str]]:
    """``[[key, label], ...]`` -> ``[(key, label), ...]`` in the project's order, first of a key wins."""
    choices: dict[str, str] = {}
    for item in pairs if isinstance(pairs, list) else []:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            continue
        key, label = item
        if isinstance(key, str) and key and key not in choices:
            choices[key] = label if isinstance(label, str) and label.strip() else key
    return list(choices.items())


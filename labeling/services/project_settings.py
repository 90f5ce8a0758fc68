"""The one check of a project's settings, used by project_create and project_update.

:func:`project_settings_validate` takes every editable field (:data:`SETTINGS_FIELDS`), refuses the
first bad one with a :class:`RejectedInput` naming it, and returns the values normalised (names and
labels stripped). Flags and skip reasons are ``[[key, label], ...]``: keys are what rankings and
skips store, so they are slug-like and unique, and a project needs at least one skip reason.
"""
from __future__ import annotations

import re

from labeling.errors import RejectedInput, is_finite_number
from labeling.models import ModelVersion, TrainingRound, default_project_id

SETTINGS_FIELDS = (
    "name", "instructions", "k_min", "k_max", "required_rankings", "lease_minutes", "flags", "skip_reasons",
    "ask_scores", "score_label_low", "score_label_high", "gold_min_accuracy", "gold_min_tasks",
    "gold_rate", "auto_start_every", "auto_algo", "reward_base", "round_defaults", "base_policy",
)
NAME_MAX_LENGTH = 200
INSTRUCTIONS_MAX_CHARS = 50_000
LEASE_MINUTES_MAX = 7 * 24 * 60  # a week
LABEL_KEY = re.compile(r"^[A-Za-z0-9_-]{1,40}$")  # Skip.reason holds 40 characters
LABEL_MAX_LENGTH = 200
LABELS_MAX = 30
SCORE_LABEL_MAX_LENGTH = 60
GOLD_MIN_TASKS_MAX = 10_000
AUTO_START_EVERY_MAX = 1_000_000
REWARD_BASE_MAX_LENGTH = 500


def project_settings_validate(values: dict, *, project_id: int | None = None) -> dict:
    """``values`` (every key of :data:`SETTINGS_FIELDS`) checked and normalised; RejectedInput names
    the first bad field. Ranges: 2 <= k_min <= k_max <= 9, 1 <= required_rankings <= 50 (or None),
    1 <= lease_minutes <= a week (or None), 0 <= gold_min_accuracy <= 1 (or None), 0 <= gold_rate <= 1
    (the share of leases that are gold tasks served as honeypots; 0: gold tasks are ordinary queue
    items, see ``labeling.services.assignment``), auto_start_every
    >= 0 (or None), auto_algo blank, dpo or ppo; round_defaults as rounds take them
    (:func:`labeling.services.rounds.round_defaults_check`); base_policy None or a policy version of
    the project (``project_id``) or of ``default``, never another project's."""
    missing = set(SETTINGS_FIELDS) - set(values)
    if missing:
        raise TypeError(f"project settings without {sorted(missing)}")
    v = dict(values)
    v["name"] = _text(v["name"], "name", NAME_MAX_LENGTH).strip()
    if not v["name"]:
        raise RejectedInput("A project needs a name.", field="name")
    v["instructions"] = _text(v["instructions"], "instructions", INSTRUCTIONS_MAX_CHARS)
    k_min, k_max = _whole(v["k_min"], "k_min"), _whole(v["k_max"], "k_max")
    if not 2 <= k_min <= k_max <= 9:
        field = "k_min" if not 2 <= k_min <= 9 else "k_max"
        raise RejectedInput(f"Need 2 <= k_min <= k_max <= 9, got k_min={k_min}, k_max={k_max}.", field=field)
    _optional_range(v["required_rankings"], "required_rankings", 1, 50)
    _optional_range(v["lease_minutes"], "lease_minutes", 1, LEASE_MINUTES_MAX)
    v["flags"] = _labels(v["flags"], "flags")
    v["skip_reasons"] = _labels(v["skip_reasons"], "skip_reasons")
    if not v["skip_reasons"]:
        raise RejectedInput("A project needs at least one skip reason.", field="skip_reasons")
    if not isinstance(v["ask_scores"], bool):
        raise RejectedInput("ask_scores must be true or false.", field="ask_scores")
    for field in ("score_label_low", "score_label_high"):
        v[field] = _text(v[field], field, SCORE_LABEL_MAX_LENGTH).strip()
    v["gold_min_accuracy"] = _fraction(v["gold_min_accuracy"], "gold_min_accuracy")
    v["gold_rate"] = _fraction(v["gold_rate"], "gold_rate", optional=False)
    _optional_range(v["gold_min_tasks"], "gold_min_tasks", 1, GOLD_MIN_TASKS_MAX, optional=False)
    _optional_range(v["auto_start_every"], "auto_start_every", 0, AUTO_START_EVERY_MAX)
    if v["auto_algo"] not in ("", *TrainingRound.Algo.values):
        raise RejectedInput(f"auto_algo must be blank (the ROUND_AUTO_ALGO setting), dpo or ppo, "
                            f"not {v['auto_algo']!r}.", field="auto_algo")
    v["reward_base"] = _text(v["reward_base"], "reward_base", REWARD_BASE_MAX_LENGTH).strip()
    if any(ch in v["reward_base"] for ch in "\r\n\t\x00"):
        raise RejectedInput("reward_base is one path or hub id, on one line.", field="reward_base")
    from labeling.services.rounds import round_defaults_check

    round_defaults_check(v["round_defaults"])
    _check_base_policy(v["base_policy"], project_id)
    return v


def _check_base_policy(version, project_id: int | None) -> None:
    if version is None:
        return
    allowed = {default_project_id(), project_id}
    if not isinstance(version, ModelVersion) or version.kind != ModelVersion.Kind.POLICY \
            or version.project_id not in allowed:
        raise RejectedInput("base_policy must be a policy version of this project or of default.",
                            field="base_policy")


def _text(value, field: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise RejectedInput(f"{field} must be text.", field=field)
    if len(value) > max_length:
        raise RejectedInput(f"{field} is limited to {max_length} characters.", field=field)
    return value


def _whole(value, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise RejectedInput(f"{field} must be a whole number, not {value!r}.", field=field)
    return value


def _optional_range(value, field: str, low: int, high: int, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not low <= _whole(value, field) <= high:
        raise RejectedInput(f"{field} must be between {low} and {high}.", field=field)


def _fraction(value, field: str, *, optional: bool = True) -> float | None:
    if value is None and optional:
        return None
    if not is_finite_number(value) or not 0 <= value <= 1:
        raise RejectedInput(f"{field} must be between 0 and 1, not {value!r}.", field=field)
    return float(value)


def _labels(pairs, field: str) -> list[list[str]]:
    """``[[key, label], ...]`` with slug-like unique keys and non-blank labels."""
    if not isinstance(pairs, (list, tuple)) or len(pairs) > LABELS_MAX:
        raise RejectedInput(f"{field}: at most {LABELS_MAX} lines of key: label.", field=field)
    seen, cleaned = set(), []
    for pair in pairs:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(isinstance(p, str) for p in pair):
            raise RejectedInput(f"{field}: each entry is a key and a label.", field=field)
        key, label = pair[0].strip(), pair[1].strip()
        if not LABEL_KEY.match(key):
            raise RejectedInput(f"{field}: the key {key!r} must be 1 to 40 letters, digits, - or _.", field=field)
        if key in seen:
            raise RejectedInput(f"{field}: the key {key!r} is there twice.", field=field)
        if not label or len(label) > LABEL_MAX_LENGTH:
            raise RejectedInput(f"{field}: the label of {key!r} must be 1 to {LABEL_MAX_LENGTH} characters.",
                                field=field)
        seen.add(key)
        cleaned.append([key, label])
    return cleaned

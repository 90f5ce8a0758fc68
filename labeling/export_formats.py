"""Export lines from ranking records: pure functions, no database (the service streams records in).

A record is :func:`labeling.selectors.exports.ranking_record`'s K-way dict (DESIGN.md). Formats:

* **rankings** — the record itself, one JSON object a line (what ``python -m modeling`` reads).
* **pairs** — TRL's ``{"prompt", "chosen", "rejected"}``; tied pairs are dropped, as the pairwise
  losses drop them. A conversation's pairs are TRL's conversational ones: ``{"prompt": [messages],
  "chosen": [{"role": "assistant", "content": str}], "rejected": [...]}``. Two modes:

  - ``per_labeler`` (the default): one row per labeler per strictly ordered pair, with a ``labeler``
    column (TRL's trainers drop unused columns). Each judgement is data, as in InstructGPT and in
    this project's own reward model: a pair three labelers agree on weighs three times, a split pair
    pulls both ways instead of being decided by a coin. These are the same pairs ``python -m modeling
    export-pairs`` makes of the rankings export, and nothing is lost (``import_preferences`` reads
    them back with their labelers).
  - ``majority``: one row per pair of a task's completions that more of its labelers ordered one
    way than the other (the sum of their strict preferences; ties and even splits dropped) — a
    smaller, cleaner set for trainers that cannot take label noise.
* **csv** — one row per ranking: ids, labeler, time, prompt (a conversation as its plain text,
  ``Role: content`` turns), the ranking as JSON indexes and the
  completions ``completion_0`` .. ``completion_8``; every cell goes through the stats CSV's formula
  neutraliser (a cell starting ``= + - @``, tab or CR gets a leading apostrophe).
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable

from labeling.agreement import pair_signs
from labeling.import_formats import MAX_K
from modeling.formats.conversation import as_messages, parse_prompt, prompt_text

PAIRS_MODES = ("per_labeler", "majority")
DEFAULT_PAIRS_MODE = "per_labeler"
CSV_HEADER = ["ranking_id", "task_id", "labeler", "created_at", "prompt", "ranking", "k"] + [
    f"completion_{i}" for i in range(MAX_K)]


def json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def with_messages(record: dict) -> dict:
    """The record with a string prompt as one user message, so it sits beside conversations."""
    prompt = record["prompt"]
    return {**record, "prompt": as_messages(prompt)} if isinstance(prompt, str) else record


def _pair(record: dict, better: int, worse: int) -> dict:
    prompt, completions = record["prompt"], record["completions"]
    if isinstance(prompt, str):
        return {"prompt": prompt, "chosen": completions[better], "rejected": completions[worse]}
    return {"prompt": prompt, "chosen": [{"role": "assistant", "content": completions[better]}],
            "rejected": [{"role": "assistant", "content": completions[worse]}]}


def labeler_pairs(record: dict) -> list[dict]:
    """Every strictly ordered pair of one ranking, with its labeler; ties dropped."""
    rows = []
    for (a, b), sign in pair_signs(record["ranking"]).items():
        if sign:
            rows.append({**_pair(record, *((a, b) if sign > 0 else (b, a))), "labeler": record["labeler"]})
    return rows


def majority_pairs(records: Iterable[dict]) -> list[dict]:
    """One task's rankings (same prompt, same completions) -> the pairs their majority orders."""
    votes: dict[tuple[int, int], int] = defaultdict(int)
    first = None
    for record in records:
        first = first or record
        for pair, sign in pair_signs(record["ranking"]).items():
            votes[pair] += sign
    return [_pair(first, *((a, b) if total > 0 else (b, a))) for (a, b), total in sorted(votes.items()) if total]


def csv_row(*, ranking_id: int, created_at: str, record: dict) -> list:
    completions = record["completions"]
    prompt = record["prompt"] if isinstance(record["prompt"], str) else prompt_text(parse_prompt(record["prompt"]))
    return [ranking_id, record["task_id"], record["labeler"], created_at, prompt,
            json.dumps(record["ranking"]), len(completions)] + completions + [""] * (MAX_K - len(completions))


def dataset_card(*, pairs: int, rankings: int, pairs_mode: str, filters: str) -> str:
    """README.md of the ``hf`` export: the ``configs:`` header makes ``datasets.load_dataset(dir)``
    load ``train.jsonl`` (pairs) by default and ``rankings.jsonl`` as the ``rankings`` config."""
    labeler = ", and the `labeler` who judged it" if pairs_mode == "per_labeler" else ""
    return f"""---
configs:
- config_name: default
  data_files:
  - split: train
    path: train.jsonl
- config_name: rankings
  data_files:
  - split: train
    path: rankings.jsonl
---
# Preference data exported from RLHF Loop

- `train.jsonl` (config `default`): {pairs} preference pairs in TRL's format, `prompt`, `chosen`,
  `rejected`{labeler} (mode `{pairs_mode}`; tied pairs dropped). Load it with
  `datasets.load_dataset("<this directory>")` and pass it to TRL's `RewardTrainer` or `DPOTrainer`.
- `rankings.jsonl` (config `rankings`): the {rankings} K-way rankings they come from, `prompt`,
  `completions`, `ranking` (tiers best to worst of indexes into `completions`; a tier of two or more
  is a tie), `labeler`: the input of `python -m modeling train-reward`.

Filters: {filters}.
"""

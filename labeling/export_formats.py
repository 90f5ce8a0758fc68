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
  completions ``completion_0`` .. ``completion_8``, then the labeler's ``comment``, ``score_0`` ..
  ``score_8`` (empty: not scored) and ``flags_0`` .. ``flags_8`` (flag keys joined by ``;``), added
  after the old columns so a sheet that reads them by position still works; every cell goes through
  the stats CSV's formula neutraliser (a cell starting ``= + - @``, tab or CR gets a leading apostrophe).

Scores, flags and comments in pairs: a ``per_labeler`` row carries that labeler's ``chosen_score``,
``rejected_score`` (1-7 or null), ``chosen_flags``, ``rejected_flags`` (lists of flag keys) and
``comment`` (``import_preferences`` keeps them). A ``majority`` row speaks for all of a task's
labelers: ``chosen_mean_score`` and ``rejected_mean_score`` are the means of theirs (null when none
scored it; named apart, as a mean is no one labeler's 1-7 score), each flags list holds every flag
any of them gave that completion, once, and it has no comment (one labeler's remark is not the
majority's). TRL's trainers drop these columns unless asked for them.
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
CSV_HEADER = (["ranking_id", "task_id", "labeler", "created_at", "prompt", "ranking", "k"]
              + [f"completion_{i}" for i in range(MAX_K)] + ["comment"]
              + [f"score_{i}" for i in range(MAX_K)] + [f"flags_{i}" for i in range(MAX_K)])
CSV_FLAG_SEPARATOR = ";"


def json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def with_messages(record: dict) -> dict:
    """The record with a string prompt as one user message, so it sits beside conversations."""
    prompt = record["prompt"]
    return {**record, "prompt": as_messages(prompt)} if isinstance(prompt, str) else record


def _pair(record: dict, better: int, worse: int, scores: list, flags: list[list[str]], *,
          score_key: str = "score") -> dict:
    """One pairs row; ``scores`` and ``flags`` are per completion index, like the record's own, and
    go out as ``chosen_<score_key>`` and ``rejected_<score_key>``."""
    prompt, completions = record["prompt"], record["completions"]
    if isinstance(prompt, str):
        row = {"prompt": prompt, "chosen": completions[better], "rejected": completions[worse]}
    else:
        row = {"prompt": prompt, "chosen": [{"role": "assistant", "content": completions[better]}],
               "rejected": [{"role": "assistant", "content": completions[worse]}]}
    return {**row, f"chosen_{score_key}": scores[better], f"rejected_{score_key}": scores[worse],
            "chosen_flags": flags[better], "rejected_flags": flags[worse]}


def _labels(record: dict) -> tuple[list, list[list[str]]]:
    """The record's scores and flags per completion (a record from before they were exported: none)."""
    k = len(record["completions"])
    return record.get("scores") or [None] * k, record.get("flags") or [[] for _ in range(k)]


def labeler_pairs(record: dict) -> list[dict]:
    """Every strictly ordered pair of one ranking, with its labeler, their scores, flags and comment;
    ties dropped."""
    scores, flags = _labels(record)
    rows = []
    for (a, b), sign in pair_signs(record["ranking"]).items():
        if sign:
            better, worse = (a, b) if sign > 0 else (b, a)
            rows.append({**_pair(record, better, worse, scores, flags), "labeler": record["labeler"],
                         "comment": record.get("comment", "")})
    return rows


def _pooled_labels(records: list[dict]) -> tuple[list, list[list[str]]]:
    """Per completion: the mean of the labelers' scores (None: nobody scored it, 3 decimals) and
    every flag any of them gave it, sorted."""
    k = len(records[0]["completions"])
    given: list[list[int]] = [[] for _ in range(k)]
    flagged: list[set[str]] = [set() for _ in range(k)]
    for record in records:
        scores, flags = _labels(record)
        for i in range(k):
            if scores[i] is not None:
                given[i].append(scores[i])
            flagged[i].update(flags[i])
    return [round(sum(s) / len(s), 3) if s else None for s in given], [sorted(f) for f in flagged]


def majority_pairs(records: Iterable[dict]) -> list[dict]:
    """One task's rankings (same prompt, same completions) -> the pairs their majority orders."""
    records = list(records)
    votes: dict[tuple[int, int], int] = defaultdict(int)
    for record in records:
        for pair, sign in pair_signs(record["ranking"]).items():
            votes[pair] += sign
    if not records:
        return []
    scores, flags = _pooled_labels(records)
    return [_pair(records[0], *((a, b) if total > 0 else (b, a)), scores, flags, score_key="mean_score")
            for (a, b), total in sorted(votes.items()) if total]


def csv_row(*, ranking_id: int, created_at: str, record: dict) -> list:
    completions = record["completions"]
    prompt = record["prompt"] if isinstance(record["prompt"], str) else prompt_text(parse_prompt(record["prompt"]))
    padding = [""] * (MAX_K - len(completions))
    scores, flags = _labels(record)
    return ([ranking_id, record["task_id"], record["labeler"], created_at, prompt, json.dumps(record["ranking"]),
             len(completions)] + completions + padding + [record.get("comment", "")]
            + ["" if score is None else score for score in scores] + padding
            + [CSV_FLAG_SEPARATOR.join(names) for names in flags] + padding)


def dataset_card(*, pairs: int, rankings: int, pairs_mode: str, filters: str) -> str:
    """README.md of the ``hf`` export: the ``configs:`` header makes ``datasets.load_dataset(dir)``
    load ``train.jsonl`` (pairs) by default and ``rankings.jsonl`` as the ``rankings`` config."""
    labeler = ", and the `labeler` who judged it" if pairs_mode == "per_labeler" else ""
    said = ("that labeler's `chosen_score`, `rejected_score` (1-7 or null), `chosen_flags`, `rejected_flags` "
            "and `comment`" if pairs_mode == "per_labeler" else
            "`chosen_mean_score` and `rejected_mean_score` (the mean of the labelers' 1-7 scores, or null) and "
            "`chosen_flags` and `rejected_flags` (every flag a labeler gave it)")
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
  `rejected`{labeler} (mode `{pairs_mode}`; tied pairs dropped), with {said}. Load it with
  `datasets.load_dataset("<this directory>")` and pass it to TRL's `RewardTrainer` or `DPOTrainer`.
- `rankings.jsonl` (config `rankings`): the {rankings} K-way rankings they come from, `prompt`,
  `completions`, `ranking` (tiers best to worst of indexes into `completions`; a tier of two or more
  is a tie), `labeler`, and by the same indexes `scores` (1-7 or null) and `flags`, and the labeler's
  `comment`: the input of `python -m modeling train-reward`.

Filters: {filters}.
"""

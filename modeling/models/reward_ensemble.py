"""Reward-model ensembles on disk, and scoring with one model or an ensemble alike.

An ensemble is one directory (one model version) with a manifest, ``ensemble.json``, in one of two forms:

``members`` (``train-reward --ensemble N``)::

    OUT/ensemble.json      {"format": "reward-ensemble", "version": 1, "form": "members",
                            "members": [{"path": "members/0", "seed": 0, "resample": {...}}, ...]}
    OUT/members/<i>/       a plain Hugging Face reward checkpoint each (what train-reward writes for one model)
    OUT/metrics.json, OUT/training_config.json

``heads`` (``train-reward --ensemble-heads N``)::

    OUT/ensemble.json      {"format": "reward-ensemble", "version": 1, "form": "heads", "heads": N, ...}
    OUT/config.json, ...   one Hugging Face sequence classifier with ``num_labels = N``: output i is head
                           i's score (each head's bias already shifted so its scores average 0)

:func:`load_reward_ensemble` reads either form, or a single reward checkpoint (a 1-member ensemble), so a
caller that took a reward checkpoint path takes an ensemble directory as well. Members are scored one
after another (each on its own tokenizer); a heads model in one forward pass. The outputs: per completion
the mean over members and the spread (their population standard deviation, 0 for one member); per pair
the ensemble's probability, the mean over members of ``sigmoid(s_i - s_j)``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

MANIFEST = "ensemble.json"
FORMAT = "reward-ensemble"


def is_reward_ensemble_dir(path) -> bool:
    return bool(path) and (Path(path) / MANIFEST).is_file()


def read_manifest(path) -> dict:
    """The ensemble manifest of directory ``path``; ValueError when it is not one this code wrote."""
    manifest = json.loads((Path(path) / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT or manifest.get("form") not in ("members", "heads"):
        raise ValueError(f"{path}/{MANIFEST}: not a reward-ensemble manifest (format/form)")
    return manifest


def write_manifest(path, manifest: dict) -> None:
    """Write ``manifest`` as ``path/ensemble.json`` (atomically: a reader sees all of it or none)."""
    from modeling.models.checkpoints import write_json

    write_json(Path(path) / MANIFEST, manifest)


def ensemble_mean_spread(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``scores`` (N, M): M members' scores of N completions -> (mean (N,), spread (N,)).

        mean_n = 1/M sum_m s_nm,   spread_n = sqrt(1/M sum_m (s_nm - mean_n)^2)
    """
    return scores.mean(dim=1), scores.std(dim=1, correction=0)


def ensemble_pair_probability(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Probability that ``first`` beats ``second``, both (P, M) member scores -> (P,).

        p = 1/M sum_m sigmoid(s_first,m - s_second,m)

    (the mean of the members' Bradley-Terry probabilities, not the sigmoid of the mean score difference:
    members that disagree pull it towards 0.5).
    """
    return torch.sigmoid(first - second).mean(dim=1)


def encode_texts(tokenizer, prompts: Sequence, completions: Sequence[str], max_length: int):
    """(input_ids, attention_mask), each (N, L), right-padded: the (prompt, completion) pairs as a
    reward model scores them (:func:`modeling.formats.comparisons.encode_completion`)."""
    from modeling.formats.comparisons import encode_completion

    encoded = [encode_completion(tokenizer, p, c, max_length) for p, c in zip(prompts, completions)]
    width = max(len(ids) for ids in encoded)
    ids = torch.full((len(encoded), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, seq in enumerate(encoded):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    return ids, mask


@dataclass
class RewardEnsemble:
    """Loaded reward models: ``models`` holds (model, tokenizer, heads) per member; ``size`` scores each."""

    models: list
    max_length: int
    device: torch.device

    @property
    def size(self) -> int:
        return sum(heads for _, _, heads in self.models)

    @torch.no_grad()
    def member_scores(self, prompts: Sequence, completions: Sequence[str], batch_size: int = 0) -> torch.Tensor:
        """Every member's score of each (prompt, completion), fp32: (N, size); ``batch_size`` (0 = all at
        once) sequences per forward pass."""
        from modeling.models.reward_model import score_sequences

        step = batch_size or max(len(prompts), 1)
        columns = []
        for model, tokenizer, heads in self.models:
            for start in range(0, len(prompts), step):
                ids, mask = encode_texts(tokenizer, prompts[start : start + step],
                                         completions[start : start + step], self.max_length)
                scores = score_sequences(model, ids.to(self.device), mask.to(self.device), all_heads=heads > 1)
                columns.append(scores.float().reshape(ids.shape[0], heads))  # (n, heads)
        rows = -(-len(prompts) // step)  # chunks per member
        return torch.cat([torch.cat(columns[m * rows : (m + 1) * rows]) for m in range(len(self.models))], dim=1)

    def mean_spread(self, prompts: Sequence, completions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per completion the ensemble's mean score and spread across members, each (N,)."""
        return ensemble_mean_spread(self.member_scores(prompts, completions))

    def pair_probability(self, prompts: Sequence, first: Sequence[str], second: Sequence[str]) -> torch.Tensor:
        """Per (prompt, first, second) the ensemble's probability that ``first`` is preferred, (P,)."""
        scores = self.member_scores(list(prompts) * 2, list(first) + list(second))  # (2P, M)
        return ensemble_pair_probability(scores[: len(first)], scores[len(first):])


def load_reward_ensemble(path, *, device="cpu", max_length: int = 256) -> RewardEnsemble:
    """A single reward checkpoint (one member), a ``members`` ensemble or a ``heads`` ensemble, in eval mode."""
    parts = [(Path(path), 1)]
    if is_reward_ensemble_dir(path):
        manifest = read_manifest(path)
        parts = ([(Path(path) / m["path"], 1) for m in manifest["members"]] if manifest["form"] == "members"
                 else [(Path(path), int(manifest["heads"]))])
    return load_reward_parts(parts, device=device, max_length=max_length)


def load_reward_parts(parts: Sequence[tuple], *, device="cpu", max_length: int = 256) -> RewardEnsemble:
    """An ensemble of the checkpoints ``parts``: (directory, number of heads) each."""
    from modeling.models.reward_model import load_reward_model

    device = torch.device(device)
    models = []
    for where, heads in parts:
        model, tokenizer = load_reward_model(where, disable_dropout=True, num_labels=heads)
        models.append((model.to(device).eval(), tokenizer, heads))
    return RewardEnsemble(models=models, max_length=max_length, device=device)

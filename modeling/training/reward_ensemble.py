"""Training reward-model ensembles: N full members, or one encoder with N heads (:mod:`reward_heads`).

Choices:

- The held-out prompts are those :func:`split_by_prompt` picks with the ensemble's own ``seed`` and
  ``validation_fraction``; every member validates on them and none trains on them, so the members'
  and the ensemble's held-out metrics are measured on the same pairs.
- Member i (``--ensemble N``) trains with seed ``seed + i`` (initialisation of its head, batch order) on a
  bootstrap resample of the *training prompts*: as many prompts as there are, drawn with replacement
  (``random.Random("bootstrap-<seed + i>")``), each draw bringing all of that prompt's groups; a prompt
  drawn twice is two groups in training and weighs twice. Member i is the ordinary trainer
  (:func:`train_reward_model`) writing an ordinary checkpoint to ``OUT/members/<i>/``, plus
  ``resample.json`` (its draw), so a killed ensemble run resumes at the first unfinished member.
- ``OUT/ensemble.json`` (:mod:`modeling.models.reward_ensemble`) is written last: until it exists OUT is
  not an ensemble. ``OUT/metrics.json`` holds the ensemble's metrics and each member's.
- The ensemble is evaluated as it is used: loaded back from disk and scored through
  :class:`~modeling.models.reward_ensemble.RewardEnsemble`. ``reward/accuracy`` counts a pair right when
  the ensemble's probability of the labeler's preferred completion is above 0.5; ``reward/ece`` is
  :func:`expected_calibration_error` of those probabilities; ``reward/loss`` their grouped negative log
  likelihood; ``reward/spread`` the mean spread of a completion's score across members;
  ``reward/member_accuracy`` and ``reward/member_ece`` the members' own, averaged.
"""
from __future__ import annotations

import dataclasses
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import torch

from modeling.errors import InputError
from modeling.formats.comparisons import ComparisonGroup, group_rankings
from modeling.formats.conversation import prompt_sort_key
from modeling.formats.rankings import Ranking
from modeling.models import checkpoints
from modeling.models.reward_ensemble import (FORMAT, RewardEnsemble, ensemble_pair_probability, load_reward_parts,
                                             write_manifest)
from modeling.training.calibration import expected_calibration_error
from modeling.training.reward_config import RewardConfig

RESAMPLE_FILE = "resample.json"


def check_ensemble_settings(config: RewardConfig) -> None:
    if config.ensemble < 1 or config.ensemble_heads < 1:
        raise InputError("need --ensemble >= 1 and --ensemble-heads >= 1 (1 = a single model)")
    if config.ensemble > 1 and config.ensemble_heads > 1:
        raise InputError("choose --ensemble N (full members) or --ensemble-heads N (shared encoder), not both")


def bootstrap_split(groups: Sequence[ComparisonGroup], *, validation_fraction: float, split_seed: int,
                    resample_seed: int, record: dict | None = None) -> tuple[list, list]:
    """(bootstrap resample of the training groups, validation groups): the validation prompts as
    :func:`split_by_prompt` (``split_seed``) picks them; the training prompts drawn with replacement
    (``resample_seed``), each draw bringing all of its groups. ``record`` receives what was drawn."""
    from modeling.training.reward_training import split_by_prompt

    train, validation = split_by_prompt(groups, validation_fraction, split_seed)
    by_prompt = defaultdict(list)
    for group in train:
        by_prompt[group.prompt].append(group)
    prompts = sorted(by_prompt, key=prompt_sort_key)
    draws = random.Random(f"bootstrap-{resample_seed}").choices(range(len(prompts)), k=len(prompts))
    if record is not None:
        counts = [0] * len(prompts)
        for index in draws:
            counts[index] += 1
        record.update({"seed": resample_seed, "prompts": len(prompts), "distinct": sum(c > 0 for c in counts),
                       "counts": counts})  # counts[j]: draws of the j-th training prompt in prompt_sort_key order
    return [group for index in draws for group in by_prompt[prompts[index]]], validation


def train_reward_ensemble(config: RewardConfig, rankings: Sequence[Ranking], progress_callback=None):
    """(OUT, metrics) of an ensemble: ``config.ensemble`` full members or ``config.ensemble_heads`` heads."""
    check_ensemble_settings(config)
    if config.ensemble_heads > 1:
        from modeling.training.reward_heads import train_reward_heads

        return train_reward_heads(config, rankings, progress_callback)
    return _train_members(config, rankings, progress_callback)


def _train_members(config: RewardConfig, rankings: Sequence[Ranking], progress_callback):
    from modeling.training.reward_training import train_reward_model

    out, n = Path(config.output_dir), config.ensemble
    members, member_metrics = [], []
    for i in range(n):
        where, record = out / "members" / str(i), {}
        resample = where / RESAMPLE_FILE
        done = json.loads(resample.read_text(encoding="utf-8")) if resample.is_file() else {}
        if done.get("seed") == config.seed + i and (where / "metrics.json").is_file():  # finished before a restart
            record = done
            final = json.loads((where / "metrics.json").read_text(encoding="utf-8"))["final"]
        else:
            member = dataclasses.replace(config, ensemble=1, ensemble_heads=1, output_dir=str(where),
                                         seed=config.seed + i)

            def split(groups, record=record, i=i):
                return bootstrap_split(groups, validation_fraction=config.validation_fraction,
                                       split_seed=config.seed, resample_seed=config.seed + i, record=record)

            def progress(step, total, latest, i=i):
                if progress_callback is not None:
                    progress_callback(i * total + step, n * total, {**latest, "reward/member": i})

            _, final = train_reward_model(member, rankings, progress, split=split)
            checkpoints.write_json(where / RESAMPLE_FILE, record)
        members.append({"path": f"members/{i}", "seed": config.seed + i, "resample": record})
        member_metrics.append({k: v for k, v in final.items() if k != "history"})
    manifest = {"format": FORMAT, "version": 1, "form": "members", "members": members}
    ensemble = load_reward_parts([(out / m["path"], 1) for m in members], max_length=config.max_length)
    metrics = {**held_out_metrics(ensemble, rankings, config), **summed_member_metrics(member_metrics)}
    checkpoints.write_json(out / checkpoints.CONFIG_FILE, checkpoints.config_to_dict(config))
    checkpoints.write_json(out / "metrics.json", {"final": metrics, "members": member_metrics})
    write_manifest(out, manifest)  # last: OUT is an ensemble from here on
    return out, metrics


def summed_member_metrics(member_metrics: list[dict]) -> dict:
    """The members' split sizes and their training time (sums)."""
    return {
        "reward/train_groups": member_metrics[0].get("reward/train_groups", 0),
        "reward/validation_groups": member_metrics[0].get("reward/validation_groups", 0),
        "perf/train_seconds": sum(m.get("perf/train_seconds", 0.0) for m in member_metrics),
        "perf/train_cpu_seconds": sum(m.get("perf/train_cpu_seconds", 0.0) for m in member_metrics),
    }


def held_out_metrics(ensemble: RewardEnsemble, rankings: Sequence[Ranking], config: RewardConfig,
                     groups_per_batch: int = 8) -> dict:
    """The ensemble's metrics (module docstring) on the held-out prompts of ``config``'s split."""
    from modeling.training.reward_training import split_by_prompt

    _, held_out = split_by_prompt(group_rankings(rankings), config.validation_fraction, config.seed)
    return ensemble_metrics(ensemble, held_out, groups_per_batch)


def ensemble_metrics(ensemble: RewardEnsemble, groups: Sequence[ComparisonGroup], groups_per_batch: int = 8) -> dict:
    """The ensemble's metrics (module docstring) on the comparisons of ``groups``; {} when there are none."""
    from modeling.training.reward_training import labeler_agreement

    held_out = [g for g in groups if g.num_pairs]
    probabilities, member_probabilities, margins, spreads, labelers, group_losses = [], [], [], [], [], []
    for start in range(0, len(held_out), groups_per_batch):
        chunk = held_out[start : start + groups_per_batch]
        scores = ensemble.member_scores([g.prompt for g in chunk for _ in g.completions],
                                        [c for g in chunk for c in g.completions])  # (N, M)
        offset = 0
        for group in chunk:
            mine = scores[offset : offset + len(group.completions)]  # (K, M)
            offset += len(group.completions)
            better, worse = torch.tensor(group.better), torch.tensor(group.worse)  # (P,)
            p = ensemble_pair_probability(mine[better], mine[worse])  # (P,)
            probabilities.append(p)
            member_probabilities.append(torch.sigmoid(mine[better] - mine[worse]))  # (P, M)
            margins.append(mine.mean(dim=1)[better] - mine.mean(dim=1)[worse])
            spreads.append(mine.std(dim=1, correction=0))
            group_losses.append(-p.clamp(min=1e-12).log().mean().item())
            labelers += group.labelers
    if not labelers:
        return {}
    p, each = torch.cat(probabilities), torch.cat(member_probabilities)  # (P,), (P, M)
    correct = (p > 0.5).float()
    metrics = {
        "reward/loss": sum(group_losses) / len(group_losses),
        "reward/accuracy": correct.mean().item(),
        "reward/margin": torch.cat(margins).mean().item(),
        "reward/ece": expected_calibration_error(p),
        "reward/spread": torch.cat(spreads).mean().item(),
        "reward/pairs": float(len(labelers)),
        "reward/members": ensemble.size,
        "reward/member_accuracy": (each > 0.5).float().mean().item(),  # the mean of the members' accuracies
        "reward/member_ece": sum(expected_calibration_error(each[:, m]) for m in range(each.shape[1])) / each.shape[1],
    }
    return {**metrics, **labeler_agreement(labelers, correct.tolist())}

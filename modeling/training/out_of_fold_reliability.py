"""Labeler reliability estimated out of fold (``RewardConfig.reliability_method = "out_of_fold"``).

Joint CrowdBT (:mod:`modeling.training.labeler_reliability`) judges each labeler by a reward model that
is fitting that labeler's own rankings at the same time, so a random clicker's labels look better than
chance to it (benchmarks/RESULTS.md, "A bad labeler"). Here each comparison is judged by a model that
never trained on it (cross-fitting):

1. The training prompts are dealt into ``reliability_folds`` folds (seeded shuffle; all of a prompt's
   rankings fall in one fold, so a model never saw the pair through another labeler either).
2. Per fold, a plain Bradley-Terry reward model (the run's settings, no reliability, no validation
   split) trains on the other folds and scores the fold's pairs: ``p = sigmoid(r_better - r_worse)``,
   its probability that the labeler's order is the true one.
3. Each labeler's eta is the MAP estimate of the CrowdBT noise model over their out-of-fold pairs with
   the run's Beta(alpha, beta) prior, by EM (:func:`fit_reliability`).
4. The final reward model trains on all training prompts with :func:`noisy_bradley_terry_loss` at these
   etas, held fixed: a labeler at eta 0.5 adds no gradient, one under 0.5 is read backwards.

Choices: the fold models train for the run's epochs on (k-1)/k of the data, so the option costs
k-1 extra trainings (k = ``reliability_folds`` = 2 by default: two fold models on half the data each,
twice the plain cost in all; a weaker judge than k = 3's, but it only has to tell a labeler's agreement
from chance). The fold models are plain Bradley-Terry, so a bad labeler's rankings in the other folds
do weaken the judge a little. The estimates are cached in ``output_dir/out_of_fold_reliability.json``
so a resumed run does not retrain its folds; the fold checkpoints are deleted once scored. One process
only (refused under a multi-process launch: the fold trainings would each start their own process group).
"""
from __future__ import annotations

import dataclasses
import json
import random
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import torch

from modeling.errors import InputError
from modeling.formats.comparisons import ComparisonGroup
from modeling.formats.conversation import prompt_sort_key
from modeling.formats.rankings import Ranking
from modeling.training.reward_config import RewardConfig

CACHE_FILE = "out_of_fold_reliability.json"


def fit_reliability(probabilities: torch.Tensor, *, alpha: float, beta: float, iterations: int = 200) -> float:
    """MAP eta of one labeler from ``probabilities`` (P,): a model's probability that each of their
    comparisons is in the true order. CrowdBT's likelihood with a Beta(alpha, beta) prior, by EM:

        P(labeler says b beats w) = eta p + (1 - eta) (1 - p)
        E: z_i = eta p_i / (eta p_i + (1 - eta) (1 - p_i))       (the i-th report was honest)
        M: eta = (sum_i z_i + alpha - 1) / (P + alpha + beta - 2)

    The log posterior is concave in eta for alpha, beta >= 1, so EM climbs to its one maximum. With no
    pairs it is the prior's mode."""
    p = probabilities.double().clamp(1e-6, 1 - 1e-6)
    eta = torch.tensor((alpha - 1) / (alpha + beta - 2) if alpha + beta > 2 else 0.5, dtype=torch.float64)
    for _ in range(iterations):
        honest = eta * p
        z = honest / (honest + (1 - eta) * (1 - p))  # (P,)
        eta = (z.sum() + alpha - 1) / (p.numel() + alpha + beta - 2)
    return float(eta.clamp(1e-4, 1 - 1e-4))


def check_reliability_settings(config: RewardConfig, world_size: int = 1) -> None:
    from modeling.training.reward_config import RELIABILITY_METHODS

    if config.reliability_method not in RELIABILITY_METHODS:
        raise InputError(f"reliability_method must be one of {', '.join(RELIABILITY_METHODS)}, "
                         f"not {config.reliability_method!r}")
    if config.labeler_reliability and config.reliability_method == "out_of_fold":
        if config.reliability_folds < 2:
            raise InputError("reliability_folds must be at least 2 for out_of_fold reliability")
        if world_size > 1:
            raise InputError("out_of_fold labeler reliability runs in one process; use 'joint' under a launch")


def prompt_folds(groups: Sequence[ComparisonGroup], folds: int, seed: int) -> list[set]:
    """The training prompts dealt into ``folds`` sets after a seeded shuffle."""
    prompts = sorted({g.prompt for g in groups}, key=prompt_sort_key)
    if len(prompts) < folds:
        raise InputError(f"out_of_fold reliability needs at least {folds} training prompts (reliability_folds), "
                         f"got {len(prompts)}")
    random.Random(seed).shuffle(prompts)
    return [set(prompts[i::folds]) for i in range(folds)]


def out_of_fold_reliability(config: RewardConfig, rankings: Sequence[Ranking], train_groups: Sequence[ComparisonGroup],
                            pad_id: int, device) -> dict[str, float]:
    """``{labeler: eta}`` for every labeler with a comparison in ``train_groups`` (module docstring)."""
    from modeling.models.reward_model import is_decoder_reward_model, load_reward_model
    from modeling.training.reward_training import scored_batches, train_reward_model

    cache = Path(config.output_dir) / CACHE_FILE
    if cache.exists():
        return json.loads(cache.read_text())
    probabilities = defaultdict(list)  # labeler -> out-of-fold p of each of their pairs
    training_prompts = {g.prompt for g in train_groups}
    for number, held in enumerate(prompt_folds(train_groups, config.reliability_folds, config.seed)):
        fold_dir = Path(config.output_dir) / "reliability_folds" / str(number)
        fold_config = dataclasses.replace(config, output_dir=str(fold_dir), labeler_reliability=False,
                                          validation_fraction=0.0, checkpoint_every=0, ensemble=1, ensemble_heads=1)
        train_reward_model(fold_config, rankings, split=lambda groups, held=held: (
            [g for g in groups if g.prompt in training_prompts and g.prompt not in held], []))
        model = load_reward_model(str(fold_dir), device=device)[0]
        for batch, rewards in scored_batches(model, [g for g in train_groups if g.prompt in held], pad_id,
                                             completions_per_batch=2 * config.completions_per_batch, device=device,
                                             bf16=config.bf16,
                                             prefix_sharing=config.prefix_sharing and is_decoder_reward_model(model)):
            for labeler, p in zip(batch.labelers, torch.sigmoid(rewards[batch.better] - rewards[batch.worse]).tolist()):
                probabilities[labeler].append(p)
        del model
        shutil.rmtree(fold_dir, ignore_errors=True)
    alpha = config.reliability_prior_mean * config.reliability_prior_strength
    beta = (1 - config.reliability_prior_mean) * config.reliability_prior_strength
    estimates = {name: round(fit_reliability(torch.tensor(found), alpha=alpha, beta=beta), 4)
                 for name, found in sorted(probabilities.items())}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(estimates))
    return estimates

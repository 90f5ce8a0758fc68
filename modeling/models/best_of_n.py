"""Best-of-n: of n samples per prompt keep the one an ensemble's aggregate scores highest.

``member_scores`` is ``(P, n, M)``: P prompts, n samples each, M members (``(P, n)`` for one reward model).
With several members each is standardised first (:mod:`modeling.models.conservative_reward`) by its
mean and std over *all* P x n candidates, or by a given ``scale``: to draw a curve over n = 1..N, score N
samples once and pass ``n``, so every n picks among the first n samples on the same scale. The pick is

    best_p = argmax_i aggregate(z_p,i,:)      (the first such i on a tie)

with ``aggregate`` ``mean`` (the proxy) or a conservative one, ``min`` or ``uwo`` (Coste et al. 2024 show
the conservative picks hold the gold reward as n grows, where the mean's fall).
"""
from __future__ import annotations

from typing import Sequence

import torch

from modeling.models.conservative_reward import aggregate_error, aggregate_rewards, member_scale, standardise


def best_of_n_indices(member_scores: torch.Tensor, aggregate: str = "mean", uwo_lambda: float = 1.0,
                      n: int | None = None, scale: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """(P, n, M) or (P, n) member scores -> (P,) index of the chosen sample among the first ``n`` (all: None)."""
    error = aggregate_error(aggregate, uwo_lambda)
    if error:
        raise ValueError(error)
    scores = member_scores.unsqueeze(2) if member_scores.dim() == 2 else member_scores  # (P, N, M)
    prompts, samples, members = scores.shape
    if scale is None:
        scale = member_scale(scores.reshape(-1, members))
    z = standardise(scores.reshape(-1, members), *scale).reshape(prompts, samples, members)
    z = z[:, : (n or samples)]  # (P, n, M)
    values = aggregate_rewards(z.reshape(-1, members), aggregate, uwo_lambda).reshape(prompts, -1)  # (P, n)
    return values.argmax(dim=1)


def best_of_n(ensemble, prompts: Sequence, samples: Sequence[Sequence[str]], aggregate: str = "mean",
              uwo_lambda: float = 1.0) -> list[str]:
    """Per prompt, the sample that a :class:`~modeling.models.reward_ensemble.RewardEnsemble`'s aggregate prefers
    (every prompt the same number of samples)."""
    n = len(samples[0])
    if any(len(row) != n for row in samples):
        raise ValueError("best_of_n needs the same number of samples for every prompt")
    flat_prompts = [p for p in prompts for _ in range(n)]
    scores = ensemble.member_scores(flat_prompts, [s for row in samples for s in row])  # (P * n, M)
    chosen = best_of_n_indices(scores.reshape(len(prompts), n, -1), aggregate, uwo_lambda)
    return [row[i] for row, i in zip(samples, chosen.tolist())]

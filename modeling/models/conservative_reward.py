"""Conservative rewards from a reward-model ensemble (a guard against reward hacking).

A policy that over-optimises one reward model finds responses the model scores too high; members of an
ensemble trained on other seeds or resamples disagree about exactly those responses. Coste et al.
(ICLR 2024, "Reward model ensembles help mitigate overoptimization") optimise a conservative aggregate
of the members instead of their mean. Member scores come as ``(N, M)``: N responses, M members (the
layout of :meth:`modeling.models.reward_ensemble.RewardEnsemble.member_scores`).

Aggregates, per response n over members m (``s`` already on the common scale below)::

    mean:  r_n = 1/M sum_m s_nm                                  (the proxy)
    min:   r_n = min_m s_nm                                      (worst case, WCO)
    uwo:   r_n = 1/M sum_m s_nm - lambda * sqrt(1/M sum_m (s_nm - mean_n)^2)

``uwo`` subtracts lambda times the members' population standard deviation (the "spread" this project
reports everywhere), not their variance as Coste et al.'s UWO does: on a common scale the two order
responses alike and the std keeps lambda in reward units.

A common scale: members of an ensemble need not share an offset or a scale (Bradley-Terry fixes
neither), so a member with a wide range would dominate the min and the spread. Before aggregating,
each member is standardised by its own mean and standard deviation on a reference set,
``z_nm = (s_nm - mu_m) / sigma_m``: in PPO the starting policy's first rollout batch, in best-of-n the
candidates being chosen among (unless a scale is given). With one member nothing is rescaled: proxy and
conservative reward are the raw score and the spread is 0, so a single reward model's runs score
exactly as before.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

AGGREGATES = ("mean", "min", "uwo")
_MIN_STD = 1e-6  # a member constant on the reference set is only shifted, not blown up


def aggregate_error(aggregate: str, uwo_lambda: float) -> str | None:
    """Why ``(aggregate, uwo_lambda)`` is not a setting, or None when it is one."""
    if aggregate not in AGGREGATES:
        return f"reward_aggregate must be one of {', '.join(AGGREGATES)}, not {aggregate!r}"
    if not uwo_lambda >= 0:  # also refuses NaN
        return f"uwo_lambda must be >= 0, not {uwo_lambda}"
    return None


def member_scale(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``scores`` (N, M) on the reference set -> (mu (M,), sigma (M,)): each member's mean and population
    standard deviation, sigma at least 1e-6."""
    return scores.mean(dim=0), scores.std(dim=0, correction=0).clamp_min(_MIN_STD)


def standardise(scores: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``z_nm = (s_nm - mu_m) / sigma_m``, (N, M); one member (M = 1) is returned unchanged."""
    if scores.shape[1] == 1:
        return scores
    return (scores - mu.to(scores)) / sigma.to(scores)


def aggregate_rewards(scores: torch.Tensor, aggregate: str = "mean", uwo_lambda: float = 1.0) -> torch.Tensor:
    """(N, M) member scores on a common scale -> (N,) by ``mean``, ``min`` or ``uwo`` (module docstring)."""
    if aggregate == "mean":
        return scores.mean(dim=1)
    if aggregate == "min":
        return scores.min(dim=1).values
    if aggregate == "uwo":
        return scores.mean(dim=1) - uwo_lambda * scores.std(dim=1, correction=0)
    raise ValueError(aggregate_error(aggregate, uwo_lambda))


@dataclass
class GuardScores:
    """Per response, each (N,): the members' mean (proxy), the aggregate PPO optimises (conservative) and
    the members' population standard deviation (spread), all on the common scale."""

    proxy: torch.Tensor
    conservative: torch.Tensor
    spread: torch.Tensor


def guard_scores(scores: torch.Tensor, aggregate: str = "mean", uwo_lambda: float = 1.0,
                 scale: tuple[torch.Tensor, torch.Tensor] | None = None) -> GuardScores:
    """(N,) or (N, M) raw member scores -> :class:`GuardScores`, standardised by ``scale`` = (mu, sigma)
    first (None: no rescaling; one member never is)."""
    if scores.dim() == 1:
        scores = scores.unsqueeze(1)  # one reward model: a one-member ensemble
    if scale is not None:
        scores = standardise(scores, *scale)
    return GuardScores(proxy=scores.mean(dim=1), conservative=aggregate_rewards(scores, aggregate, uwo_lambda),
                       spread=scores.std(dim=1, correction=0))

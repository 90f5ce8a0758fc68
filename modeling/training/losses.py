"""Losses as small pure functions over tensors, one section per training method.

Each function states its formula; shapes are noted as ``# (P,)`` for P pairs, ``# (N,)`` for N
scored sequences, G for groups.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------------
# Reward model (Bradley-Terry over K-way rankings)
# --------------------------------------------------------------------------------------------------


def group_mean(values: torch.Tensor, pair_group: torch.Tensor, num_groups: int,
               weights: torch.Tensor | None = None) -> torch.Tensor:
    """``1/G * sum_g (sum_{p in g} w_p values_p / sum_{p in g} w_p)``: a per-group (weighted) mean, then
    the mean over groups. ``values``, ``weights``, ``pair_group``: ``(P,)``. Without weights every pair
    weighs 1; with them, a group whose weights sum to 0 (all its labelers weighted 0) is left out of G."""
    if weights is None:
        weights = torch.ones_like(values)
    sums = torch.zeros(num_groups, dtype=values.dtype, device=values.device).index_add(0, pair_group, values * weights)
    totals = torch.zeros(num_groups, dtype=values.dtype, device=values.device).index_add(0, pair_group,
                                                                                     weights.to(values.dtype))  # (G,)
    counted = totals > 0  # (G,)
    return (sums[counted] / totals[counted]).sum() / counted.sum().clamp(min=1)


def grouped_bradley_terry_loss(
    rewards: torch.Tensor,
    better: torch.Tensor,
    worse: torch.Tensor,
    pair_group: torch.Tensor,
    num_groups: int,
    pair_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Bradley-Terry loss where each prompt's group weighs the same, whatever its number of pairs.

        loss = 1/G * sum_g [ -1/P_g * sum_{(b,w) in g} log sigmoid(r_b - r_w) ]

    With ``pair_weight`` (P,) (a labeler's reliability weight, DPO) the per-group mean is weighted:
    ``-sum_g' w_p log sigmoid(.) / sum_g' w_p`` (:func:`group_mean`).

    (InstructGPT eq. 1, with the 1/C(K,2) generalised to 1/P_g so ties and several labelers are
    handled). ``rewards`` (N,) are the scores of the batch's sequences; ``better``/``worse`` (P,)
    index into them; ``pair_group`` (P,) in [0, num_groups) says which group each pair is in.
    Groups without pairs must not be counted in ``num_groups``.
    """
    pair_loss = -F.logsigmoid(rewards[better] - rewards[worse])  # (P,)
    return group_mean(pair_loss, pair_group, num_groups, pair_weight)


def noisy_bradley_terry_loss(
    rewards: torch.Tensor,
    better: torch.Tensor,
    worse: torch.Tensor,
    pair_group: torch.Tensor,
    num_groups: int,
    reliability_logits: torch.Tensor,
) -> torch.Tensor:
    """CrowdBT (Chen et al. 2013): each labeler l reports the true order with probability eta_l and the
    reverse with 1 - eta_l, grouped as :func:`grouped_bradley_terry_loss`:

        eta_l = sigmoid(a_l)
        P(l says b beats w) = eta_l * sigmoid(r_b - r_w) + (1 - eta_l) * sigmoid(r_w - r_b)
        loss = 1/G * sum_g [ -1/P_g * sum_{(b,w) in g} log P(l_p says b beats w) ]

    computed as ``logsumexp(log eta + log sigmoid(d), log(1 - eta) + log sigmoid(-d))`` so it stays finite
    for eta near 0 or 1. eta = 1 (a = +inf) is the plain loss; eta = 0.5 makes a pair's term constant
    (no gradient to the reward: a random labeler is ignored); eta < 0.5 reads the labeler backwards.
    ``reliability_logits`` (P,) is a_l of each pair's labeler.
    """
    margin = rewards[better] - rewards[worse]  # (P,)
    log_p = torch.logaddexp(F.logsigmoid(reliability_logits) + F.logsigmoid(margin),
                            F.logsigmoid(-reliability_logits) + F.logsigmoid(-margin))  # (P,)
    return group_mean(-log_p, pair_group, num_groups)


def beta_prior_penalty(reliability_logits: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """Negative log of a Beta(alpha, beta) prior on each eta_l = sigmoid(a_l), summed over labelers
    (constant dropped), a MAP penalty that keeps a labeler with few comparisons near the prior mean:

        penalty = -sum_l [ (alpha - 1) log eta_l + (beta - 1) log(1 - eta_l) ]

    ``reliability_logits`` (L,). Divide by the number of training comparisons to add it to a per-pair
    mean loss.
    """
    return -((alpha - 1) * F.logsigmoid(reliability_logits) + (beta - 1) * F.logsigmoid(-reliability_logits)).sum()


def reward_centering_loss(rewards: torch.Tensor, coefficient: float) -> torch.Tensor:
    """Keeps rewards near zero (Eisenstein et al. 2023, TRL's ``center_rewards_coefficient``).

        loss = coefficient * mean_n r_n^2
    """
    return coefficient * rewards.pow(2).mean()  # rewards: (N,)


def pairwise_accuracy(rewards: torch.Tensor, better: torch.Tensor, worse: torch.Tensor) -> torch.Tensor:
    """Per pair, 1.0 when the preferred sequence scores strictly higher, else 0.0.  # (P,)"""
    return (rewards[better] > rewards[worse]).float()

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


def grouped_bradley_terry_loss(
    rewards: torch.Tensor,
    better: torch.Tensor,
    worse: torch.Tensor,
    pair_group: torch.Tensor,
    num_groups: int,
) -> torch.Tensor:
    """Bradley-Terry loss where each prompt's group weighs the same, whatever its number of pairs.

        loss = 1/G * sum_g [ -1/P_g * sum_{(b,w) in g} log sigmoid(r_b - r_w) ]

    (InstructGPT eq. 1, with the 1/C(K,2) generalised to 1/P_g so ties and several labelers are
    handled). ``rewards`` (N,) are the scores of the batch's sequences; ``better``/``worse`` (P,)
    index into them; ``pair_group`` (P,) in [0, num_groups) says which group each pair is in.
    Groups without pairs must not be counted in ``num_groups``.
    """
    pair_loss = -F.logsigmoid(rewards[better] - rewards[worse])  # (P,)
    group_sum = torch.zeros(num_groups, dtype=pair_loss.dtype, device=pair_loss.device)
    group_sum = group_sum.index_add(0, pair_group, pair_loss)  # (G,)
    pairs_per_group = torch.bincount(pair_group, minlength=num_groups).clamp(min=1)  # (G,)
    return (group_sum / pairs_per_group).mean()


def reward_centering_loss(rewards: torch.Tensor, coefficient: float) -> torch.Tensor:
    """Keeps rewards near zero (Eisenstein et al. 2023, TRL's ``center_rewards_coefficient``).

        loss = coefficient * mean_n r_n^2
    """
    return coefficient * rewards.pow(2).mean()  # rewards: (N,)


def pairwise_accuracy(rewards: torch.Tensor, better: torch.Tensor, worse: torch.Tensor) -> torch.Tensor:
    """Per pair, 1.0 when the preferred sequence scores strictly higher, else 0.0.  # (P,)"""
    return (rewards[better] > rewards[worse]).float()

"""Advantage estimation for PPO: GAE, a per-prompt score baseline, advantage whitening and the adaptive KL
coefficient."""
from __future__ import annotations

import math

import torch

from modeling.training.policy_losses import masked_mean


def generalized_advantages(rewards, values, mask, gamma: float = 1.0, lam: float = 0.95):
    """Generalised advantage estimation (Schulman et al. 2016), returns ``(advantages, returns)``:

        delta_t = r_t + gamma * V_{t+1} - V_t          (V_{t+1} = 0 after the last real token)
        A_t     = delta_t + gamma * lam * A_{t+1}
        R_t     = A_t + V_t                            (the value target)

    ``rewards``, ``values``, ``mask``: ``(B, T)`` with the real tokens first (right padding); padded
    positions get advantage and return 0.
    """
    mask = mask.to(values.dtype)
    values = values * mask
    rewards = rewards * mask
    T = rewards.shape[1]
    advantages = torch.zeros_like(rewards)  # (B, T)
    next_advantage = torch.zeros_like(rewards[:, 0])  # (B,)
    next_value = torch.zeros_like(values[:, 0])  # (B,)
    for t in reversed(range(T)):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        next_advantage = (delta + gamma * lam * next_advantage) * mask[:, t]
        advantages[:, t] = next_advantage
        next_value = values[:, t]
    returns = (advantages + values) * mask
    return advantages.detach(), returns.detach()


def leave_one_out_scores(scores: torch.Tensor, group_size: int) -> torch.Tensor:
    """Each score minus the mean of the other responses to the same prompt (RLOO's baseline), ``(B,)``:

        s_i - (sum_j s_j - s_i) / (g - 1)          j over the i-th response's group of g

    ``scores`` hold ``B / group_size`` consecutive groups of ``group_size`` responses to one prompt. A
    prompt's difficulty (an arithmetic prompt scores low whatever the answer) cancels, so the advantage
    is what one answer does better than the policy's other answers to the same prompt; with group_size 1
    the scores are returned unchanged.
    """
    if group_size <= 1:
        return scores
    if scores.shape[0] % group_size:
        raise ValueError(f"{scores.shape[0]} scores do not split into groups of {group_size}")
    groups = scores.view(-1, group_size)  # (B / g, g)
    others = (groups.sum(dim=1, keepdim=True) - groups) / (group_size - 1)
    return (groups - others).reshape(-1)


def whiten(values: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True, eps: float = 1e-8) -> torch.Tensor:
    """``(x - mean) / std`` over the real tokens (``mask`` 1); padded positions become 0. ``(B, T)``."""
    mean = masked_mean(values, mask)
    var = masked_mean((values - mean) ** 2, mask)
    out = (values - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        out = out + mean
    return out * mask.to(values.dtype)


class AdaptiveKLController:
    """Ziegler et al. (2019) proportional controller that steers the KL coefficient towards a target:

        e = clip(KL / target - 1, -0.2, 0.2)
        beta <- beta * (1 + e * n_steps / horizon)
    """

    def __init__(self, init_beta: float, target: float, horizon: int):
        self.value = init_beta
        self.target = target
        self.horizon = horizon

    def update(self, current_kl: float, n_steps: int) -> float:
        if math.isfinite(current_kl):
            error = min(max(current_kl / self.target - 1.0, -0.2), 0.2)
            self.value *= 1.0 + error * n_steps / self.horizon
        return self.value


class FixedKLController:
    """A constant KL coefficient (the default)."""

    def __init__(self, init_beta: float):
        self.value = init_beta

    def update(self, current_kl: float, n_steps: int) -> float:
        return self.value

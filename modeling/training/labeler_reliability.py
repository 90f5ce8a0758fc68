"""Per-labeler reliability learned jointly with the reward (CrowdBT; ``RewardConfig.labeler_reliability``).

Each labeler l has one parameter a_l, eta_l = sigmoid(a_l): the probability that they report a
comparison's true order (:func:`modeling.training.losses.noisy_bradley_terry_loss`). eta = 1 is a
perfect labeler, 0.5 one who clicks at random (their comparisons then carry no gradient to the
reward: they are weighted out), below 0.5 one who reads the order backwards.

Choices:
- a_l starts at logit(prior_mean) (0.8) and is trained by the reward's optimizer in its own parameter
  group at ``reliability_learning_rate`` (the reward's 3e-4 would barely move it in one epoch), same
  warm-up and decay. While the reward is still untrained its margins are ~0, every pair's likelihood is
  ~0.5 whatever eta, so eta is not pulled anywhere until the reward has learnt something.
- A weak Beta(alpha, beta) prior, alpha/(alpha+beta) = prior_mean and alpha+beta = prior_strength
  (10 pseudo-comparisons), added as a MAP penalty divided by the number of training comparisons (the
  loss is a per-comparison mean): a labeler with a handful of comparisons stays near the prior instead
  of reaching 0 or 1; with hundreds the data decide.
- Only the reward model's parameters are gradient-clipped; eta is a handful of scalars.
- The policy's DPO loss weighs each labeler's pairs by :func:`dpo_weights` of these estimates.
- Off by default (``RewardConfig.labeler_reliability``), from benchmarks/RESULTS.md "A bad labeler": with
  four simulated labelers one of whom clicks at random, the clicker cost plain Bradley-Terry no held-out
  accuracy (a random label pulls both ways), weighting moved accuracy by +0.002 on average (seed spread
  ±0.05), and eta fell under 0.6 within 50 of its rankings in 1 of 3 seeds: the reward model partly fits
  the clicker's own prompts, so its labels look better than chance to it. The estimates do order the
  labelers (the bad one lowest in every run). ``reliability_method="out_of_fold"``
  (:mod:`modeling.training.out_of_fold_reliability`) judges each pair by a model that did not train on
  it; measured in the same section's second pass (half of a prolific clicker's damage won back).
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import torch

from modeling.training.losses import beta_prior_penalty
from modeling.training.reward_config import RELIABILITY_FLAG_BELOW as FLAG_BELOW  # noqa: F401  (re-exported)


class LabelerReliability(torch.nn.Module):
    """eta per labeler (``estimates()``), the per-pair logits the loss takes, and the prior penalty."""

    def __init__(self, pair_labelers: Sequence[str], *, prior_mean: float = 0.8, prior_strength: float = 10.0):
        super().__init__()
        if not 0.5 < prior_mean < 1 or prior_strength < 2:
            raise ValueError("need 0.5 < prior_mean < 1 and prior_strength >= 2")
        self.counts = Counter(pair_labelers)  # comparisons per labeler in the training data
        self.labelers = sorted(self.counts)
        self.index = {name: i for i, name in enumerate(self.labelers)}
        self.alpha, self.beta = prior_mean * prior_strength, (1 - prior_mean) * prior_strength
        start = math.log(prior_mean / (1 - prior_mean))
        self.logits = torch.nn.Parameter(torch.full((len(self.labelers),), start))  # (L,) a_l

    def pair_logits(self, labelers: Sequence[str]) -> torch.Tensor:
        """a_l of each pair's labeler ``(P,)``."""
        rows = torch.tensor([self.index[name] for name in labelers], dtype=torch.long, device=self.logits.device)
        return self.logits[rows]

    def prior_penalty(self) -> torch.Tensor:
        """The Beta prior's negative log density over all labelers, per training comparison."""
        return beta_prior_penalty(self.logits, self.alpha, self.beta) / max(1, sum(self.counts.values()))

    def hold(self, eta: dict[str, float]) -> None:
        """Set each labeler's eta (the prior mean where ``eta`` lacks them) and stop it learning."""
        start = self.alpha / (self.alpha + self.beta)
        values = torch.tensor([eta.get(name, start) for name in self.labelers], dtype=torch.float64)
        self.logits.data.copy_(torch.logit(values.clamp(1e-4, 1 - 1e-4)).float())
        self.logits.requires_grad_(False)

    def estimates(self) -> dict[str, float]:
        """``{labeler: eta}``, rounded to 4 places."""
        return {name: round(torch.sigmoid(a).item(), 4) for name, a in zip(self.labelers, self.logits.detach())}


def dpo_weights(reliability: dict[str, float]) -> dict[str, float]:
    """The weight of each labeler's pairs in the DPO loss: ``max(0, 2 eta - 1)``, the expected agreement
    minus disagreement of their label with the true order (0 for a random labeler; a backwards labeler
    is left out rather than read backwards, which DPO's loss cannot do), divided by the largest so the
    most reliable labeler weighs 1, as a labeler the reward model has not seen does (DPO's default)."""
    raw = {name: max(0.0, 2 * eta - 1) for name, eta in reliability.items()}
    top = max(raw.values(), default=0.0)
    return {name: round(value / top, 4) if top else 1.0 for name, value in raw.items()}

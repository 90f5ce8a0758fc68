"""The CrowdBT loss and its Beta prior against values computed by hand."""
from __future__ import annotations

import math

import pytest
import torch

from modeling.training.losses import (beta_prior_penalty, group_mean, grouped_bradley_terry_loss,
                                      noisy_bradley_terry_loss)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# group 0: K=3, pairs (0,1) (0,2) by labeler a, (2,1) by labeler b; group 1: K=2, (3,4) by b
REWARDS = torch.tensor([1.0, 0.0, -1.0, 2.0, 0.5])
BETTER, WORSE = torch.tensor([0, 0, 2, 3]), torch.tensor([1, 2, 1, 4])
PAIR_GROUP = torch.tensor([0, 0, 0, 1])


def test_noisy_loss_is_the_crowdbt_likelihood_by_hand():
    eta_a, eta_b = 0.9, 0.6
    logits = torch.tensor([math.log(eta_a / (1 - eta_a))] * 2 + [math.log(eta_b / (1 - eta_b))] * 2)

    def term(d: float, eta: float) -> float:
        return -math.log(eta * sigmoid(d) + (1 - eta) * sigmoid(-d))

    group0 = (term(1.0, eta_a) + term(2.0, eta_a) + term(-1.0, eta_b)) / 3
    group1 = term(1.5, eta_b)
    loss = noisy_bradley_terry_loss(REWARDS, BETTER, WORSE, PAIR_GROUP, 2, logits)
    assert loss.item() == pytest.approx((group0 + group1) / 2, abs=1e-6)


def test_eta_one_is_the_plain_bradley_terry_loss():
    plain = grouped_bradley_terry_loss(REWARDS, BETTER, WORSE, PAIR_GROUP, 2)
    certain = noisy_bradley_terry_loss(REWARDS, BETTER, WORSE, PAIR_GROUP, 2, torch.full((4,), math.inf))
    assert certain.item() == pytest.approx(plain.item(), abs=1e-7)
    near = noisy_bradley_terry_loss(REWARDS, BETTER, WORSE, PAIR_GROUP, 2, torch.full((4,), 30.0))
    assert near.item() == pytest.approx(plain.item(), abs=1e-6)


def test_a_random_labeler_gives_the_reward_no_gradient_and_a_good_one_does():
    rewards = REWARDS.clone().requires_grad_(True)
    half = torch.zeros(4)  # eta = 0.5 for everyone
    noisy_bradley_terry_loss(rewards, BETTER, WORSE, PAIR_GROUP, 2, half).backward()
    assert rewards.grad.abs().max() < 1e-6
    rewards.grad = None
    noisy_bradley_terry_loss(rewards, BETTER, WORSE, PAIR_GROUP, 2, torch.full((4,), 2.0)).backward()
    assert rewards.grad.abs().sum() > 0.1


def test_gradient_to_eta_follows_agreement_with_the_reward():
    """A labeler whose pairs the reward orders the same way gains reliability; one it contradicts loses it."""
    logits = torch.zeros(2, requires_grad=True)  # labeler 0 agrees (margin +2), labeler 1 contradicts (-2)
    rewards, better, worse = torch.tensor([2.0, 0.0]), torch.tensor([0, 1]), torch.tensor([1, 0])
    noisy_bradley_terry_loss(rewards, better, worse, torch.tensor([0, 0]), 1, logits).backward()
    assert logits.grad[0] < 0 < logits.grad[1]  # descent raises eta_0, lowers eta_1


def test_beta_prior_penalty_by_hand_and_its_minimum_at_the_mode():
    logits = torch.tensor([0.0, math.log(4.0)])  # eta 0.5 and 0.8
    alpha, beta = 8.0, 2.0
    by_hand = -sum((alpha - 1) * math.log(e) + (beta - 1) * math.log(1 - e) for e in (0.5, 0.8))
    assert beta_prior_penalty(logits, alpha, beta).item() == pytest.approx(by_hand, abs=1e-5)
    grid = torch.linspace(-3, 5, 801)
    best = torch.sigmoid(grid[torch.stack([beta_prior_penalty(a.view(1), alpha, beta) for a in grid]).argmin()])
    assert best.item() == pytest.approx((alpha - 1) / (alpha + beta - 2), abs=0.01)  # the Beta mode, 7/8


def test_weighted_group_mean_by_hand_and_a_zero_weight_group_left_out():
    values, group = torch.tensor([1.0, 3.0, 10.0]), torch.tensor([0, 0, 1])
    assert group_mean(values, group, 2).item() == pytest.approx((2.0 + 10.0) / 2)
    weighted = group_mean(values, group, 2, torch.tensor([3.0, 1.0, 0.0]))
    assert weighted.item() == pytest.approx((3 * 1 + 1 * 3) / 4)  # group 1 weighs 0: not counted in G

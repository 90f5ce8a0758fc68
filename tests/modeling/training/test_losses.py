"""Grouped Bradley-Terry loss against values computed by hand."""
from __future__ import annotations

import math

import pytest
import torch

from modeling.formats.comparisons import group_rankings
from modeling.training.losses import grouped_bradley_terry_loss, pairwise_accuracy, reward_centering_loss
from modeling.formats.rankings import Ranking


def nll(d: float) -> float:
    """-log sigmoid(d), by hand."""
    return math.log(1.0 + math.exp(-d))


def test_each_group_weighs_the_same_whatever_its_number_of_pairs():
    # group 0: K=3, full order -> pairs (0,1) (0,2) (1,2); group 1: K=2, two labelers who disagree
    rewards = torch.tensor([1.0, 0.0, -1.0, 2.0, 0.0])
    better = torch.tensor([0, 0, 1, 3, 4])
    worse = torch.tensor([1, 2, 2, 4, 3])
    pair_group = torch.tensor([0, 0, 0, 1, 1])
    group0 = (nll(1) + nll(2) + nll(1)) / 3
    group1 = (nll(2) + nll(-2)) / 2
    loss = grouped_bradley_terry_loss(rewards, better, worse, pair_group, num_groups=2)
    assert loss.item() == pytest.approx((group0 + group1) / 2, abs=1e-6)
    flat = (3 * group0 + 2 * group1) / 5  # what a plain mean over pairs would give
    assert abs(loss.item() - flat) > 0.05


def test_ties_and_several_labelers_from_rankings():
    prompt, completions = "p", ("a", "b", "c")
    rankings = [
        Ranking(prompt, completions, ((0,), (1, 2)), "ann"),  # 1 and 2 tied: pairs (0,1) (0,2)
        Ranking(prompt, completions, ((2,), (0,), (1,)), "bob"),  # (2,0) (2,1) (0,1)
    ]
    [group] = group_rankings(rankings)
    assert group.labelers == ["ann", "ann", "bob", "bob", "bob"]
    rewards = torch.tensor([0.5, -0.5, 1.5])
    better, worse = torch.tensor(group.better), torch.tensor(group.worse)
    loss = grouped_bradley_terry_loss(rewards, better, worse, torch.zeros(5, dtype=torch.long), 1)
    expected = (nll(1.0) + nll(-1.0) + nll(1.0) + nll(2.0) + nll(1.0)) / 5
    assert loss.item() == pytest.approx(expected, abs=1e-6)


def test_loss_gradient_pushes_better_up_and_worse_down():
    rewards = torch.zeros(2, requires_grad=True)
    grouped_bradley_terry_loss(rewards, torch.tensor([0]), torch.tensor([1]), torch.tensor([0]), 1).backward()
    assert rewards.grad[0] < 0 < rewards.grad[1]  # descent raises r_better, lowers r_worse
    assert rewards.grad[0].item() == pytest.approx(-0.5)


def test_centering_and_accuracy():
    rewards = torch.tensor([1.0, -3.0, 2.0])
    assert reward_centering_loss(rewards, 0.01).item() == pytest.approx(0.01 * (1 + 9 + 4) / 3)
    accuracy = pairwise_accuracy(rewards, torch.tensor([0, 1, 2]), torch.tensor([1, 0, 2]))
    assert accuracy.tolist() == [1.0, 0.0, 0.0]  # equal scores are not a correct pair

"""DPO, IPO, Plackett-Luce and PPO losses against values worked out by hand."""
import math

import pytest
import torch

from modeling.training.policy_losses import (
    clipped_policy_loss,
    clipped_value_loss,
    dpo_sigmoid_loss,
    ipo_loss,
    kl_penalized_rewards,
    per_token_kl,
    plackett_luce_loss,
    ranking_ids,
)


def t(values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype)


def idx(values):
    return torch.tensor(values, dtype=torch.long)


# Group 0: three completions ranked [[0], [1, 2]] (1 and 2 tied -> pairs (0,1), (0,2) only).
# Group 1: two completions ranked [[4], [3]] -> pair (4, 3).
POLICY = t([-1.0, -2.0, -3.0, -1.0, -1.0])
REFERENCE = t([-1.5, -1.5, -1.5, -2.0, -1.0])  # log-ratios: 0.5, -0.5, -1.5 | 1.0, 0.0
BETTER, WORSE, GROUP = idx([0, 0, 4]), idx([1, 2, 3]), idx([0, 0, 1])


def softplus_neg(x):  # -log sigmoid(x)
    return math.log(1.0 + math.exp(-x))


def test_dpo_sigmoid_is_averaged_per_group_then_over_groups():
    out = dpo_sigmoid_loss(POLICY, REFERENCE, BETTER, WORSE, GROUP, 2, beta=0.1)
    # rewards 0.05, -0.05, -0.15 | 0.1, 0.0
    group0 = (softplus_neg(0.1) + softplus_neg(0.2)) / 2
    group1 = softplus_neg(-0.1)
    assert out.loss.item() == pytest.approx((group0 + group1) / 2, abs=1e-9)
    assert out.accuracy.item() == pytest.approx(2 / 3)
    assert out.chosen_reward.item() == pytest.approx((0.05 + 0.05 + 0.0) / 3)
    assert out.rejected_reward.item() == pytest.approx((-0.05 - 0.15 + 0.1) / 3)
    assert out.margin.item() == pytest.approx((0.1 + 0.2 - 0.1) / 3)


def test_dpo_sigmoid_is_log2_when_policy_equals_reference():
    out = dpo_sigmoid_loss(REFERENCE, REFERENCE, BETTER, WORSE, GROUP, 2)
    assert out.loss.item() == pytest.approx(math.log(2))


def test_ipo_squares_distance_to_half_inverse_beta():
    out = ipo_loss(POLICY, REFERENCE, BETTER, WORSE, GROUP, 2, beta=0.1)
    # h: 1.0, 2.0 | -1.0 ; target 1/(2*0.1) = 5
    group0 = ((1 - 5) ** 2 + (2 - 5) ** 2) / 2  # 12.5
    group1 = (-1 - 5) ** 2  # 36
    assert out.loss.item() == pytest.approx((group0 + group1) / 2)  # 24.25


def test_plackett_luce_full_order_is_the_ranking_log_likelihood():
    r = [0.3, -0.2, 0.1]  # log-ratios; beta 1 so these are the rewards
    policy, reference = t(r), t([0.0, 0.0, 0.0])
    # ranking [[0], [1], [2]] -> pairs (0,1), (0,2), (1,2)
    out = plackett_luce_loss(policy, reference, idx([0, 0, 1]), idx([1, 2, 2]), idx([0, 0, 0]), 1, idx([0, 0, 0]), beta=1.0)
    e = [math.exp(x) for x in r]
    log_likelihood = (r[0] - math.log(e[0] + e[1] + e[2])) + (r[1] - math.log(e[1] + e[2]))
    assert out.loss.item() == pytest.approx(-log_likelihood / 2)


def test_plackett_luce_tied_completions_do_not_compete():
    r = [0.3, -0.2, 0.1]
    e = [math.exp(x) for x in r]
    policy, reference = t(r), t([0.0, 0.0, 0.0])
    # [[0, 1], [2]] -> pairs (0,2), (1,2): 0 and 1 each against themselves and 2
    out = plackett_luce_loss(policy, reference, idx([0, 1]), idx([2, 2]), idx([0, 0]), 1, idx([0, 0]), beta=1.0)
    expected = -((r[0] - math.log(e[0] + e[2])) + (r[1] - math.log(e[1] + e[2]))) / 2
    assert out.loss.item() == pytest.approx(expected)
    # [[0], [1, 2]] -> one term: 0 against everyone
    out = plackett_luce_loss(policy, reference, idx([0, 0]), idx([1, 2]), idx([0, 0]), 1, idx([0, 0]), beta=1.0)
    assert out.loss.item() == pytest.approx(-(r[0] - math.log(sum(e))))


def test_plackett_luce_reads_each_labelers_ranking_separately():
    r = [0.5, 0.0]
    policy, reference = t(r), t([0.0, 0.0])
    # labeler a: [[0], [1]], labeler b: [[1], [0]] in the same group -> two terms, one per ranking
    pair_group = idx([0, 0])
    rankings = ranking_ids(pair_group, ["a", "b"])
    assert rankings.tolist() == [0, 1]
    out = plackett_luce_loss(policy, reference, idx([0, 1]), idx([1, 0]), pair_group, 1, rankings, beta=1.0)
    z = math.log(math.exp(0.5) + 1.0)
    assert out.loss.item() == pytest.approx(-((0.5 - z) + (0.0 - z)) / 2)


def test_pairwise_losses_have_gradients_towards_the_preferred_completion():
    policy = POLICY.clone().requires_grad_(True)
    dpo_sigmoid_loss(policy, REFERENCE, BETTER, WORSE, GROUP, 2).loss.backward()
    assert policy.grad[0] < 0 and policy.grad[1] > 0 and policy.grad[4] < 0 and policy.grad[3] > 0


def test_clipped_policy_loss_by_hand():
    logprobs = t([[math.log(1.5), math.log(0.5), math.log(1.1)]])
    old = t([[0.0, 0.0, 0.0]])
    advantages = t([[1.0, -1.0, 1.0]])
    mask = t([[1.0, 1.0, 1.0]])
    out = clipped_policy_loss(logprobs, old, advantages, mask, clip_range=0.2)
    # token 0: max(-1.5, -1.2) = -1.2 (clipped); token 1: max(0.5, 0.8) = 0.8 (clipped); token 2: -1.1
    assert out.loss.item() == pytest.approx((-1.2 + 0.8 - 1.1) / 3)
    assert out.clipfrac.item() == pytest.approx(2 / 3)
    lr = [math.log(1.5), math.log(0.5), math.log(1.1)]
    assert out.approx_kl.item() == pytest.approx(sum(0.5 * x * x for x in lr) / 3)


def test_clipped_policy_loss_ignores_masked_tokens():
    out = clipped_policy_loss(t([[0.0, 5.0]]), t([[0.0, 0.0]]), t([[2.0, 100.0]]), t([[1.0, 0.0]]))
    assert out.loss.item() == pytest.approx(-2.0)


def test_clipped_value_loss_by_hand():
    loss, clipfrac = clipped_value_loss(t([[1.0, 0.1]]), t([[0.0, 0.0]]), t([[2.0, 0.0]]), t([[1.0, 1.0]]), 0.2)
    # token 0: v_clip = 0.2 -> max(1, 3.24) = 3.24; token 1: v_clip = 0.1 -> 0.01
    assert loss.item() == pytest.approx(0.5 * (3.24 + 0.01) / 2)
    assert clipfrac.item() == pytest.approx(0.5)


def test_kl_penalty_is_zero_when_policy_equals_reference():
    logprobs = t([[-1.0, -2.5, -0.3], [-0.7, -0.1, 0.0]])
    mask = t([[1, 1, 1], [1, 1, 0]])
    assert torch.equal(per_token_kl(logprobs, logprobs), torch.zeros_like(logprobs))
    rewards = kl_penalized_rewards(logprobs, logprobs, t([2.0, -1.0]), mask, beta=0.02)
    assert rewards.tolist() == [[0.0, 0.0, 2.0], [0.0, -1.0, 0.0]]


def test_kl_penalty_by_hand():
    rewards = kl_penalized_rewards(t([[-1.0, -1.0]]), t([[-2.0, -0.5]]), t([1.0]), t([[1, 1]]), beta=0.1)
    assert rewards[0].tolist() == pytest.approx([-0.1, 0.05 + 1.0])


def test_preferred_nll_is_the_per_token_nll_of_distinct_preferred_completions():
    from modeling.training.policy_losses import preferred_nll_loss

    logps, lengths = t([-4.0, -2.0, -9.0, -3.0, -1.0]), t([2.0, 1.0, 3.0, 3.0, 1.0])
    # preferred: 0 (twice) and 4 -> mean(4/2, 1/1)
    assert preferred_nll_loss(logps, lengths, BETTER).item() == pytest.approx((2.0 + 1.0) / 2)

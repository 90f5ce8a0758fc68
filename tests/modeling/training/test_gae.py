"""GAE, whitening and the adaptive KL controller against hand-worked examples."""
import math

import pytest
import torch

from modeling.training.gae import AdaptiveKLController, generalized_advantages, leave_one_out_scores, whiten


def test_gae_gamma_1_lambda_095_by_hand():
    rewards = torch.tensor([[0.0, 0.0, 1.0], [0.0, 2.0, 7.0]])
    values = torch.tensor([[0.5, 0.6, 0.7], [1.0, 1.0, 9.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    advantages, returns = generalized_advantages(rewards, values, mask, gamma=1.0, lam=0.95)
    # row 0: deltas 0.1, 0.1, 0.3 -> A2 = 0.3, A1 = 0.1 + 0.95*0.3 = 0.385, A0 = 0.1 + 0.95*0.385
    assert advantages[0].tolist() == pytest.approx([0.46575, 0.385, 0.3])
    assert returns[0].tolist() == pytest.approx([0.96575, 0.985, 1.0])
    # row 1 (last token padded): deltas 0, 1 -> A1 = 1, A0 = 0.95; padding gets 0
    assert advantages[1].tolist() == pytest.approx([0.95, 1.0, 0.0])
    assert returns[1].tolist() == pytest.approx([1.95, 2.0, 0.0])


def test_whiten_uses_real_tokens_only():
    out = whiten(torch.tensor([[1.0, 2.0, 3.0, 100.0]]), torch.tensor([[1, 1, 1, 0]]))
    s = math.sqrt(2 / 3)
    assert out[0].tolist() == pytest.approx([-1 / s, 0.0, 1 / s, 0.0], abs=1e-6)


def test_adaptive_kl_controller_moves_towards_target():
    controller = AdaptiveKLController(0.1, target=6.0, horizon=10000)
    assert controller.update(12.0, n_steps=100) == pytest.approx(0.1 * (1 + 0.2 * 0.01))
    controller = AdaptiveKLController(0.1, target=6.0, horizon=10000)
    assert controller.update(3.0, n_steps=100) == pytest.approx(0.1 * (1 - 0.2 * 0.01))
    assert controller.update(6.0, n_steps=100) == pytest.approx(0.1 * (1 - 0.2 * 0.01))


def test_leave_one_out_scores_subtract_the_mean_of_the_prompts_other_responses():
    scores = torch.tensor([1.0, 2.0, 3.0, 10.0, 10.0, 13.0])  # two prompts, three responses each
    expected = torch.tensor([1 - 2.5, 2 - 2.0, 3 - 1.5, 10 - 11.5, 10 - 11.5, 13 - 10.0])
    assert torch.allclose(leave_one_out_scores(scores, 3), expected)
    # a prompt's level cancels: shifting one prompt's scores changes nothing
    assert torch.allclose(leave_one_out_scores(scores + torch.tensor([0, 0, 0, 5.0, 5.0, 5.0]), 3), expected)
    assert torch.equal(leave_one_out_scores(scores, 1), scores)
    with pytest.raises(ValueError, match="groups of 4"):
        leave_one_out_scores(scores, 4)

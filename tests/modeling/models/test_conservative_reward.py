"""Conservative aggregates of member scores, computed by hand."""
import math

import pytest
import torch

from modeling.models.conservative_reward import (aggregate_error, aggregate_rewards, guard_scores, member_scale,
                                                 standardise)

SCORES = torch.tensor([[1.0, 3.0], [0.0, 1.0], [2.0, 2.0]])  # 3 responses x 2 members


def test_mean_min_and_uwo_by_hand():
    assert aggregate_rewards(SCORES, "mean").tolist() == [2.0, 0.5, 2.0]
    assert aggregate_rewards(SCORES, "min").tolist() == [1.0, 0.0, 2.0]
    # uwo: mean - lambda * population std; std = 1.0, 0.5, 0.0
    assert aggregate_rewards(SCORES, "uwo", 2.0).tolist() == [0.0, -0.5, 2.0]
    assert aggregate_rewards(SCORES, "uwo", 0.0).tolist() == [2.0, 0.5, 2.0]


def test_members_are_standardised_on_the_reference_set():
    mu, sigma = member_scale(SCORES)
    assert mu.tolist() == [1.0, 2.0]
    assert sigma.tolist() == pytest.approx([math.sqrt(2 / 3), math.sqrt(2 / 3)])
    z = standardise(SCORES, mu, sigma)
    assert z[:, 0].tolist() == pytest.approx([0.0, -1.2247449, 1.2247449], abs=1e-6)
    assert z[:, 1].tolist() == pytest.approx([1.2247449, -1.2247449, 0.0], abs=1e-6)
    wide = SCORES * torch.tensor([1.0, 100.0]) + torch.tensor([0.0, 7.0])  # member 2: another scale and offset
    assert torch.allclose(standardise(wide, *member_scale(wide)), z, atol=1e-5)
    constant = torch.tensor([[1.0, 5.0], [1.0, 6.0]])
    assert torch.isfinite(standardise(constant, *member_scale(constant))).all()


def test_guard_scores_of_an_ensemble_and_of_one_model():
    out = guard_scores(SCORES, "min", scale=(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])))
    # z = [[0, .5], [-1, -.5], [1, 0]]
    assert out.proxy.tolist() == [0.25, -0.75, 0.5]
    assert out.conservative.tolist() == [0.0, -1.0, 0.0]
    assert out.spread.tolist() == [0.25, 0.25, 0.5]
    single = torch.tensor([0.3, -2.0])
    for one in (single, single.unsqueeze(1)):  # (N,) or (N, 1): never rescaled, all three the score
        out = guard_scores(one, "uwo", 3.0, scale=(torch.tensor([5.0]), torch.tensor([9.0])))
        assert out.proxy.tolist() == out.conservative.tolist() == pytest.approx([0.3, -2.0])
        assert out.spread.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("aggregate, lam, message", [("median", 1.0, "one of mean, min, uwo, not 'median'"),
                                                     ("uwo", -0.5, "uwo_lambda must be >= 0, not -0.5"),
                                                     ("uwo", float("nan"), "uwo_lambda must be >= 0")])
def test_bad_settings_are_named(aggregate, lam, message):
    assert message in aggregate_error(aggregate, lam)
    assert aggregate_error("uwo", 0.0) is None


def test_an_unknown_aggregate_is_refused():
    with pytest.raises(ValueError, match="reward_aggregate must be one of"):
        aggregate_rewards(SCORES, "median")

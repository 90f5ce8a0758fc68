"""Best-of-n picks by the mean or a conservative aggregate, by hand and through a real ensemble."""
import pytest
import torch

from modeling.models.best_of_n import best_of_n, best_of_n_indices
from modeling.models.reward_ensemble import load_reward_ensemble
from tests.modeling.models.test_reward_ensemble import _two_member_ensemble

# 1 prompt, 3 samples, 2 members on one scale already (each member: mean 0 over the 3 samples)
SCORES = torch.tensor([[[3.0, -3.0], [1.0, 1.0], [-4.0, 2.0]]])


def test_mean_picks_the_disputed_sample_and_the_conservative_ones_do_not():
    scale = (torch.zeros(2), torch.ones(2))
    assert best_of_n_indices(SCORES, "mean", scale=scale).tolist() == [1]  # means 0, 1, -1
    disputed = torch.tensor([[[5.0, -3.0], [1.0, 1.0], [-4.0, 2.0]]])  # means 1, 1, -1: tie -> the first
    assert best_of_n_indices(disputed, "mean", scale=scale).tolist() == [0]
    assert best_of_n_indices(disputed, "min", scale=scale).tolist() == [1]
    assert best_of_n_indices(disputed, "uwo", 0.5, scale=scale).tolist() == [1]  # 1 - 0.5*4 vs 1 - 0
    assert best_of_n_indices(disputed, "min", n=1, scale=scale).tolist() == [0]  # only the first sample


def test_members_are_standardised_over_the_candidates_before_the_min():
    wide = torch.tensor([[[30.0, 0.0], [10.0, 2.0], [20.0, 1.0]]])  # member 0 on a 10x scale
    # z: member 0 (30, 10, 20) -> (1.22, -1.22, 0); member 1 (0, 2, 1) -> (-1.22, 1.22, 0); min picks sample 2
    assert best_of_n_indices(wide, "min").tolist() == [2]
    assert best_of_n_indices(wide[..., 0], "min").tolist() == [0]  # one reward model: its own argmax


def test_a_bad_aggregate_is_refused():
    with pytest.raises(ValueError, match="reward_aggregate must be one of"):
        best_of_n_indices(SCORES, "max")


def test_best_of_n_through_an_ensemble(tmp_path, tiny_bert_path):
    ensemble = load_reward_ensemble(_two_member_ensemble(tmp_path, tiny_bert_path))
    prompts, samples = ["List 2 fruits.", "List 3 tools."], [["apple", "pear and fig"], ["saw", "hammer drill"]]
    scores = ensemble.member_scores([p for p in prompts for _ in range(2)], [s for row in samples for s in row])
    for aggregate in ("mean", "min", "uwo"):
        expected = best_of_n_indices(scores.reshape(2, 2, 2), aggregate).tolist()
        assert best_of_n(ensemble, prompts, samples, aggregate) == [samples[0][expected[0]], samples[1][expected[1]]]

"""Simulated labelers: tiers and ties, pairwise agreement by hand, agreement near the calibrated 73 %."""
import random

import pytest

from modeling.simulation.instructions import generate_prompts, reference_response
from modeling.simulation.oracle import (
    LabelerConfig, SimulatedLabeler, calibrate_noise, pair_preferences, pairwise_agreement,
    simulated_agreement, tiers_from_scores,
)


def mixed_quality_samples(n_prompts: int = 60, k: int = 4, seed: int = 0) -> list[tuple[str, list[str]]]:
    """Each prompt's own good answer, a truncated or repeated one, and answers to other prompts."""
    rng = random.Random(seed)
    prompts = generate_prompts(n_prompts * 3, seed=seed)
    samples = []
    for i in range(n_prompts):
        prompt = prompts[i]
        good = reference_response(prompt, rng)
        damaged = good[: max(1, len(good) // 2)] if rng.random() < 0.5 else f"{good} {good} {good}"
        others = [reference_response(prompts[rng.randrange(n_prompts, 3 * n_prompts)], rng) for _ in range(k - 2)]
        samples.append((prompt, [good, damaged, *others]))
    return samples


def test_tiers_sort_best_first_and_tie_close_scores():
    assert tiers_from_scores([0.2, 0.9, 0.5], tie_threshold=0.01) == [[1], [2], [0]]
    assert tiers_from_scores([0.5, 0.9, 0.505, 0.1], tie_threshold=0.02) == [[1], [2, 0], [3]]


def test_pairwise_agreement_by_hand():
    assert pairwise_agreement([[0], [1], [2]], [[0], [1], [2]]) == (3, 3)
    assert pairwise_agreement([[0], [1], [2]], [[2], [1], [0]]) == (0, 3)
    assert pairwise_agreement([[0], [1], [2]], [[2, 0, 1]]) == (0, 0)  # all tied in b: nothing compared
    # pair (0, 1) is tied in b, so only (0, 2) and (1, 2) are compared
    assert pairwise_agreement([[0], [1], [2]], [[0, 1], [2]]) == (2, 2)
    assert pairwise_agreement([[2], [0], [1]], [[0, 1], [2]]) == (0, 2)
    assert pairwise_agreement([[1], [0], [2]], [[0, 1], [2]]) == (2, 2)
    assert pair_preferences([[1], [0, 2]]) == {(0, 1): -1, (0, 2): 0, (1, 2): 1}


def test_labelers_are_reproducible_and_differ_from_each_other():
    prompt, completions = mixed_quality_samples(1, k=6)[0]
    config = LabelerConfig(noise=0.3)
    assert SimulatedLabeler("ann", config).rank(prompt, completions) == SimulatedLabeler("ann", config).rank(prompt, completions)
    perceived = {tuple(SimulatedLabeler(name, config).perceive(prompt, completions)) for name in ("ann", "bob", "cy")}
    assert len(perceived) == 3


def test_rankings_cover_every_completion_once():
    labeler = SimulatedLabeler("ann")
    for prompt, completions in mixed_quality_samples(20):
        ranking = labeler.rank(prompt, completions)
        assert sorted(i for tier in ranking for i in tier) == list(range(len(completions)))


def test_noiseless_labelers_always_agree_and_noise_lowers_agreement():
    samples = mixed_quality_samples(40)
    assert simulated_agreement(samples, LabelerConfig(noise=0.0), labelers=2) == 1.0
    assert simulated_agreement(samples, LabelerConfig(noise=2.0), labelers=2) < 0.75


def test_default_noise_ties_equal_answers():
    prompt = "Answer with yes or no: is a banana a fruit?"
    ranking = SimulatedLabeler("ann", LabelerConfig(noise=0.0)).rank(prompt, ["Yes.", "No.", "Yes!", "no"])
    assert ranking == [[0, 2], [1, 3]]


@pytest.mark.parametrize("target", [0.726, 0.85])
def test_calibrated_noise_gives_the_target_agreement(target):
    samples = mixed_quality_samples(60)
    noise = calibrate_noise(samples, target=target, iterations=10)
    assert simulated_agreement(samples, LabelerConfig(noise=noise)) == pytest.approx(target, abs=0.03)

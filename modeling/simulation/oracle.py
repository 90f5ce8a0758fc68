"""Simulated labelers: rank completions by gold score plus each labeler's own Gaussian noise.

A labeler first sees which completions are equally good: completions whose gold scores lie within
``same_quality`` of each other (chained, after sorting) form one quality level and are tied, as a
person ties two equally correct answers (InstructGPT asked its labelers to). Each level is then
perceived as its mean gold score plus ``N(0, noise²)``; levels are sorted best to worst, and levels
whose perceived scores are closer than ``tie_threshold`` are tied too. Noise therefore only decides
the order of answers of *different* quality, which is where real labelers disagree; it never invents
a preference between two equally good answers (which would teach a reward model or DPO noise).
Rankings are DESIGN.md tiers of indexes into ``completions``: ``[[2], [0, 3], [1]]``.
A simulated labeler also writes demonstrations (:meth:`SimulatedLabeler.write`): the best, as they
perceive it, of several good answers, so their demonstrations are good but noisily chosen.

The defaults are calibrated so that two labelers agree on about 73 % of the pairs both of them
order (InstructGPT reports 72.6 % ± 1.5 % between its labelers) on samples from the bootstrap policy.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from itertools import combinations

from modeling.formats.conversation import Prompt, last_user_message
from modeling.simulation.instructions import gold_score, reference_response
from modeling.config_fields import help_field as _help

Ranking = list[list[int]]  # tiers best to worst, each a list of indexes into completions


@dataclass
class LabelerConfig:
    """How noisy a simulated labeler is; the defaults give about 73 % pairwise agreement."""

    noise: float = _help("std of the Gaussian noise added to each quality level's gold score", 0.48)
    tie_threshold: float = _help("perceived scores of two levels closer than this share a tier", 0.05)
    same_quality: float = _help("gold scores closer than this are one quality level, always tied", 0.05)
    seed: int = _help("base seed; each labeler's own seed comes from it and the labeler's name", 0)


def labeler_seed(base_seed: int, labeler: str) -> int:
    """A stable per-labeler seed (independent of Python's hash randomisation)."""
    digest = hashlib.sha256(f"{base_seed}:{labeler}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def tiers_from_scores(scores: list[float], tie_threshold: float) -> Ranking:
    """Sort indexes by score, best first, into tiers; a gap under ``tie_threshold`` keeps a tier going."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    tiers: Ranking = []
    for index in order:
        if tiers and scores[tiers[-1][-1]] - scores[index] < tie_threshold:
            tiers[-1].append(index)
        else:
            tiers.append([index])
    return tiers


class SimulatedLabeler:
    """One simulated labeler: its own noise stream, fixed by ``labeler_seed(config.seed, name)``."""

    def __init__(self, name: str, config: LabelerConfig | None = None):
        self.name = name
        self.config = config or LabelerConfig()
        self._rng = random.Random(labeler_seed(self.config.seed, name))

    def perceive(self, prompt: Prompt, completions: list[str]) -> list[float]:
        """Perceived score per completion: its quality level's mean gold score plus this labeler's noise."""
        instruction = last_user_message(prompt)  # a conversation is judged on its final user turn
        return perceived_scores([gold_score(instruction, c) for c in completions], self._rng, self.config)

    def rank(self, prompt: Prompt, completions: list[str]) -> Ranking:
        """This labeler's ranking of ``completions``: tiers best to worst, ties allowed."""
        return tiers_from_scores(self.perceive(prompt, completions), self.config.tie_threshold)

    def write(self, prompt: Prompt, *, candidates: int = 8, start_from: str = "") -> str:
        """A demonstration for ``prompt``: of ``candidates`` good answers in varied phrasings
        (``reference_response``), plus ``start_from`` when rewriting a completion, the one this labeler
        perceives best (gold score plus their noise, as they rank). Raises ValueError for a prompt
        the templates cannot read."""
        instruction = last_user_message(prompt)
        options = [reference_response(instruction, self._rng) for _ in range(candidates)]
        options += [start_from] if start_from else []
        gold = [gold_score(instruction, option) for option in options]
        perceived = [g + self._rng.gauss(0.0, self.config.noise) for g in gold]
        return options[max(range(len(options)), key=perceived.__getitem__)]


def perceived_scores(gold: list[float], rng: random.Random, config: LabelerConfig) -> list[float]:
    """One noisy value per quality level (see the module docstring), given to each of its completions."""
    perceived = [0.0] * len(gold)
    for level in quality_levels(gold, config.same_quality):
        value = sum(gold[i] for i in level) / len(level) + rng.gauss(0.0, config.noise)
        for index in level:
            perceived[index] = value
    return perceived


def quality_levels(gold: list[float], same_quality: float) -> list[list[int]]:
    """Indexes grouped by gold score: sorted, a gap under ``same_quality`` keeps a level going."""
    return tiers_from_scores(gold, same_quality)


def pair_preferences(ranking: Ranking) -> dict[tuple[int, int], int]:
    """For each pair (i, j) with i < j of ranked indexes: 1 if i is ranked better, -1 if j, 0 if tied."""
    tier_of = {index: position for position, tier in enumerate(ranking) for index in tier}
    return {(i, j): (tier_of[j] > tier_of[i]) - (tier_of[j] < tier_of[i])
            for i, j in combinations(sorted(tier_of), 2)}


def pairwise_agreement(ranking_a: Ranking, ranking_b: Ranking) -> tuple[int, int]:
    """(agreeing pairs, compared pairs) over the pairs that both rankings order (not tied in either).

    Pairs absent from either ranking are skipped. Agreement is ``agreeing / compared``; sum both
    counts over many prompts before dividing.
    """
    a, b = pair_preferences(ranking_a), pair_preferences(ranking_b)
    compared = [pair for pair in a.keys() & b.keys() if a[pair] and b[pair]]
    return sum(a[pair] == b[pair] for pair in compared), len(compared)


def agreement_rate(rankings_a: list[Ranking], rankings_b: list[Ranking]) -> float:
    """Pooled pairwise agreement of two labelers over the same prompts (nan if no pair compared)."""
    agreeing = compared = 0
    for ranking_a, ranking_b in zip(rankings_a, rankings_b, strict=True):
        agree, count = pairwise_agreement(ranking_a, ranking_b)
        agreeing, compared = agreeing + agree, compared + count
    return agreeing / compared if compared else float("nan")


def simulated_agreement(samples: list[tuple[str, list[str]]], config: LabelerConfig, labelers: int = 4) -> float:
    """Mean pooled agreement over all pairs of ``labelers`` simulated labelers ranking ``samples``."""
    panel = [SimulatedLabeler(f"sim-{i}", config) for i in range(labelers)]
    rankings = [[labeler.rank(prompt, completions) for prompt, completions in samples] for labeler in panel]
    rates = [agreement_rate(a, b) for a, b in combinations(rankings, 2)]
    return sum(rates) / len(rates)


def calibrate_noise(samples: list[tuple[str, list[str]]], target: float = 0.726,
                    tie_threshold: float = 0.02, iterations: int = 14) -> float:
    """The noise std at which simulated labelers agree on ``target`` of pairs of ``samples``.

    Bisection on [0, 1]; agreement falls as noise grows (from 1 at zero noise towards 0.5).
    """
    low, high = 0.0, 1.0
    for _ in range(iterations):
        middle = (low + high) / 2
        if simulated_agreement(samples, LabelerConfig(noise=middle, tie_threshold=tie_threshold)) > target:
            low = middle
        else:
            high = middle
    return (low + high) / 2

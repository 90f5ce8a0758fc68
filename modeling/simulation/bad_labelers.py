"""Unreliable simulated labelers, with :class:`modeling.simulation.oracle.SimulatedLabeler`'s ``rank``.

- :class:`RandomLabeler` clicks: a uniformly random order of the completions, no ties.
- :class:`FlippingLabeler` ranks as a normal simulated labeler, then hands in the *reversed* ranking
  with probability ``flip`` (0.2): a ranking is a consistent order, so single pairs cannot be flipped
  one by one; reversing whole rankings flips ``flip`` of their ordered pairs on average, exactly the
  CrowdBT noise model (each comparison reported backwards with probability 1 - eta).
Both draw from their own seeded stream (``labeler_seed``), as the oracle's labelers do.
:func:`panel_rankings` has a panel of labelers rank overlapping tasks; :func:`gold_ranking` is the truth.
"""
from __future__ import annotations

import random

from modeling.formats.conversation import Prompt
from modeling.formats.rankings import Ranking as FormatRanking
from modeling.simulation.completions import distinct_completions
from modeling.simulation.instructions import gold_score
from modeling.simulation.oracle import LabelerConfig, Ranking, SimulatedLabeler, labeler_seed, quality_levels


class RandomLabeler:
    """Ranks at random: every order of the K completions equally likely."""

    def __init__(self, name: str, seed: int = 0):
        self.name = name
        self._rng = random.Random(labeler_seed(seed, name))

    def rank(self, prompt: Prompt, completions: list[str]) -> Ranking:
        order = list(range(len(completions)))
        self._rng.shuffle(order)
        return [[index] for index in order]


class FlippingLabeler(SimulatedLabeler):
    """A simulated labeler who reverses a share ``flip`` of their rankings (module docstring)."""

    def __init__(self, name: str, config: LabelerConfig | None = None, flip: float = 0.2):
        super().__init__(name, config)
        self.flip = flip
        self._flip_rng = random.Random(labeler_seed(self.config.seed + 1, name))

    def rank(self, prompt: Prompt, completions: list[str]) -> Ranking:
        tiers = super().rank(prompt, completions)
        return tiers[::-1] if self._flip_rng.random() < self.flip else tiers


def panel_rankings(prompts: list[str], panel: list, *, k: int, per_prompt: int, seed: int,
                   always: tuple = ()) -> list[FormatRanking]:
    """Each prompt's ``k`` completions (:func:`distinct_completions`) ranked by ``per_prompt`` labelers of
    ``panel`` in rotation (prompt n by labelers n, n+1, ...): overlapping tasks, as a project's are; and
    by every labeler in ``always`` too (a prolific labeler who ranks every prompt)."""
    rng = random.Random(seed)
    rankings = []
    for number, prompt in enumerate(prompts):
        completions = distinct_completions(prompt, prompts, k, rng)
        for labeler in [panel[(number + i) % len(panel)] for i in range(per_prompt)] + list(always):
            tiers = labeler.rank(prompt, completions)
            rankings.append(FormatRanking(prompt, tuple(completions), tuple(map(tuple, tiers)), labeler.name))
    return rankings


def gold_ranking(ranking: FormatRanking, same_quality: float = LabelerConfig.same_quality) -> FormatRanking:
    """``ranking``'s completions in their true order (gold scores; equally good ones tied), labeler "gold"."""
    gold = [gold_score(ranking.prompt, c) for c in ranking.completions]
    tiers = quality_levels(gold, same_quality)
    return FormatRanking(ranking.prompt, ranking.completions, tuple(map(tuple, tiers)), "gold")

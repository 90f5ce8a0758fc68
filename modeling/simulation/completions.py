"""Completions of uneven quality for simulated rankings (benchmarks and tests): a good answer, a damaged
one, an off-topic one, or filler, so that simulated labelers have real differences to rank."""
from __future__ import annotations

import random

from modeling.simulation.instructions import reference_response

FILLER = ("well", "so", "basically", "I", "think", "maybe", "the", "answer", "is", "this", "that", "yes", "no")


def varied_completion(prompt: str, others: list[str], rng: random.Random) -> str:
    """One completion of ``prompt``, drawn from seven kinds (``others``: prompts to answer off-topic)."""
    good = reference_response(prompt, rng)
    words = good.split()
    kind = rng.randrange(7)
    if kind == 0:
        return good
    if kind == 1:
        return reference_response(rng.choice(others), rng)  # answers another prompt
    if kind == 2 and len(words) > 2:
        return " ".join(words[: rng.randint(1, len(words) - 1)])  # cut short
    if kind == 3:
        return " ".join(words + words)  # repeated
    if kind == 4:
        position = rng.randrange(len(words))
        return " ".join(words[:position] + [rng.choice(FILLER)] + words[position + 1:])  # one word wrong
    if kind == 5:
        return good + " " + " ".join(rng.choices(FILLER, k=rng.randint(4, 10)))  # rambling
    return " ".join(rng.choices(FILLER, k=rng.randint(2, 8)))


def distinct_completions(prompt: str, others: list[str], k: int, rng: random.Random) -> list[str]:
    """``k`` different non-empty :func:`varied_completion` of ``prompt``."""
    completions: list[str] = []
    while len(completions) < k:
        text = varied_completion(prompt, others, rng).strip()
        if text and text not in completions:
            completions.append(text)
    return completions

"""Judging a policy with the simulated labelers' hidden gold score: used by the loop experiment and
by the app's ``simulate_rounds`` command, so both report the same figures.

- ``gold_of_samples``: gold score of fresh samples, ``samples_per_prompt`` per prompt, with a fixed
  sampling seed so two policies are compared on the same random stream.
- ``win_rate``: share of positions where ``after`` beats ``before``; ties count half.
- ``paired_standard_error``: standard error of the mean gain over the paired (prompt, sample) positions.
- ``kl_to_reference``: Monte Carlo KL(policy || reference) per completion on fresh samples.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from modeling.simulation.instructions import gold_score
from modeling.models.kl import estimate_kl
from modeling.models.policy_model import load_policy
from modeling.training.ppo_rollout import generate_responses


def gold_of_samples(policy_dir: str, prompts: Sequence[str], *, samples_per_prompt: int = 2,
                    max_new_tokens: int = 48, seed: int = 777, device: str = "cpu") -> list[float]:
    model, tokenizer = load_policy(policy_dir, device)
    repeated = [p for p in prompts for _ in range(samples_per_prompt)]
    state = torch.get_rng_state()
    torch.manual_seed(seed)
    responses = generate_responses(model, tokenizer, repeated, max_new_tokens=max_new_tokens)
    torch.set_rng_state(state)
    return [gold_score(p, c) for p, c in zip(repeated, responses.texts)]


def win_rate(after: Sequence[float], before: Sequence[float]) -> float:
    if not after:
        return float("nan")
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in zip(after, before)) / len(after)


def paired_standard_error(after: Sequence[float], before: Sequence[float]) -> float:
    """Standard error of mean(after - before) over the paired (prompt, sample) positions."""
    diffs = [a - b for a, b in zip(after, before)]
    if len(diffs) < 2:
        return 0.0
    mean = sum(diffs) / len(diffs)
    return (sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1) / len(diffs)) ** 0.5


def kl_to_reference(policy_dir: str, reference_dir: str, prompts: Sequence[str], *, max_new_tokens: int = 48,
                    seed: int = 99, device: str = "cpu") -> float:
    policy, tokenizer = load_policy(policy_dir, device)
    reference, _ = load_policy(reference_dir, device)
    return estimate_kl(policy, reference, tokenizer, prompts, max_new_tokens=max_new_tokens, seed=seed)

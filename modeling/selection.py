"""Active task selection: which candidate tasks (a prompt and its K completions) are worth ranking.

Pure functions over the members' scores of each task's completions (``scores``: (M members, K)); no
model, no database. :func:`task_informativeness` scores one task, :func:`select_tasks` picks n of a pool.

Methods (``SelectionConfig.method``):

- ``uncertainty`` (default): the expected information a ranking gives about the ensemble's disagreement,
  BALD's mutual information summed over the task's C(K,2) pairwise orders, in nats::

      p_m = sigmoid(s_i,m - s_j,m)                    member m's probability that i beats j
      I(i, j) = H(1/M sum_m p_m) - 1/M sum_m H(p_m)    H(p) = -p log p - (1 - p) log(1 - p)
      score = sum_{i < j} I(i, j)

  0 when the members agree (however unsure they all are: label noise a ranking cannot reduce), larger the
  more confidently they disagree. One member gives 0 everywhere.
- ``variance``: the mean over pairs of the members' spread (population std) of ``s_i - s_j``.
- ``random``: every pick uniform from the pool (each still records its ``uncertainty`` score).

Picking n (:func:`select_tasks`):

1. ``round(random_share * n)`` picks (all n for ``random``) are drawn uniformly from the whole pool with
   ``random.Random(seed)`` first, so they are an unbiased sample of the candidates whatever the scores;
   they record ``random_pick: true`` and method ``random``.
2. The rest greedily, one at a time, by ``score / best_score - diversity_penalty * max_sim``: ``max_sim``
   the largest cosine similarity of the candidate's prompt to any prompt picked so far (random picks
   included; they are ranked too). Dividing by the pool's best score puts the penalty in a fixed unit
   (a share of the best task's score) for either method. Ties go to the earlier candidate.
3. Ranks are 1..n in the order picked: the informed picks first, then the random ones.

Prompt similarity is TF-IDF cosine over character 3-grams of the lower-cased prompt text (words padded
with spaces): cheap, no model, and it calls near-duplicates (the same instruction with another number or
a typo) close. The reward encoder's pooled output would judge meaning better, at a forward pass per
prompt; not measured here.
"""
from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import torch

METHODS = ("uncertainty", "variance", "random")


@dataclass
class SelectionConfig:
    method: str = "uncertainty"  # uncertainty (BALD over pairs) | variance (mean pair spread) | random
    random_share: float = 0.2  # share of the picks drawn uniformly from the pool, for unbiased evaluation
    diversity_penalty: float = 0.5  # lambda: score/best - lambda * max similarity to the prompts picked so far
    seed: int = 0  # seed of the random picks


@dataclass
class Pick:
    index: int  # position of the task in the pool
    method: str  # "uncertainty" / "variance" for informed picks, "random" for random ones
    score: float  # the task's informativeness under config.method (nan when not scored)
    rank: int  # 1..n in the order picked
    random_pick: bool

    def to_json(self) -> dict:
        return {"method": self.method, "score": None if math.isnan(self.score) else self.score,
                "rank": self.rank, "random_pick": self.random_pick}


def check_selection_config(config: SelectionConfig) -> None:
    """ValueError naming the first impossible setting."""
    if config.method not in METHODS:
        raise ValueError(f"unknown selection method {config.method!r}; choose one of {', '.join(METHODS)}")
    if not 0 <= config.random_share <= 1:
        raise ValueError("random share must be between 0 and 1")
    if config.diversity_penalty < 0:
        raise ValueError("diversity penalty must be >= 0")


def binary_entropy(p: torch.Tensor) -> torch.Tensor:
    """H(p) = -p log p - (1 - p) log(1 - p) in nats, elementwise; H(0) = H(1) = 0."""
    return -(torch.xlogy(p, p) + torch.xlogy(1 - p, 1 - p))


def _pair_differences(scores: torch.Tensor) -> torch.Tensor:
    """``scores`` (M, K) -> s_i - s_j for every pair i < j: (M, C(K, 2))."""
    first, second = torch.triu_indices(scores.shape[1], scores.shape[1], offset=1)
    return scores[:, first] - scores[:, second]


def pair_information(scores: torch.Tensor) -> torch.Tensor:
    """BALD mutual information of each pair i < j: (M, K) -> (C(K, 2),), nats (formula in the module doc)."""
    p = torch.sigmoid(_pair_differences(scores.double()))  # (M, pairs)
    return (binary_entropy(p.mean(dim=0)) - binary_entropy(p).mean(dim=0)).clamp(min=0)


def task_informativeness(scores: torch.Tensor, method: str = "uncertainty") -> float:
    """One task's score from its members' scores ``scores`` (M, K): ``uncertainty`` the summed pair
    information, ``variance`` the mean over pairs of the std across members of s_i - s_j."""
    if method == "uncertainty":
        return float(pair_information(scores).sum())
    if method == "variance":
        return float(_pair_differences(scores.double()).std(dim=0, correction=0).mean())
    raise ValueError(f"unknown selection method {method!r}")


def _char_ngrams(text: str, n: int = 3) -> Counter:
    padded = " " + " ".join(text.lower().split()) + " "
    return Counter(padded[i : i + n] for i in range(max(len(padded) - n + 1, 1)))


def prompt_vectors(texts: Sequence[str]) -> torch.Tensor:
    """L2-normalised TF-IDF rows over character 3-grams, sparse (len(texts), V); idf = log((1+n)/(1+df)) + 1."""
    counts = [_char_ngrams(text) for text in texts]
    document_frequency = Counter(gram for row in counts for gram in row)
    vocabulary = {gram: column for column, gram in enumerate(sorted(document_frequency))}
    idf = {gram: math.log((1 + len(texts)) / (1 + df)) + 1 for gram, df in document_frequency.items()}
    rows, columns, values = [], [], []
    for row, grams in enumerate(counts):
        weights = {gram: count * idf[gram] for gram, count in grams.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        for gram, weight in weights.items():
            rows.append(row)
            columns.append(vocabulary[gram])
            values.append(weight / norm)
    return torch.sparse_coo_tensor([rows, columns], values, (len(texts), max(len(vocabulary), 1)),
                                   dtype=torch.float64, check_invariants=True).coalesce()


def select_tasks(scores: Sequence[float], prompts: Sequence[str], n: int, config: SelectionConfig) -> list[Pick]:
    """n picks from a pool of tasks with informativeness ``scores`` and prompt texts ``prompts``, in rank
    order (procedure in the module doc). ValueError when n is not in 1..len(pool) or the config is bad."""
    check_selection_config(config)
    pool = len(scores)
    if len(prompts) != pool:
        raise ValueError("one prompt per task")
    if not 1 <= n <= pool:
        raise ValueError(f"cannot pick {n} of {pool} candidate tasks (need 1 <= n <= pool)")
    n_random = n if config.method == "random" else math.floor(config.random_share * n + 0.5)
    random_indices = random.Random(config.seed).sample(range(pool), n_random)
    informed = _greedy_diverse(scores, prompts, n - n_random, random_indices, config.diversity_penalty)
    order = [(i, config.method, False) for i in informed] + [(i, "random", True) for i in random_indices]
    return [Pick(index=i, method=method, score=float(scores[i]), rank=rank, random_pick=is_random)
            for rank, (i, method, is_random) in enumerate(order, start=1)]


def _greedy_diverse(scores: Sequence[float], prompts: Sequence[str], n: int, taken: Sequence[int],
                    penalty: float) -> list[int]:
    """n indices not in ``taken``, each the best of ``score / best - penalty * max similarity to all picked``."""
    if n == 0:
        return []
    values = torch.tensor([float(s) for s in scores], dtype=torch.float64).nan_to_num(0.0)  # (pool,)
    best = values.max().item()
    values = values / best if best > 0 else values
    vectors = prompt_vectors(prompts) if penalty > 0 else None
    max_sim = torch.zeros_like(values)
    available = torch.ones(len(values), dtype=torch.bool)
    picked: list[int] = []

    def mark(index: int) -> None:
        available[index] = False
        if vectors is not None:
            column = vectors.index_select(0, torch.tensor([index])).to_dense().T  # (V, 1)
            max_sim.copy_(torch.maximum(max_sim, torch.sparse.mm(vectors, column).squeeze(1)))

    for index in taken:
        mark(index)
    for _ in range(n):
        adjusted = torch.where(available, values - penalty * max_sim, torch.tensor(-math.inf, dtype=torch.float64))
        index = int(torch.argmax(adjusted))  # first maximum: ties go to the earlier candidate
        picked.append(index)
        mark(index)
    return picked

"""K-way rankings -> per-prompt comparison groups -> length-bucketed batches of whole groups.

A group is one prompt with its K completions (each tokenized once, scored by one forward pass) and
the (better, worse) index pairs of every non-tied comparison among them: C(K,2) pairs when nothing
is tied. Grouping rule: rankings with the same prompt *and* the same completions in the same order
share one group; each labeler's pairs are appended to it, duplicates included, so a comparison two
labelers agree on counts twice and one they disagree on pulls both ways (each judgement is data).
Rankings of the same prompt over different completions are different groups.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import torch

from modeling.formats.conversation import Prompt, prompt_text
from modeling.formats.rankings import Ranking


def comparisons_from_tiers(tiers: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """All (better, worse) pairs implied by tiers best to worst; members of one tier are tied (no pair).

    >>> comparisons_from_tiers([[2], [0, 3], [1]])
    [(2, 0), (2, 3), (2, 1), (0, 1), (3, 1)]
    """
    pairs = []
    for position, tier in enumerate(tiers):
        for lower in tiers[position + 1 :]:
            pairs.extend((better, worse) for better in tier for worse in lower)
    return pairs


@dataclass
class ComparisonGroup:
    """One prompt, its K completions and every labeled non-tied comparison among them."""

    prompt: Prompt
    completions: tuple[str, ...]
    better: list[int] = field(default_factory=list)  # (P,) completion index of the preferred one
    worse: list[int] = field(default_factory=list)  # (P,)
    labelers: list[str] = field(default_factory=list)  # (P,) who made each comparison
    input_ids: list[list[int]] = field(default_factory=list)  # (K, len_k) prompt+completion tokens

    @property
    def num_pairs(self) -> int:
        return len(self.better)

    @property
    def max_length(self) -> int:
        return max((len(ids) for ids in self.input_ids), default=0)


def group_rankings(rankings: Iterable[Ranking]) -> list[ComparisonGroup]:
    """Merge rankings into groups (rule in the module docstring), in order of first appearance.

    Groups whose rankings are all ties keep zero pairs; :func:`batch_groups` skips them.
    """
    groups: dict[tuple[Prompt, tuple[str, ...]], ComparisonGroup] = {}
    for ranking in rankings:
        key = (ranking.prompt, ranking.completions)
        group = groups.get(key)
        if group is None:
            group = groups[key] = ComparisonGroup(prompt=ranking.prompt, completions=ranking.completions)
        for better, worse in comparisons_from_tiers(ranking.tiers):
            group.better.append(better)
            group.worse.append(worse)
            group.labelers.append(ranking.labeler)
    return list(groups.values())


def encode_completion(tokenizer, prompt: Prompt, completion: str, max_length: int) -> list[int]:
    """Token ids a reward model scores for (prompt, completion), at most ``max_length`` of them.

    A tokenizer with a chat template (a decoder reward model) formats them as the policy does
    (:func:`modeling.formats.chat_format.encode_example`: the response is cut first, then the prompt's start).
    Otherwise the pair is a text pair, cut from the longer side: an encoder gets
    ``[CLS] prompt [SEP] completion [SEP]`` with a conversation as its plain text
    (:func:`modeling.formats.conversation.prompt_text`); a decoder tokenizer that adds no special tokens gets
    the prompt tokens followed by the completion tokens.
    """
    if tokenizer.chat_template:
        from modeling.formats.chat_format import encode_example

        return encode_example(tokenizer, prompt, completion, max_length)[0]
    return tokenizer(prompt_text(prompt), completion, truncation="longest_first", max_length=max_length)["input_ids"]


def tokenize_groups(groups: Iterable[ComparisonGroup], tokenizer, max_length: int) -> list[ComparisonGroup]:
    """Fill each group's ``input_ids``: every completion tokenized once, whatever its number of pairs."""
    groups = list(groups)
    for group in groups:
        group.input_ids = [encode_completion(tokenizer, group.prompt, c, max_length) for c in group.completions]
    return groups


def batch_groups(
    groups: Sequence[ComparisonGroup],
    max_completions: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
) -> list[list[int]]:
    """Split group indexes into batches of whole groups, at most ``max_completions`` sequences each.

    Groups are sorted by their longest sequence (ties broken at random when ``shuffle``) so a batch
    pads to nearly its own length; then the batch order is shuffled. A group larger than the budget
    gets a batch to itself. Groups without pairs are left out; every pair of the others is kept.
    """
    rng = random.Random(seed)
    order = [i for i in range(len(groups)) if groups[i].num_pairs]
    if shuffle:
        rng.shuffle(order)
    order.sort(key=lambda i: groups[i].max_length)  # stable: shuffled order breaks length ties
    batches: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index in order:
        k = len(groups[index].completions)
        if current and size + k > max_completions:
            batches.append(current)
            current, size = [], 0
        current.append(index)
        size += k
    if current:
        batches.append(current)
    if shuffle:
        rng.shuffle(batches)
    return batches


@dataclass
class GroupBatch:
    """Padded sequences of a few whole groups plus their pairs as row indexes into the sequences."""

    input_ids: torch.Tensor  # (N, L) N = sum of K over the batch's groups, right-padded
    attention_mask: torch.Tensor  # (N, L)
    better: torch.Tensor  # (P,) row of the preferred completion
    worse: torch.Tensor  # (P,)
    pair_group: torch.Tensor  # (P,) which of the batch's groups each pair belongs to
    num_groups: int
    labelers: list[str]  # (P,)

    @property
    def num_pairs(self) -> int:
        return int(self.better.numel())

    def to(self, device) -> "GroupBatch":
        tensors = {
            name: getattr(self, name).to(device)
            for name in ("input_ids", "attention_mask", "better", "worse", "pair_group")
        }
        return GroupBatch(**tensors, num_groups=self.num_groups, labelers=self.labelers)


def epoch_batches(batches: Sequence[list[int]], epoch: int, seed: int = 0) -> list[list[int]]:
    """``batches`` (packed once by :func:`batch_groups`) in a fresh order for ``epoch``.

    Packing whole groups once and shuffling only the batch order keeps the number of steps per epoch
    fixed, so a step number always maps to the same (epoch, batch), on resume too; re-packing every
    epoch could give a different count.
    """
    order = [list(batch) for batch in batches]
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order

def collate_groups(groups: Sequence[ComparisonGroup], pad_token_id: int) -> GroupBatch:
    """Stack the groups' sequences (right padding) and offset their pair indexes into the stack."""
    sequences = [ids for group in groups for ids in group.input_ids]
    length = max(len(ids) for ids in sequences)
    input_ids = torch.full((len(sequences), length), pad_token_id, dtype=torch.long)  # (N, L)
    attention_mask = torch.zeros((len(sequences), length), dtype=torch.long)  # (N, L)
    for row, ids in enumerate(sequences):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, : len(ids)] = 1
    better, worse, pair_group, labelers = [], [], [], []
    offset = 0
    for number, group in enumerate(groups):
        better += [offset + i for i in group.better]
        worse += [offset + i for i in group.worse]
        pair_group += [number] * group.num_pairs
        labelers += group.labelers
        offset += len(group.completions)
    return GroupBatch(
        input_ids=input_ids,
        attention_mask=attention_mask,
        better=torch.tensor(better, dtype=torch.long),
        worse=torch.tensor(worse, dtype=torch.long),
        pair_group=torch.tensor(pair_group, dtype=torch.long),
        num_groups=len(groups),
        labelers=labelers,
    )

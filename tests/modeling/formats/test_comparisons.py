"""Pairs from tiers, grouping of several labelers, and length bucketing that keeps every pair."""
from __future__ import annotations

import random
from collections import Counter

import torch

from modeling.formats.comparisons import (
    ComparisonGroup,
    batch_groups,
    collate_groups,
    comparisons_from_tiers,
    group_rankings,
)
from modeling.formats.rankings import Ranking


def test_pairs_from_tiers_drop_ties():
    assert comparisons_from_tiers([[2], [0, 3], [1]]) == [(2, 0), (2, 3), (2, 1), (0, 1), (3, 1)]
    assert comparisons_from_tiers([[0, 1, 2]]) == []
    assert len(comparisons_from_tiers([[i] for i in range(9)])) == 36  # C(9,2)


def test_same_prompt_and_completions_share_a_group_other_completions_do_not():
    a = Ranking("p", ("x", "y"), ((0,), (1,)), "ann")
    b = Ranking("p", ("x", "y"), ((1,), (0,)), "bob")
    c = Ranking("p", ("x", "z"), ((0, 1),), "ann")
    groups = group_rankings([a, b, c])
    assert len(groups) == 2
    assert (groups[0].better, groups[0].worse, groups[0].labelers) == ([0, 1], [1, 0], ["ann", "bob"])
    assert groups[1].num_pairs == 0


def _random_groups(n=40, seed=0):
    rng = random.Random(seed)
    groups = []
    for g in range(n):
        k = rng.randint(2, 9)
        order = list(range(k))
        rng.shuffle(order)
        pairs = comparisons_from_tiers([[i] for i in order])
        group = ComparisonGroup(prompt=f"p{g}", completions=tuple(f"c{i}" for i in range(k)),
                                better=[b for b, _ in pairs], worse=[w for _, w in pairs], labelers=["x"] * len(pairs))
        group.input_ids = [[7] * rng.randint(3, 60) for _ in range(k)]
        groups.append(group)
    return groups


def test_bucketing_keeps_every_group_and_pair_and_cuts_padding():
    groups = _random_groups()
    batches = batch_groups(groups, max_completions=24, shuffle=True, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(len(groups)))
    assert all(sum(len(groups[i].completions) for i in b) <= 24 for b in batches)
    seen = Counter()
    padded = 0
    for indexes in batches:
        batch = collate_groups([groups[i] for i in indexes], pad_token_id=0)
        assert batch.num_groups == len(indexes)
        for b, w, g in zip(batch.better.tolist(), batch.worse.tolist(), batch.pair_group.tolist()):
            group = groups[indexes[g]]
            start = sum(len(groups[j].completions) for j in indexes[:g])
            seen[(indexes[g], b - start, w - start)] += 1
            assert (b - start, w - start) in zip(group.better, group.worse)
        padded += batch.input_ids.numel()
    assert sum(seen.values()) == sum(g.num_pairs for g in groups)
    unbucketed = sum(collate_groups([groups[i] for i in range(s, min(s + 4, 40))], 0).input_ids.numel()
                     for s in range(0, 40, 4))
    assert padded < unbucketed


def test_collate_pads_right_and_masks():
    groups = _random_groups(2)
    batch = collate_groups(groups, pad_token_id=5)
    lengths = [len(ids) for g in groups for ids in g.input_ids]
    assert batch.attention_mask.sum(1).tolist() == lengths
    assert batch.input_ids.shape == (len(lengths), max(lengths))
    assert torch.all(batch.input_ids[batch.attention_mask == 0] == 5)


def test_groups_without_pairs_are_skipped_and_batching_is_seeded():
    groups = _random_groups(10)
    groups[3].better, groups[3].worse, groups[3].labelers = [], [], []
    batches = batch_groups(groups, 20, shuffle=True, seed=4)
    assert 3 not in {i for b in batches for i in b}
    assert batches == batch_groups(groups, 20, shuffle=True, seed=4)


def test_epoch_batches_keep_the_step_count_of_every_epoch():
    """Re-packing shuffled groups each epoch could change the number of batches (a multi-epoch run
    then indexed past the end of an epoch); packing once and reordering keeps it fixed."""
    from modeling.formats.comparisons import ComparisonGroup, batch_groups, epoch_batches

    sizes = [2, 3, 4, 2, 4, 3, 3, 2, 4, 4, 2, 3, 4, 2, 3]
    groups = [ComparisonGroup(prompt=f"p{i}", completions=tuple(f"c{j}" for j in range(k)), better=[0], worse=[1],
                              labelers=["x"], input_ids=[[1] * (2 + i % 3)] * k)
              for i, k in enumerate(sizes)]
    counts = {len(batch_groups(groups, 7, shuffle=True, seed=s)) for s in range(20)}
    assert len(counts) > 1  # the hazard is real for these sizes
    packed = batch_groups(groups, 7, shuffle=True, seed=0)
    for epoch in range(5):
        batches = epoch_batches(packed, epoch, seed=0)
        assert len(batches) == len(packed)
        assert sorted(map(sorted, batches)) == sorted(map(sorted, packed))
    assert epoch_batches(packed, 1, seed=0) == epoch_batches(packed, 1, seed=0)
    assert epoch_batches(packed, 1, seed=0) != epoch_batches(packed, 2, seed=0)


def test_a_conversation_reaches_an_encoder_as_a_text_pair_and_a_chat_decoder_through_its_template(
        tiny_bert_path, tiny_chat_model_dir):
    from transformers import AutoTokenizer

    from modeling.formats.chat_format import encode_example
    from modeling.formats.comparisons import encode_completion
    from modeling.formats.conversation import parse_prompt, prompt_text

    conversation = parse_prompt([{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi?"}])
    encoder = AutoTokenizer.from_pretrained(tiny_bert_path)
    assert encode_completion(encoder, conversation, "Hello.", 64) == encoder(
        "System: Be kind.\n\nUser: Hi?", "Hello.", truncation="longest_first", max_length=64)["input_ids"]
    assert prompt_text(conversation) == "System: Be kind.\n\nUser: Hi?"
    assert encode_completion(encoder, "Hi?", "Hello.", 64) == encoder("Hi?", "Hello.")["input_ids"]
    chatml = AutoTokenizer.from_pretrained(tiny_chat_model_dir)
    ids = encode_completion(chatml, conversation, "Hello.", 64)
    assert ids == encode_example(chatml, conversation, "Hello.", 64)[0] and ids[-1] == chatml.eos_token_id

"""The last-layer ensemble on frozen features: pooling, packing, heads that learn, bootstrap members."""
import random

import pytest
import torch

from modeling.formats.comparisons import ComparisonGroup, group_rankings
from modeling.formats.rankings import Ranking
from modeling.training.frozen_heads import FrozenHeadsConfig, embed_pairs, pack_groups, train_frozen_heads
from modeling.training.reward_ensemble import ensemble_metrics
from tests.modeling.tiny_reward import toy_ranking_records


def test_embed_pairs_mean_pools_without_the_padding(tiny_bert_path):
    from transformers import AutoModel, AutoTokenizer

    model, tokenizer = AutoModel.from_pretrained(tiny_bert_path), AutoTokenizer.from_pretrained(tiny_bert_path)
    prompts = ["question 1: is it here", "q"]
    completions = ["the answer is here and it works, we can see that", "yes"]
    together = embed_pairs(model, tokenizer, prompts, completions, max_length=32)
    assert together.shape == (2, 16)
    ids = tokenizer(prompts[1], completions[1], return_tensors="pt")
    with torch.no_grad():
        # no padding at all; token types left out as the reward model leaves them (all segment 0)
        alone = model(input_ids=ids["input_ids"]).last_hidden_state[0].mean(dim=0)
    torch.testing.assert_close(together[1], alone, atol=1e-5, rtol=1e-5)


def test_pack_groups_offsets_each_groups_completions():
    first = ComparisonGroup("a", ("x", "y", "z"), better=[0, 0], worse=[1, 2], labelers=["ann"] * 2)
    empty = ComparisonGroup("b", ("u", "v"))
    second = ComparisonGroup("c", ("p", "q"), better=[1], worse=[0], labelers=["bob"])
    features, better, worse, pair_group, groups = pack_groups([first, empty, second, first],
                                                              lambda g: torch.ones(len(g.completions), 2))
    assert features.shape == (8, 2) and groups == 3
    assert better.tolist() == [0, 0, 4, 5, 5] and worse.tolist() == [1, 2, 3, 6, 7]
    assert pair_group.tolist() == [0, 0, 1, 2, 2]


def _toy_world(n_prompts: int, seed: int):
    """Rankings of the toy records and a feature table whose first two columns carry the hidden preference
    (counts of "good" and "bad"), the rest noise."""
    records = toy_ranking_records(n_prompts, 4, seed=seed)
    rankings = [Ranking(r["prompt"], tuple(r["completions"]), tuple(map(tuple, r["ranking"])), r["labeler"])
                for r in records]
    rng = random.Random(seed)
    pairs = list(dict.fromkeys((r["prompt"], c) for r in records for c in r["completions"]))
    table = torch.tensor([[c.split().count("good"), c.split().count("bad")] + [rng.gauss(0, 1) for _ in range(6)]
                          for _, c in pairs])
    return rankings, table, {pair: row for row, pair in enumerate(pairs)}


@pytest.mark.parametrize("hidden", [0, 8])
def test_heads_learn_the_preference_and_differ_by_bootstrap(hidden):
    rankings, table, index = _toy_world(120, seed=0)
    train, held_out = group_rankings(rankings[:150]), group_rankings(rankings[150:])
    config = FrozenHeadsConfig(members=3, hidden=hidden, steps=50, seed=1)
    ensemble = train_frozen_heads(train, table, index, config)
    metrics = ensemble_metrics(ensemble, held_out)
    assert ensemble.size == 3 and metrics["reward/pairs"] > 100
    assert metrics["reward/accuracy"] > 0.95
    scores = ensemble.member_scores([g.prompt for g in held_out[:5] for _ in g.completions],
                                    [c for g in held_out[:5] for c in g.completions])  # (20, 3)
    assert scores.shape == (20, 3)
    assert not torch.allclose(scores[:, 0], scores[:, 1])  # other bootstrap draw, other head
    pair = ([held_out[0].prompt], [held_out[0].completions[0]])
    again = train_frozen_heads(train, table, index, config)
    torch.testing.assert_close(again.member_scores(*pair), ensemble.member_scores(*pair))  # seeded

"""Selection scores by hand, the diversity penalty, and the random share (modeling/selection.py)."""
import math

import pytest
import torch

from modeling.selection import (SelectionConfig, binary_entropy, pair_information, prompt_vectors, select_tasks,
                                task_informativeness)


def _h(p):
    return -p * math.log(p) - (1 - p) * math.log(1 - p)


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_bald_is_zero_when_members_agree_and_positive_when_they_disagree():
    agree = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # 2 members x K = 2, same difference 1
    assert task_informativeness(agree) == pytest.approx(0.0, abs=1e-12)
    disagree = torch.tensor([[2.0, 0.0], [0.0, 2.0]])  # member 0: p = sigmoid(2), member 1: sigmoid(-2)
    p0, p1 = _sigmoid(2.0), _sigmoid(-2.0)
    by_hand = _h((p0 + p1) / 2) - (_h(p0) + _h(p1)) / 2  # = log 2 - H(sigmoid 2)
    assert by_hand > 0.3
    assert task_informativeness(disagree) == pytest.approx(by_hand, rel=1e-9)


def test_bald_sums_over_the_pairs_of_a_task():
    scores = torch.tensor([[0.0, 1.0, 3.0], [0.5, -1.0, 0.0]])  # 2 members x K = 3
    by_hand = 0.0
    for i, j in ((0, 1), (0, 2), (1, 2)):
        p = [_sigmoid(scores[m, i].item() - scores[m, j].item()) for m in (0, 1)]
        by_hand += _h(sum(p) / 2) - sum(_h(q) for q in p) / 2
    assert pair_information(scores).shape == (3,)
    assert task_informativeness(scores) == pytest.approx(by_hand, rel=1e-9)
    assert task_informativeness(scores[:1]) == pytest.approx(0.0, abs=1e-12)  # one member: no information
    assert binary_entropy(torch.tensor([0.0, 1.0, 0.5])).tolist() == pytest.approx([0.0, 0.0, math.log(2)])


def test_variance_is_the_mean_spread_of_pair_differences():
    scores = torch.tensor([[0.0, 1.0, 3.0], [0.0, -1.0, 1.0]])
    # differences (0-1, 0-2, 1-2): member 0 (-1, -3, -2), member 1 (1, -1, -2): stds 1, 1, 0
    assert task_informativeness(scores, "variance") == pytest.approx(2 / 3)


def test_similar_prompts_are_close_and_different_ones_far():
    vectors = prompt_vectors(["List 3 fruits in order.", "List 4 fruits in order.", "Write a haiku about rain."])
    sim = (vectors @ vectors.to_dense().T).tolist()
    assert sim[0][0] == pytest.approx(1.0) and sim[0][1] > 0.6 and sim[0][2] < 0.2


def test_diversity_penalty_picks_another_prompt_over_a_near_duplicate():
    prompts = ["List 3 fruits in order.", "List 3 fruit in order.", "Write a haiku about rain."]
    scores = [1.0, 0.95, 0.6]
    plain = select_tasks(scores, prompts, 2, SelectionConfig(random_share=0, diversity_penalty=0))
    assert [p.index for p in plain] == [0, 1]
    spread = select_tasks(scores, prompts, 2, SelectionConfig(random_share=0, diversity_penalty=0.5))
    assert [p.index for p in spread] == [0, 2]
    assert [(p.rank, p.method, p.random_pick) for p in spread] == [(1, "uncertainty", False),
                                                                    (2, "uncertainty", False)]
    assert spread[1].score == 0.6


def test_random_share_is_exact_seeded_and_the_rest_are_the_best():
    pool = 50
    scores = [float(i) for i in range(pool)]  # the best tasks are the last ones
    prompts = [f"prompt number {i}" for i in range(pool)]
    config = SelectionConfig(random_share=0.2, diversity_penalty=0, seed=3)
    picks = select_tasks(scores, prompts, 10, config)
    randoms = [p for p in picks if p.random_pick]
    assert len(randoms) == 2 and all(p.method == "random" for p in randoms)
    assert [p.rank for p in picks] == list(range(1, 11)) and len({p.index for p in picks}) == 10
    informed = [p.index for p in picks if not p.random_pick]
    assert informed == sorted(set(range(pool)) - {p.index for p in randoms}, reverse=True)[:8]
    assert [p.index for p in select_tasks(scores, prompts, 10, config)] == [p.index for p in picks]
    other = select_tasks(scores, prompts, 10, SelectionConfig(random_share=0.2, diversity_penalty=0, seed=4))
    assert {p.index for p in other if p.random_pick} != {p.index for p in randoms}
    every = select_tasks(scores, prompts, 10, SelectionConfig(method="random", seed=3))
    assert all(p.random_pick for p in every) and len(every) == 10


@pytest.mark.parametrize("n, config, message", [
    (0, SelectionConfig(), "cannot pick 0"),
    (4, SelectionConfig(), "cannot pick 4 of 3"),
    (1, SelectionConfig(method="entropy"), "unknown selection method"),
    (1, SelectionConfig(random_share=1.5), "random share"),
    (1, SelectionConfig(diversity_penalty=-1), "diversity penalty"),
])
def test_refused_settings(n, config, message):
    with pytest.raises(ValueError, match=message):
        select_tasks([1.0, 2.0, 3.0], ["a", "b", "c"], n, config)

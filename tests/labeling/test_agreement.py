"""labeling.agreement: hand-worked examples, then scipy / krippendorff / the oracle on random data."""
import math
import random

import krippendorff
import numpy as np
import pytest
from scipy.stats import kendalltau

from labeling import agreement
from modeling.simulation import oracle

A = [[1], [2], [3], [4]]
B = [[2], [1], [3, 4]]


def test_pairwise_agreement_leaves_out_pairs_either_ranking_ties():
    # Pairs: 1-2 disagree, 1-3, 1-4, 2-3, 2-4 agree, 3-4 tied in B: left out.
    assert agreement.pairwise_agreement(A, B) == (4, 5)
    assert agreement.pairwise_agreement(B, A) == (4, 5)
    assert agreement.pairwise_agreement([[1, 2, 3]], A) == (0, 0)


def test_kendall_tau_b_by_hand():
    # C = 4, D = 1; untied pairs: 6 in A, 5 in B; tau-b = 3 / sqrt(30).
    assert agreement.kendall_tau_b(A, B) == pytest.approx(3 / math.sqrt(30))
    assert agreement.kendall_tau_b(A, list(reversed(A))) == pytest.approx(-1)
    assert agreement.kendall_tau_b(A, [[1, 2, 3, 4]]) is None


def test_consensus_agreement_uses_the_others_majority_and_skips_even_splits():
    mine = [[1], [2], [3]]
    # Others: 2 > 1 twice, 1 > 2 once (majority 2 > 1); 1 > 3 and 2 > 3 unanimously.
    others = [[[2], [1], [3]], [[1], [2], [3]], [[2], [1], [3]]]
    assert agreement.consensus_agreement(mine, others) == (2, 3)
    # Split evenly on 1-2: no consensus there, the pair is left out.
    assert agreement.consensus_agreement(mine, others[:2]) == (2, 2)
    assert agreement.consensus_agreement(mine, []) == (0, 0)


def test_gold_agreement_counts_a_tie_as_a_miss():
    assert agreement.gold_agreement([[1, 2], [3]], [[1], [2], [3]]) == (2, 3)
    # A pair the gold ties is not scored.
    assert agreement.gold_agreement([[1], [2], [3]], [[1, 2], [3]]) == (2, 2)


def test_display_order_and_first_shown_credit():
    shown = [3, 1, 2]
    assert agreement.follows_display_order([[3], [1], [2]], shown)
    assert not agreement.follows_display_order([[3, 1], [2]], shown)
    assert not agreement.follows_display_order([[1], [3], [2]], shown)
    assert agreement.first_shown_credit([[3], [1, 2]], shown) == (1.0, pytest.approx(1 / 3))
    assert agreement.first_shown_credit([[1, 3], [2]], shown) == (0.5, pytest.approx(1 / 3))
    assert agreement.first_shown_credit([[1], [3], [2]], shown) == (0.0, pytest.approx(1 / 3))


def test_midranks_share_the_places_of_a_tie():
    assert agreement.midranks([[5], [6, 7], [8]]) == {5: 1, 6: 2.5, 7: 2.5, 8: 4}


def test_alpha_by_hand():
    # Units (1,1), (2,2), (1,2): o11 = o22 = 2, o12 = o21 = 1, n1 = n2 = 3, n = 6, d12 = (6 - 3)^2 = 9.
    # alpha = 1 - (n - 1) * (2 * 1 * 9) / (2 * 3 * 3 * 9) = 1 - 5 * 18 / 162 = 4 / 9.
    assert agreement.krippendorff_alpha_ordinal([[1, 1], [2, 2], [1, 2]]) == pytest.approx(4 / 9)
    assert agreement.krippendorff_alpha_ordinal([[1, 1], [2, 2]]) == pytest.approx(1.0)
    assert agreement.krippendorff_alpha_ordinal([[1, 1], [1, 1]]) is None  # no variation
    assert agreement.krippendorff_alpha_ordinal([[1], [2]]) is None  # no unit has two values


def test_outliers_flag_only_the_bad_side():
    values = {"a": 0.73, "b": 0.74, "c": 0.72, "d": 0.73, "e": 0.50, "f": 0.95}
    assert agreement.outliers(values, worse="low", floor=0.03) == {"e"}
    assert agreement.outliers(values, worse="high", floor=0.03) == {"f"}
    assert agreement.outliers({"a": 0.1, "b": 0.9}, worse="low", floor=0.03) == set()


def _random_tiers(rng: random.Random, ids: list[int]) -> list[list[int]]:
    order = rng.sample(ids, len(ids))
    tiers = [[order[0]]]
    for cid in order[1:]:
        if rng.random() < 0.25:
            tiers[-1].append(cid)
        else:
            tiers.append([cid])
    return tiers


def test_kendall_tau_b_matches_scipy_on_random_rankings():
    rng = random.Random(1)
    checked = 0
    for _ in range(300):
        ids = list(range(10, 10 + rng.randint(2, 9)))
        a, b = _random_tiers(rng, ids), _random_tiers(rng, ids)
        ours = agreement.kendall_tau_b(a, b)
        pos_a, pos_b = agreement.tier_of(a), agreement.tier_of(b)
        theirs = kendalltau([pos_a[i] for i in ids], [pos_b[i] for i in ids], variant="b").statistic
        if math.isnan(theirs):
            assert ours is None
        else:
            assert ours == pytest.approx(theirs, abs=1e-12)
            checked += 1
    assert checked > 250


def test_pairwise_agreement_matches_the_oracle_on_random_rankings():
    rng = random.Random(2)
    for _ in range(300):
        ids = list(range(rng.randint(2, 9)))
        a, b = _random_tiers(rng, ids), _random_tiers(rng, ids)
        assert agreement.pairwise_agreement(a, b) == oracle.pairwise_agreement(a, b)


def test_alpha_matches_the_krippendorff_package_on_random_tasks():
    rng = random.Random(3)
    coders, units, ours = 6, [], {}
    for task in range(80):
        ids = [task * 10 + i for i in range(rng.randint(2, 6))]
        rankers = rng.sample(range(coders), rng.randint(1, 4))
        rankings = {c: _random_tiers(rng, ids) for c in rankers}
        # Pull rankings a little towards one order so that alpha is not just noise around zero.
        for c in rankers:
            if rng.random() < 0.5:
                rankings[c] = [[i] for i in ids]
        agreement.add_coincidences(ours, agreement.task_coincidences(list(rankings.values())))
        ranks = {c: agreement.midranks(t) for c, t in rankings.items()}
        units += [[ranks[c][i] if c in ranks else np.nan for c in range(coders)] for i in ids]
    reliability = np.array(units, dtype=float).T  # (coders, units)
    expected = krippendorff.alpha(reliability_data=reliability, level_of_measurement="ordinal")
    assert agreement.alpha_ordinal(ours) == pytest.approx(expected, abs=1e-9)
    assert 0.1 < expected < 0.9


def test_alpha_from_cached_json_triples_equals_direct():
    rankings = [[[1], [2], [3]], [[2], [1], [3]], [[1], [2, 3]]]
    direct = agreement.task_coincidences(rankings)
    total: dict = {}
    agreement.add_coincidences(total, [[c, k, w] for (c, k), w in direct.items()])
    assert agreement.alpha_ordinal(total) == pytest.approx(agreement.alpha_ordinal(direct))

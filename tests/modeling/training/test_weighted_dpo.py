"""DPO-family losses weighted per labeler (reliability) against values computed by hand."""
from __future__ import annotations

import math

import pytest
import torch

from modeling.commands.dpo import read_labeler_weights
from modeling.errors import InputError
from modeling.training.policy_losses import dpo_sigmoid_loss, ipo_loss, plackett_luce_loss, ranking_ids

# one group, K=3: labeler a says 0 > 1 > 2 (pairs 0-2), labeler b says 2 > 0 (pair 3)
POLICY = torch.tensor([-1.0, -2.0, -3.0])
REFERENCE = torch.tensor([-2.0, -2.0, -2.0])
BETTER, WORSE = torch.tensor([0, 0, 1, 2]), torch.tensor([1, 2, 2, 0])
GROUP = torch.zeros(4, dtype=torch.long)
LABELERS = ["a", "a", "a", "b"]


def nll(d: float) -> float:
    return math.log(1.0 + math.exp(-d))


def test_weighted_dpo_by_hand():
    r = [0.1 * (p - q) for p, q in zip(POLICY.tolist(), REFERENCE.tolist())]  # beta = 0.1
    weights = torch.tensor([1.0, 1.0, 1.0, 0.25])
    by_hand = (nll(r[0] - r[1]) + nll(r[0] - r[2]) + nll(r[1] - r[2]) + 0.25 * nll(r[2] - r[0])) / 3.25
    out = dpo_sigmoid_loss(POLICY, REFERENCE, BETTER, WORSE, GROUP, 1, beta=0.1, pair_weight=weights)
    assert out.loss.item() == pytest.approx(by_hand, abs=1e-6)


@pytest.mark.parametrize("loss", [dpo_sigmoid_loss, ipo_loss, "plackett_luce"])
def test_a_zero_weight_labeler_is_as_if_absent_and_equal_weights_change_nothing(loss):
    def run(better, worse, group, labelers, weight=None):
        if loss == "plackett_luce":
            return plackett_luce_loss(POLICY, REFERENCE, better, worse, group, 1, ranking_ids(group, labelers),
                                      pair_weight=weight).loss
        return loss(POLICY, REFERENCE, better, worse, group, 1, pair_weight=weight).loss

    without_b = run(BETTER[:3], WORSE[:3], GROUP[:3], LABELERS[:3])
    zeroed = run(BETTER, WORSE, GROUP, LABELERS, torch.tensor([1.0, 1.0, 1.0, 0.0]))
    assert zeroed.item() == pytest.approx(without_b.item(), abs=1e-6)
    plain, equal = run(BETTER, WORSE, GROUP, LABELERS), run(BETTER, WORSE, GROUP, LABELERS, torch.full((4,), 0.5))
    assert equal.item() == pytest.approx(plain.item(), abs=1e-6)
    assert abs(zeroed.item() - plain.item()) > 1e-3


def test_labeler_weights_file_is_read_and_bad_ones_are_refused(tmp_path):
    good = tmp_path / "w.json"
    good.write_text('{"ann": 1, "zed": 0.0}')
    assert read_labeler_weights(str(good)) == {"ann": 1.0, "zed": 0.0}
    assert read_labeler_weights("") == {}
    for text in ('["ann"]', '{"ann": -1}', '{"ann": "high"}', '{"ann": true}', "not json"):
        good.write_text(text)
        with pytest.raises(InputError):
            read_labeler_weights(str(good))
    with pytest.raises(InputError):
        read_labeler_weights(str(tmp_path / "missing.json"))

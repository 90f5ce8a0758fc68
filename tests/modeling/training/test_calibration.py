"""expected_calibration_error against values worked out by hand."""
import pytest
import torch

from modeling.training.calibration import expected_calibration_error


def test_overconfident_model():
    # conf 0.95 on four pairs, right on three: |0.75 - 0.95| = 0.2 in both mirrored bins, each half the events
    assert expected_calibration_error(torch.tensor([0.95, 0.95, 0.95, 0.05])) == pytest.approx(0.2)


def test_calibrated_model_is_zero():
    # 0.75 for the preferred completion, right three times in four: bins 7 and 2 each have acc = conf
    assert expected_calibration_error(torch.tensor([0.75, 0.75, 0.75, 0.25])) == pytest.approx(0.0, abs=1e-12)


def test_every_event_in_its_own_bin():
    # events (.92,1) (.63,1) (.24,1) (.08,0) (.37,0) (.76,0) in bins 9 6 2 0 3 7: gaps .08 .37 .76 twice each
    assert expected_calibration_error(torch.tensor([0.92, 0.63, 0.24])) == pytest.approx(2 * 1.21 / 6)


def test_edges_and_empty():
    assert expected_calibration_error(torch.tensor([1.0, 1.0])) == pytest.approx(0.0)  # p = 1 in the last bin
    assert expected_calibration_error(torch.tensor([0.5])) == pytest.approx(0.0)  # both orders in bin 5
    assert expected_calibration_error(torch.tensor([])) == 0.0
    assert expected_calibration_error(torch.tensor([0.95, 0.95, 0.95, 0.05]), n_bins=2) == pytest.approx(
        abs(0.75 - (3 * 0.95 + 0.95) / 4))

import pytest

from modeling.simulation.evaluation import paired_standard_error, win_rate


def test_paired_standard_error_is_the_standard_error_of_the_paired_differences():
    assert paired_standard_error([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]) == pytest.approx((1.0 / 3) ** 0.5)


def test_a_constant_gain_has_no_error_and_one_pair_has_none_to_estimate():
    assert paired_standard_error([0.5, 0.7, 0.9], [0.4, 0.6, 0.8]) == pytest.approx(0.0)
    assert paired_standard_error([1.0], [0.0]) == 0.0


def test_win_rate_counts_ties_half():
    assert win_rate([1.0, 0.5, 0.0], [0.0, 0.5, 1.0]) == pytest.approx(0.5)
    assert win_rate([1.0, 1.0], [0.0, 1.0]) == pytest.approx(0.75)

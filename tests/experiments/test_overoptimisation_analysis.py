"""The pure parts of issue 19's experiment: best-of-n picks and where the stop rule would have stopped a run."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments"))

from overoptimisation_analysis import best_of_n, judged_rows, stop_points  # noqa: E402


def test_best_of_n_picks_by_each_scorer_within_disjoint_blocks():
    gold = [0.0, 1.0, 0.0, 0.0]
    pool = {"samples": 4, "gold": gold, "single": [0, 5, 1, 2], "mean": [3, 0, 0, 1], "uwo": [0, 0, 9, 0],
            "min": [0, 1, 0, 0]}
    curves = best_of_n(pool)
    assert [n for n, _, _ in curves["single"]] == [1, 2, 4]
    assert curves["single"][0][1] == pytest.approx(0.25)  # n = 1: every sample once
    assert curves["single"][1][1] == pytest.approx(0.5)  # blocks (0, 1) -> 1, (2, 3) -> 3
    assert curves["single"][2][1] == pytest.approx(1.0)
    assert curves["mean"][2][1] == pytest.approx(0.0)  # picks sample 0
    assert curves["min"][1][1] == pytest.approx(0.5)


def _curve(uwo, proxy, aggregate="uwo"):
    history = [{"iteration": i + 1, "monitor/uwo": u, "monitor/mean": p, "monitor/single": p, "monitor/spread": 1.0,
                "ppo/gold": 0.5 + i / 100} for i, (u, p) in enumerate(zip(uwo, proxy))]
    judged = {str(s): {"gold": [0.5 + s / 100] * 4, "kl": s / 10, "yes_no": 1.0} for s in (0, 2, 4, 6)}
    return {"aggregate": aggregate, "history": history, "judged": judged}


def test_stop_points_keep_the_policy_that_sampled_the_best_rollout():
    curve = _curve(uwo=[0, 1, 2, 3, 2, 2, 2, 2], proxy=[0, 1, 2, 3, 4, 5, 6, 7])
    stop = stop_points(curve, patience=3)
    assert (stop["stop"], stop["best"]) == (7, 4)
    assert stop["checkpoint"] == 2  # the kept policy made 3 updates; the last checkpoint at or before it
    assert stop["gain"] == pytest.approx(0.02)
    assert stop["rollout_gold"] == pytest.approx(0.53)
    assert stop_points(curve, patience=5) == {"stopped": False}


def test_stop_points_do_not_fire_while_the_proxy_falls_and_judged_rows_are_paired_gains():
    assert stop_points(_curve(uwo=[3, 2, 1, 0, 0], proxy=[3, 2, 1, 0, 0]), patience=2) == {"stopped": False}
    rows = judged_rows(_curve(uwo=[0], proxy=[0]))
    assert [r["step"] for r in rows] == [0, 2, 4, 6]
    assert rows[-1]["gain"] == pytest.approx(0.06) and rows[-1]["se"] == pytest.approx(0.0)


def test_stop_points_on_smoothed_rows_ignore_a_one_iteration_dip():
    noisy = _curve(uwo=[0, 1, 2, 3, 2.5, 4, 5, 6], proxy=[0, 1, 2, 3, 4, 5, 6, 7])
    assert stop_points(noisy, patience=1)["stop"] == 5  # the dip at row 5 fires the raw rule
    assert stop_points(noisy, patience=1, window=3) == {"stopped": False}  # trailing means keep rising


def test_goals_compare_runs_at_the_last_step_both_were_judged():
    from overoptimisation_analysis import goals

    single = _curve(uwo=[0], proxy=[0], aggregate="single")
    guarded = _curve(uwo=[0], proxy=[0])
    del guarded["judged"]["6"]
    lines = goals({"single": single, "uwo": guarded})
    assert lines[0].startswith("- single peaks at 6 updates") and "3x that KL = 1.800" in lines[0]
    assert lines[2].startswith("- After 4 updates: single 0.5400 (KL 0.400), uwo 0.5400")
    assert "+0.0000 ± 0.0000" in lines[2]

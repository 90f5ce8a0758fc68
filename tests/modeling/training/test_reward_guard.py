"""The stop rule as a pure function over a history of rows."""
from modeling.training.reward_guard import GuardRule, GuardState, guard_over_history, guard_step


def rows(conservative, proxy, spread=None):
    spread = spread or [1.0] * len(conservative)
    return [{"iteration": i + 1, "ppo/conservative_reward": c, "ppo/proxy_reward": p, "ppo/spread": s}
            for i, (c, p, s) in enumerate(zip(conservative, proxy, spread))]


HACKED = rows([0.0, 0.4, 0.6, 0.5, 0.55, 0.3, 0.2], [0.0, 0.5, 0.8, 1.0, 1.2, 1.4, 1.6])


def test_flat_conservative_while_the_proxy_rises_stops_at_the_patience():
    state = guard_over_history(HACKED, GuardRule(patience=3))
    assert state.stopped and state.stop_iteration == 6 and state.best_iteration == 3
    assert state.stop_reason == "conservative reward flat for 3 iterations while proxy rose"
    assert state.best_value == 0.6 and state.proxy_at_best == 0.8
    assert state.metrics()["guard/best_iteration"] == 3 and state.metrics()["guard/stopped"] is True


def test_no_stop_while_the_conservative_reward_improves_or_when_off():
    rising = rows([0.1 * i for i in range(8)], [0.2 * i for i in range(8)])
    assert not guard_over_history(rising, GuardRule(patience=2)).stopped
    off = guard_over_history(HACKED, GuardRule())
    assert not off.stopped and off.best_iteration == 3  # the best is tracked even with the rule off


def test_flat_conservative_with_a_falling_proxy_is_not_hacking():
    flat = rows([0.5, 0.6, 0.6, 0.6, 0.6, 0.6], [1.0, 1.1, 1.0, 0.9, 1.05, 1.1])
    assert not guard_over_history(flat, GuardRule(patience=3)).stopped  # proxy never above 1.1 at the best


def test_one_reward_model_never_trips_the_flat_rule():
    same = [0.0, 0.5, 0.9, 0.7, 0.8, 0.85, 0.6]  # conservative = proxy, spread 0
    state = guard_over_history(rows(same, same, [0.0] * 7), GuardRule(patience=1, spread_ratio=1.5))
    assert not state.stopped


def test_spread_rule_fires_against_the_first_rollouts_spread():
    history = rows([0.0, 0.1, 0.2, 0.3, 0.4], [0.0, 0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.9, 1.1, 1.5])
    state = guard_over_history(history, GuardRule(patience=3, spread_ratio=2.0))
    assert state.stopped and state.stop_iteration == 4 and state.start_spread == 0.5
    assert state.stop_reason == "spread 2.2 times the start"
    assert state.best_iteration == 4  # still improving: the stopping row is the best one
    assert not guard_over_history(history, GuardRule(spread_ratio=3.5)).stopped


def test_a_state_saved_mid_run_decides_like_the_whole_history():
    rule = GuardRule(patience=3)
    state = guard_over_history(HACKED[:4], rule)
    resumed = GuardState.from_dict(state.to_dict())
    for row in HACKED[4:]:
        resumed = guard_step(resumed, rule, row["iteration"], row["ppo/conservative_reward"],
                             row["ppo/proxy_reward"], row["ppo/spread"])
    assert resumed == guard_over_history(HACKED, rule)


def test_ties_break_by_the_second_key():
    rule = GuardRule(patience=2, value_name="held-out accuracy", proxy_name="training margin", unit="evaluations")
    state = GuardState()
    for step, (acc, margin, train) in enumerate([(0.6, 0.1, 0.2), (0.6, 0.3, 0.4), (0.6, 0.2, 0.6),
                                                  (0.55, 0.1, 0.9)], start=1):
        state = guard_step(state, rule, step * 10, acc, train, tie=margin)
    assert state.best_iteration == 20 and state.stopped and state.stop_iteration == 40
    assert state.stop_reason == "held-out accuracy flat for 2 evaluations while training margin rose"

"""The stop rule against reward hacking, as a pure function of the metrics seen so far.

After every PPO iteration (every DPO evaluation) :func:`guard_step` takes the new row and returns the
new :class:`GuardState`; :func:`guard_over_history` folds a whole history, so a resumed run that kept
its history (or the saved state) decides exactly as an uninterrupted one.

Terms, per row t (an iteration's rollout batch in PPO, an evaluation in DPO):

- ``value_t``: what must keep improving: PPO's conservative reward (mean over the rollout of the
  ensemble's conservative aggregate), DPO's held-out implicit-reward accuracy (ties broken by the held-out
  margin, ``tie_t``).
- ``proxy_t``: what over-optimisation drives up: PPO's proxy reward (mean over members and rollout),
  DPO's training implicit-reward margin.
- ``spread_t`` (PPO only): mean over the rollout of the members' standard deviation.

Best row b: the latest row whose ``(value, tie)`` is strictly greater (lexicographically) than every
earlier row's. Rules, checked after the best is updated:

1. Flat while rising (``patience`` P > 0): stop at row t when P rows have passed since b without an
   improvement (``t - b >= P`` in rows) and the proxy rose: ``proxy_t > proxy_b``, strictly.
2. Spread (``spread_ratio`` R > 0, PPO): stop when ``spread_t > R * spread_1`` with ``spread_1 > 0``, the
   spread on the first row's rollouts (the starting policy's samples).

With one reward model, conservative = proxy and spread = 0, so neither rule can fire: the KL penalty is
the only guard left. On a stop the caller publishes the policy of the best row, not the last.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class GuardState:
    """What the stop rule remembers (saved in resume checkpoints)."""

    best_value: float | None = None  # value at the best row
    best_tie: float = 0.0  # its tie-breaker
    best_iteration: int = 0  # the caller's label of the best row (PPO iteration, DPO step)
    proxy_at_best: float = 0.0
    since_best: int = 0  # rows since the best row
    start_spread: float | None = None  # spread on the first row's rollouts
    stopped: bool = False
    stop_iteration: int = 0
    stop_reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "GuardState":
        return cls(**(data or {}))

    def metrics(self) -> dict:
        """The ``guard/*`` metrics of a finished run."""
        return {"guard/stopped": self.stopped, "guard/stop_iteration": self.stop_iteration,
                "guard/stop_reason": self.stop_reason, "guard/best_iteration": self.best_iteration,
                "guard/best_value": self.best_value, "guard/start_spread": self.start_spread}


@dataclass(frozen=True)
class GuardRule:
    """The settings and the wording of a stop rule (0 = that rule off)."""

    patience: int = 0
    spread_ratio: float = 0.0
    value_name: str = "conservative reward"
    proxy_name: str = "proxy"
    unit: str = "iterations"

    @property
    def active(self) -> bool:
        return self.patience > 0 or self.spread_ratio > 0


def restore_best(state: GuardState, best: dict | None, model) -> bool:
    """After a stop, load ``best`` (a :func:`modeling.models.checkpoints.trained_state_copy`) into ``model``;
    False when the rule did not stop or kept no copy."""
    if not state.stopped or best is None:
        return False
    model.load_state_dict(best, strict=False)
    return True


def guard_step(state: GuardState, rule: GuardRule, iteration: int, value: float, proxy: float,
               spread: float | None = None, tie: float = 0.0) -> GuardState:
    """The state after row ``iteration`` (module docstring); a stopped state stays as it is."""
    if state.stopped:
        return state
    if state.start_spread is None and spread is not None:
        state = replace(state, start_spread=spread)
    if state.best_value is None or (value, tie) > (state.best_value, state.best_tie):
        state = replace(state, best_value=value, best_tie=tie, best_iteration=iteration, proxy_at_best=proxy,
                        since_best=0)
    else:
        state = replace(state, since_best=state.since_best + 1)
    reason = ""
    if rule.patience > 0 and state.since_best >= rule.patience and proxy > state.proxy_at_best:
        reason = f"{rule.value_name} flat for {rule.patience} {rule.unit} while {rule.proxy_name} rose"
    elif rule.spread_ratio > 0 and spread is not None and state.start_spread and \
            spread > rule.spread_ratio * state.start_spread:
        reason = f"spread {spread / state.start_spread:.1f} times the start"
    if reason:
        state = replace(state, stopped=True, stop_iteration=iteration, stop_reason=reason)
    return state


PPO_KEYS = ("iteration", "ppo/conservative_reward", "ppo/proxy_reward", "ppo/spread")


def guard_over_history(history: list[dict], rule: GuardRule, keys: tuple[str, str, str, str] = PPO_KEYS,
                       tie_key: str = "") -> GuardState:
    """:func:`guard_step` folded over ``history`` rows (keys: label, value, proxy, spread; '' = none)."""
    state = GuardState()
    label, value, proxy, spread = keys
    for row in history:
        state = guard_step(state, rule, row[label], row[value], row[proxy],
                           row[spread] if spread else None, row[tie_key] if tie_key else 0.0)
    return state

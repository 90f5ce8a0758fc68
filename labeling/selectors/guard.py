"""Reads for the reward-hacking guard: a round's canary rankings, and what a PPO or DPO run's stop rule did.

A run's guard summary comes from its final metrics (``guard/stopped``, ``guard/stop_iteration``,
``guard/stop_reason``, ``guard/best_iteration``): those of the model version it registered, else the last
history row that carries them (a run still going, or one that reported them as it stopped). The PPO charts
put sqrt(KL) on the x axis, as Gao et al. (2023) do: gold reward is about linear-then-quadratic in it, so
over-optimisation shows as the bend.
"""
from __future__ import annotations

import math

from django.db.models import QuerySet

from labeling.charts_line import line_chart_svg
from labeling.models import ModelVersion, Ranking, Run, TrainingRound
from labeling.selectors.rankings import RankingFilter, rankings_selected

GUARD_KEYS = ("guard/stopped", "guard/stop_iteration", "guard/stop_reason", "guard/best_iteration", "guard/published")
REWARD_KEYS = (("proxy", "ppo/proxy_reward"), ("conservative", "ppo/conservative_reward"), ("gold", "ppo/gold"))


def canary_rankings(*, training_round: TrainingRound) -> QuerySet[Ranking]:
    """The labelers' rankings of the canary tasks the round's sample step made (its new policy's samples)."""
    tasks_of_round = RankingFilter(project=training_round.project, rounds=(training_round.pk,), include_gold=False)
    return rankings_selected(tasks_of_round).filter(task__canary=True)


def rounds_held(*, project) -> QuerySet[TrainingRound]:
    """The project's rounds whose canary warning holds its auto-started rounds (none acknowledged it yet)."""
    return TrainingRound.objects.filter(project=project, held=True).order_by("-created_at", "-id")


def run_guard(*, run: Run) -> dict | None:
    """``{"stopped", "stop_iteration", "stop_reason", "best_iteration", "published", "kept_iteration"}`` of
    a PPO or DPO run (``kept_iteration``: the iteration whose policy it published, None for the last), or
    None when it reported none of them."""
    if run.kind not in (Run.Kind.PPO, Run.Kind.DPO):
        return None
    found = {}
    for row in run.metrics or []:
        if any(key in row for key in GUARD_KEYS):
            found = {key: row[key] for key in GUARD_KEYS if key in row}
    version = ModelVersion.objects.filter(run=run).only("metrics").first()
    found.update({key: value for key, value in ((version.metrics or {}) if version else {}).items() if key in GUARD_KEYS})
    if not found:
        return None
    guard = {key.removeprefix("guard/"): found.get(key) for key in GUARD_KEYS}
    # Which policy the run published: the best iteration's after a stop ("best"), else the last one's.
    kept_best = guard["published"] == "best" or (guard["published"] is None and guard["stopped"])
    guard["kept_iteration"] = guard["best_iteration"] if kept_best else None
    return guard


def _sqrt_kl(row: dict) -> float | None:
    kl = row.get("ppo/kl")
    return math.sqrt(max(float(kl), 0.0)) if isinstance(kl, (int, float)) and math.isfinite(kl) else None


def _markers(guard: dict | None, x_of_step) -> list[tuple[float, str]]:
    if not guard:
        return []
    marks = []
    if guard.get("stopped") and x_of_step(guard.get("stop_iteration")) is not None:
        marks.append((x_of_step(guard["stop_iteration"]), f"stopped: {guard.get('stop_reason') or '?'}"))
    if guard.get("kept_iteration") is not None and x_of_step(guard["kept_iteration"]) is not None:
        marks.append((x_of_step(guard["kept_iteration"]), f"kept: iteration {guard['kept_iteration']}"))
    return marks


def guard_charts(*, run: Run, guard: dict | None) -> list[str]:
    """A PPO run's reward (proxy, conservative, gold in simulation) and ensemble spread against sqrt(KL),
    with the stop and the kept iteration marked; for a DPO run nothing (its step charts carry the marks)."""
    if run.kind != Run.Kind.PPO:
        return []
    rows = [row for row in run.metrics or [] if _sqrt_kl(row) is not None and "step" in row]
    x_by_step = {row["step"]: _sqrt_kl(row) for row in rows}
    markers = _markers(guard, x_by_step.get)
    charts = []
    rewards = {label: [(_sqrt_kl(row), float(row[key])) for row in rows if isinstance(row.get(key), (int, float))]
               for label, key in REWARD_KEYS}
    rewards = {label: points for label, points in rewards.items() if points}
    if rewards:
        charts.append(line_chart_svg(rewards, title="Reward against sqrt(KL)", x_label="sqrt(KL to the reference)",
                                     markers=markers))
    spread = [(_sqrt_kl(row), float(row["ppo/spread"])) for row in rows if isinstance(row.get("ppo/spread"), (int, float))]
    if spread:
        charts.append(line_chart_svg({"ensemble spread on rollouts": spread}, title="Spread against sqrt(KL)",
                                     x_label="sqrt(KL to the reference)", markers=markers))
    return charts


def step_markers(*, guard: dict | None) -> list[tuple[float, str]]:
    """The stop and the kept iteration as markers on a chart against steps (DPO's)."""
    return _markers(guard, lambda step: float(step) if isinstance(step, (int, float)) else None)

"""Issue 19's reward-hacking guard, app side: its round settings, the human canaries, the canary check
and the hold it puts on auto-started rounds.

Choices made:

- **Settings** (round config): ``ppo.reward_aggregate`` (mean | min | uwo), ``ppo.uwo_lambda``,
  ``ppo.stop_patience``, ``ppo.stop_spread_ratio``, ``dpo.stop_patience``, ``reward.ensemble`` and
  ``sample.canary_share``; :func:`guard_settings_check` refuses a bad one before anything is written.
- **Canaries**: a DPO or PPO round's sample step marks ``canary_share`` of its new tasks (at least one
  when the share is above 0; chosen with the run's id as seed) ``RankingTask.canary``. They are leased like
  any task; the reward and DPO jobs never train on them (``labeling.selectors.rankings``).
- **The check** (:func:`round_guard_check`) compares two pair agreements of the reward model that trained
  round R's policy (``R.reward``): on the labelers' rankings of R's canary tasks (the new policy's samples)
  and ``reward/accuracy`` from its own training run, the held-out pair accuracy on a validation split of
  the rankings it trained on (the same data distribution, but pairs it did not fit, so a fair baseline).
  Scoring needs the reward model, so it runs in a worker: right before an auto-started round would start,
  and at the start of the next round's ``train_reward`` step; never in a request or a transaction.
- **Warning and hold**: with at least ``ROUND_GUARD_MIN_CANARY_RANKINGS`` canary rankings and a fall of
  more than ``ROUND_GUARD_AGREEMENT_DROP``, ``R.guard["warning"]`` says so and ``R.held`` stops
  :func:`labeling.services.rounds.round_autostart` for the project until a manager acknowledges
  (:func:`round_guard_acknowledge`); a manual start stays allowed. A re-check after an acknowledgement
  keeps it (the manager has looked) and updates the figures.
"""
from __future__ import annotations

import random

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from labeling.errors import RejectedInput, is_finite_number
from labeling.models import Project, RankingTask, Run, TrainingRound

AGGREGATES = ("mean", "min", "uwo")


def _number(section: dict, key: str, *, name: str, whole: bool = False, low: float = 0.0,
            below: float | None = None) -> None:
    value = section.get(key)
    if value is None:
        return
    kind = "a whole number" if whole else "a number"
    ok = is_finite_number(value) and (isinstance(value, int) or not whole)
    if not ok or value < low or (below is not None and value >= below):
        limit = f"from {low:g}" + (f" to below {below:g}" if below is not None else " up")
        raise RejectedInput(f"{name} must be {kind} {limit}, not {value!r}.", field=key)


def guard_settings_check(merged: dict) -> None:
    """Refuse round settings the guard cannot use: an unknown PPO reward aggregate, a negative lambda,
    patience or spread ratio, an ensemble of fewer than one model, a canary share outside [0, 1)."""
    ppo, dpo = merged.get("ppo", {}), merged.get("dpo", {})
    aggregate = ppo.get("reward_aggregate", "mean")
    if aggregate not in AGGREGATES:
        raise RejectedInput(f"ppo.reward_aggregate must be one of {', '.join(AGGREGATES)}, not {aggregate!r}.",
                            field="reward_aggregate")
    _number(ppo, "uwo_lambda", name="ppo.uwo_lambda")
    _number(ppo, "stop_patience", name="ppo.stop_patience", whole=True)
    _number(ppo, "stop_spread_ratio", name="ppo.stop_spread_ratio")
    _number(dpo, "stop_patience", name="dpo.stop_patience", whole=True)
    _number(merged.get("reward", {}), "ensemble", name="reward.ensemble", whole=True, low=1)
    _number(merged.get("sample", {}), "canary_share", name="sample.canary_share", below=1)


def canaries_set_aside(*, run: Run, task_ids: list[int]) -> list[int]:
    """Mark ``canary_share`` (the sample run's config) of a DPO or PPO round's new tasks as canaries, at
    least one when the share is above 0; returns their ids. Other sample runs set none aside.

    Under active selection the canaries come from the random picks first: the informed picks are the tasks
    the reward model is least sure of, so its agreement there would fall by construction and raise false
    warnings; the random picks are an unbiased sample of the policy's outputs."""
    share = float(run.config.get("canary_share") or 0)
    training_round = run.training_round
    if share <= 0 or not task_ids or training_round is None or training_round.algo == TrainingRound.Algo.SFT:
        return []
    count = min(len(task_ids), max(1, round(share * len(task_ids))))
    informed = set(RankingTask.objects.filter(pk__in=task_ids, selection__random_pick=False).values_list("pk", flat=True))
    unbiased = sorted(set(task_ids) - informed)
    rng = random.Random(run.pk)
    chosen = rng.sample(unbiased, min(count, len(unbiased)))
    if len(chosen) < count:  # too few random picks: the rest from the informed ones
        chosen += rng.sample(sorted(informed), count - len(chosen))
    chosen = sorted(chosen)
    RankingTask.objects.filter(pk__in=chosen).update(canary=True)
    return chosen


def canary_agreement(reward_path: str, records: list[dict]) -> tuple[float | None, int]:
    """``(agreement, pairs)``: the share of the labelers' ordered pairs in ``records`` (ranking records)
    that the reward model (one checkpoint or an ensemble) orders the same way, P(better > worse) > 0.5."""
    from modeling.formats.comparisons import group_rankings
    from modeling.formats.rankings import parse_ranking
    from modeling.models.reward_ensemble import load_reward_ensemble
    from modeling.training.reward_ensemble import ensemble_metrics

    groups = group_rankings(parse_ranking(record) for record in records)
    if not any(group.num_pairs for group in groups):
        return None, 0
    metrics = ensemble_metrics(load_reward_ensemble(reward_path), groups)
    return metrics["reward/accuracy"], int(metrics["reward/pairs"])


def _warning(agreement, train_agreement, rankings: int) -> str:
    drop = settings.ROUND_GUARD_AGREEMENT_DROP
    if agreement is None or train_agreement is None or rankings < settings.ROUND_GUARD_MIN_CANARY_RANKINGS:
        return ""
    if train_agreement - agreement <= drop:
        return ""
    return (f"The reward model agrees with labelers on {agreement:.0%} of pairs of the new policy's canary samples, "
            f"against {train_agreement:.0%} on held-out pairs of the data it trained on: a fall of "
            f"{train_agreement - agreement:.2f}, more than {drop:g}. The policy may be exploiting the reward model; "
            f"auto-started rounds are held until a manager acknowledges.")


def round_guard_check(*, training_round_id: int) -> dict | None:
    """Score round R's canary rankings with R's reward model and store the finding in ``R.guard`` (and
    ``R.held`` on a warning no manager acknowledged). None for a round that has no reward model or did not
    succeed. Heavy (loads the reward model): call it from a worker, outside a transaction."""
    from labeling.selectors.exports import rankings_records
    from labeling.selectors.guard import canary_rankings

    training_round = TrainingRound.objects.select_related("reward").filter(pk=training_round_id).first()
    if training_round is None or training_round.reward is None \
            or training_round.status != TrainingRound.Status.SUCCEEDED:
        return None
    rankings = canary_rankings(training_round=training_round)
    records = list(rankings_records(rankings=rankings))
    agreement, pairs = canary_agreement(training_round.reward.path, records) if records else (None, 0)
    train_agreement = (training_round.reward.metrics or {}).get("reward/accuracy")
    finding = {"agreement": agreement, "train_agreement": train_agreement, "rankings": len(records),
               "pairs": pairs, "warning": _warning(agreement, train_agreement, len(records)),
               "threshold": settings.ROUND_GUARD_AGREEMENT_DROP,
               "min_rankings": settings.ROUND_GUARD_MIN_CANARY_RANKINGS, "checked_at": timezone.now().isoformat()}
    with transaction.atomic():
        row = TrainingRound.objects.select_for_update().get(pk=training_round.pk)
        acknowledged = {k: v for k, v in (row.guard or {}).items() if k in ("acknowledged_by", "acknowledged_at")}
        row.guard = {**finding, **acknowledged}
        row.held = bool(finding["warning"]) and not acknowledged
        row.save(update_fields=["guard", "held"])
    return row.guard


def _due(training_round: TrainingRound) -> bool:
    """A check is due when the round's canary rankings changed in number since the last one."""
    from labeling.selectors.guard import canary_rankings

    count = canary_rankings(training_round=training_round).count()
    return count > 0 and count != (training_round.guard or {}).get("rankings")


def guard_check_latest(*, project: Project) -> dict | None:
    """Check the project's latest succeeded round when new canary rankings arrived since its last check."""
    latest = (TrainingRound.objects.filter(project=project, status=TrainingRound.Status.SUCCEEDED,
                                           reward__isnull=False).order_by("-created_at", "-id").first())
    if latest is None or not _due(latest):
        return None
    return round_guard_check(training_round_id=latest.pk)


def guard_holds(*, project: Project, check: bool) -> bool:
    """Whether a canary warning holds the project's auto-started rounds; ``check``: first bring the latest
    round's check up to date (only when a round would start now: it loads the reward model)."""
    if check:
        guard_check_latest(project=project)
    from labeling.selectors.guard import rounds_held

    return rounds_held(project=project).exists()


def round_guard_acknowledge(*, training_round: TrainingRound, user) -> TrainingRound:
    """A manager has looked at the round's canary warning: record who and when, and lift the hold."""
    with transaction.atomic():
        row = TrainingRound.objects.select_for_update().get(pk=training_round.pk)
        if not (row.guard or {}).get("warning"):
            raise RejectedInput(f"Round {row.pk} has no canary warning to acknowledge.", field="round", status=409)
        row.guard = {**row.guard, "acknowledged_by": user.get_username(), "acknowledged_at": timezone.now().isoformat()}
        row.held = False
        row.save(update_fields=["guard", "held"])
    return row

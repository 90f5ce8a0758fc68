"""Train a reward model (grouped K-way Bradley-Terry) on the rankings collected so far."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import fields

from labeling.jobs.launch import run_training
from labeling.jobs.output import checkpointed_output
from labeling.models import ModelVersion, Run
from labeling.selectors.exports import rankings_records
from labeling.selectors.rankings import ranking_filter_parse, rankings_selected
from labeling.services.model_versions import model_version_register
from labeling.jobs.reporter import RunReporter, run_directory


def run_rankings_write(run: Run) -> tuple[list, str]:
    """Write the run's rankings to ``rankings.jsonl`` in its directory; return them parsed. Which
    rankings: its project's, narrowed by its ``inputs`` (``task_ids``; ``include_gold``, default false:
    gold tasks are quality checks, served to every labeler as honeypots, not training data); never a
    canary task's (``labeling.services.guard``: they check the reward model on data it did not see); never
    those of a labeler a manager excluded from training in the project (``Membership.excluded_from_training``,
    set on the members page). Excluded labelers' rankings still count for agreement and stay in exports
    (``RankingFilter.include_excluded_labelers`` defaults to True everywhere else): exclusion is about what
    the models learn, not about the record."""
    from modeling.formats.rankings import parse_ranking, write_jsonl_atomic

    filters = ranking_filter_parse(project=run.project, task_ids=run.inputs.get("task_ids"),
                                   include_gold=run.inputs.get("include_gold", False))
    filters = dataclasses.replace(filters, include_canaries=False, include_excluded_labelers=False)
    path = run_directory(run) / "rankings.jsonl"
    records = list(rankings_records(rankings=rankings_selected(filters)))
    write_jsonl_atomic(records, path)
    return [parse_ranking(record) for record in records], str(path)


def job_train_reward(run: Run, reporter: RunReporter):
    from modeling.training.reward_config import RewardConfig
    from modeling.training.reward_training import train_reward_model

    _check_last_round_canaries(run, reporter)
    rankings, path = run_rankings_write(run)
    reporter.log(f"{len(rankings)} rankings exported to {path}")
    known = {f.name for f in fields(RewardConfig)} - {"output_dir"}
    config = RewardConfig(output_dir=str(run_directory(run) / "reward"),
                          **{k: v for k, v in run.config.items() if k in known})
    with checkpointed_output(config.output_dir, reporter):
        checkpoint, metrics = run_training(
            run_directory(run), reporter, lambda: train_reward_model(config, rankings, reporter),
            command="train-reward", own_args=["--rankings", path, "--out", config.output_dir, "--base", config.base_model],
            config=config, skip={"output_dir", "base_model"})
    reporter.log(json.dumps({k: v for k, v in metrics.items() if isinstance(v, (int, float))}))

    def register() -> dict:
        summary = {k: v for k, v in metrics.items() if k != "history"}
        parent = (ModelVersion.objects.filter(project_id=run.project_id, kind=ModelVersion.Kind.REWARD)
                  .order_by("-created_at", "-id").first())
        version = model_version_register(kind=ModelVersion.Kind.REWARD, algorithm="reward", path=checkpoint,
                                         run=run, parent=parent, config=run.config, metrics=summary)
        return {"model_version": version.pk, "rankings": len(rankings)}

    return register


def _check_last_round_canaries(run: Run, reporter: RunReporter) -> None:
    """A round's first step brings the previous round's canary check up to date (labeling/services/guard.py)
    with the canary rankings that came in since; a check that fails is logged, never fails the training."""
    from labeling.services.guard import guard_check_latest

    if run.training_round_id is None:
        return
    try:
        finding = guard_check_latest(project=run.project)
    except Exception as exc:  # noqa: BLE001 - the guard reports; training goes on
        reporter.log(f"canary check failed: {type(exc).__name__}: {exc}")
        return
    if finding is not None:
        reporter.log(f"canary check of the last round: {finding}")

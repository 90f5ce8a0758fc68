"""Improve a policy: supervised fine-tuning on the project's demonstrations, DPO straight on the
rankings, or PPO against a reward model."""
from __future__ import annotations

import json
from dataclasses import fields

from labeling.jobs.launch import run_training
from labeling.jobs.output import checkpointed_output
from labeling.jobs.reward import run_rankings_write
from labeling.models import ModelVersion, Prompt, Run
from labeling.selectors.runs import policy_lineage_root
from labeling.services.model_versions import model_version_register
from labeling.services.prompts import prompt_value
from labeling.jobs.reporter import RunReporter, run_directory

_MANAGED = {"output_dir", "policy", "reference", "reward_model", "inputs", "labeler_weights"}


def _config(config_class, run: Run, **managed):
    known = {f.name for f in fields(config_class)} - _MANAGED
    return config_class(**managed, **{k: v for k, v in run.config.items() if k in known})


def _register(run: Run, parent: ModelVersion, algorithm: str, checkpoint, metrics: dict):
    def register() -> dict:
        summary = {k: v for k, v in metrics.items() if k != "history"}
        version = model_version_register(kind=ModelVersion.Kind.POLICY, algorithm=algorithm, path=checkpoint,
                                         run=run, parent=parent, config=run.config, metrics=summary)
        return {"model_version": version.pk}

    return register


def _labeler_weights(run: Run, reporter: RunReporter) -> tuple[dict, list[str]]:
    """``(weights, their command-line flags)``: each labeler's DPO weight from the reliability the round's
    reward model (``inputs["reward_version"]``) learnt, written to ``labeler_weights.json`` in the run
    directory for a launched command; nothing when there is no such version or it learnt none."""
    from labeling.selectors.stats import labeler_reliability_of
    from modeling.training.labeler_reliability import dpo_weights

    reward = ModelVersion.objects.filter(pk=run.inputs.get("reward_version") or 0,
                                         kind=ModelVersion.Kind.REWARD).first()
    reliability = labeler_reliability_of(reward.metrics) if reward else {}
    if not reliability:
        return {}, []
    weights = dpo_weights(reliability)
    path = run_directory(run) / "labeler_weights.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(weights, sort_keys=True), encoding="utf-8")
    reporter.log(f"labeler weights from {reward.name}'s reliability: {weights}")
    return weights, ["--labeler-weights", str(path)]


def job_dpo(run: Run, reporter: RunReporter):
    """``inputs``: ``policy_version``, and in a round ``reward_version`` (whose labeler reliability weighs each
    labeler's pairs); trains on the stored rankings (see ``run_rankings_write``)."""
    from modeling.training.dpo import DPOConfig, train_dpo

    policy = ModelVersion.objects.get(pk=run.inputs["policy_version"], kind=ModelVersion.Kind.POLICY)
    rankings, path = run_rankings_write(run)
    reporter.log(f"DPO from {policy.name} on {len(rankings)} rankings ({path})")
    first = policy_lineage_root(policy)  # the reference stays the first (SFT) policy, round after round
    reporter.log(f"reference: {first.name}")
    weights, weight_args = _labeler_weights(run, reporter)
    config = _config(DPOConfig, run, output_dir=str(run_directory(run) / "policy"), policy=policy.path,
                     reference=first.path, inputs={"policy_version": policy.pk, "rankings": path},
                     labeler_weights=weights)
    with checkpointed_output(config.output_dir, reporter):
        checkpoint, metrics = run_training(
            run_directory(run), reporter, lambda: train_dpo(config, rankings, reporter), command="dpo",
            own_args=["--policy", policy.path, "--rankings", path, "--out", config.output_dir, *weight_args],
            config=config, skip={"output_dir", "policy", "inputs", "labeler_weights"})
    return _register(run, policy, "dpo", checkpoint, metrics)


def job_sft(run: Run, reporter: RunReporter):
    """``inputs``: ``policy_version`` (the base it fine-tunes); trains on the project's demonstrations that
    no reviewer rejected, the reviewer's correction in place of the labeler's text
    (``labeling.selectors.demonstrations``), written to ``demonstrations.jsonl`` in the run directory
    as TRL's prompt-completion lines. The SFT's held-out loss (before and after) and its loss curve are
    the run's metrics."""
    from modeling.formats.rankings import write_jsonl_atomic
    from modeling.training.sft import parse_demonstration, train_sft
    from modeling.training.sft_config import SFTConfig

    from labeling.selectors.demonstrations import demonstrations_records

    policy = ModelVersion.objects.get(pk=run.inputs["policy_version"], kind=ModelVersion.Kind.POLICY)
    records = [{"prompt": r["prompt"], "completion": r["completion"]} for r in demonstrations_records(project=run.project)]
    if not records:
        raise ValueError("the project has no demonstrations to train on (all rejected, or none written yet)")
    path = run_directory(run) / "demonstrations.jsonl"
    write_jsonl_atomic(records, path)
    demonstrations = [parse_demonstration(record) for record in records]
    reporter.log(f"SFT from {policy.name} on {len(demonstrations)} demonstrations ({path})")
    config = _config(SFTConfig, run, output_dir=str(run_directory(run) / "policy"), policy=policy.path,
                     inputs={"policy_version": policy.pk, "demonstrations": str(path),
                             "demonstrations_count": len(demonstrations)})
    with checkpointed_output(config.output_dir, reporter):
        checkpoint, metrics = run_training(
            run_directory(run), reporter, lambda: train_sft(config, demonstrations, reporter), command="sft",
            own_args=["--policy", policy.path, "--demonstrations", str(path), "--out", config.output_dir],
            config=config, skip={"output_dir", "policy", "inputs"})
    return _register(run, policy, "sft", checkpoint, metrics)


def job_ppo(run: Run, reporter: RunReporter):
    """``inputs``: ``policy_version``, ``reward_version`` and ``prompt_ids`` (rollout prompts)."""
    from modeling.training.ppo import PPOConfig, train_ppo

    policy = ModelVersion.objects.get(pk=run.inputs["policy_version"], kind=ModelVersion.Kind.POLICY)
    reward = ModelVersion.objects.get(pk=run.inputs["reward_version"], kind=ModelVersion.Kind.REWARD)
    prompts = [prompt_value(p) for p in Prompt.objects.filter(pk__in=run.inputs["prompt_ids"])]
    reporter.log(f"PPO from {policy.name} against {reward.name} on {len(prompts)} prompts")
    first = policy_lineage_root(policy)  # the KL penalty is to the first (SFT) policy, as in InstructGPT
    reporter.log(f"KL reference: {first.name}")
    config = _config(PPOConfig, run, output_dir=str(run_directory(run) / "policy"), policy=policy.path,
                     reference=first.path, reward_model=reward.path,
                     inputs={"policy_version": policy.pk, "reward_version": reward.pk, "prompts": len(prompts)})
    with checkpointed_output(config.output_dir, reporter):
        path = _write_prompts(run, prompts)  # kept with the run; what the launched ppo command reads
        checkpoint, metrics = run_training(
            run_directory(run), reporter, lambda: train_ppo(config, prompts, reporter), command="ppo",
            own_args=["--policy", policy.path, "--reward", reward.path, "--prompts", path,
                      "--out", config.output_dir],
            config=config, skip={"output_dir", "policy", "reward_model", "inputs"})
    return _register(run, policy, "ppo", checkpoint, metrics)


def _write_prompts(run: Run, prompts: list) -> str:
    """The rollout prompts as the ``ppo`` command reads them, one ``{"prompt": ...}`` a line (kept with the run)."""
    from modeling.formats.conversation import prompt_to_json
    from modeling.formats.rankings import write_jsonl_atomic

    path = run_directory(run) / "prompts.jsonl"
    write_jsonl_atomic([{"prompt": prompt_to_json(prompt)} for prompt in prompts], path)
    return str(path)

"""Train the default policy (tokenizer + small GPT-2 + SFT on the shipped demonstrations)."""
from __future__ import annotations

import json
from pathlib import Path

from labeling.jobs.output import checkpointed_output
from labeling.models import ModelVersion, Run
from labeling.services.model_versions import model_version_register
from labeling.jobs.reporter import RunReporter, run_directory


def job_bootstrap(run: Run, reporter: RunReporter):
    from modeling.training.policy_bootstrap import BootstrapConfig, load_demonstrations, train_policy

    out_dir = run_directory(run) / "policy"
    if (out_dir / "config.json").exists():  # an earlier attempt saved it, then died: register it
        path, metrics = out_dir, json.loads((out_dir / "metrics.json").read_text())
        reporter.log("checkpoint already complete from an earlier attempt; registering it")
    else:
        config = BootstrapConfig(out_dir=str(out_dir), **run.config)
        reporter.log(f"training the default policy: size={config.size} steps={config.steps}")
        with checkpointed_output(out_dir, reporter):
            path, metrics = train_policy(config, load_demonstrations(config.demonstrations), reporter)

    def register() -> dict:
        summary = {k: v for k, v in metrics.items() if k != "history"}
        version = model_version_register(
            kind=ModelVersion.Kind.POLICY, algorithm="bootstrap", path=Path(path), run=run,
            config=run.config, metrics=summary,
        )
        return {"model_version": version.pk}

    return register

"""Registering model versions (policy and reward checkpoints) with their lineage."""
from __future__ import annotations

from pathlib import Path

from labeling.models import ModelVersion, Run
from modeling.models.lora import adapter_base_path, is_adapter_dir, is_checkpoint_dir
from modeling.models.reward_ensemble import is_reward_ensemble_dir


def _next_name(kind: str) -> str:
    count = ModelVersion.objects.filter(kind=kind).count()
    return f"{kind}-v{count}"


def model_version_register(
    *, kind: str, algorithm: str, path: Path, run: Run | None = None, parent: ModelVersion | None = None,
    config: dict | None = None, metrics: dict | None = None,
) -> ModelVersion:
    """A row for a complete Hugging Face checkpoint directory (``config.json`` must be there) or a peft
    adapter directory (``adapter_config.json``), whose base checkpoint is recorded as
    ``config["adapter_base"]``."""
    config = dict(config or {})
    if is_adapter_dir(path):
        config["adapter_base"] = adapter_base_path(path)
    elif not (is_checkpoint_dir(path) or is_reward_ensemble_dir(path)):  # an ensemble: members under it
        raise ValueError(f"{path} is not a complete Hugging Face checkpoint (no config.json)")
    project = {"project_id": run.project_id} if run is not None else {}  # a run's model is its project's
    version = ModelVersion(
        kind=kind, name=_next_name(kind), algorithm=algorithm, path=str(path), run=run, parent=parent,
        config=config, metrics=metrics or {}, **project,
    )
    version.full_clean()
    version.save()
    return version

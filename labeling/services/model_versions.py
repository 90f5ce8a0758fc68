"""Registering model versions (policy and reward checkpoints) with their lineage."""
from __future__ import annotations

import json
from pathlib import Path

from labeling.models import ModelVersion, Run


def adapter_base(path) -> str:
    """The base checkpoint a peft adapter directory was trained over, or "" for a full checkpoint."""
    config_file = Path(path) / "adapter_config.json"
    if not config_file.is_file():
        return ""
    return json.loads(config_file.read_text()).get("base_model_name_or_path") or ""


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
    adapter = adapter_base(path)
    if adapter:
        config["adapter_base"] = adapter
    elif not (Path(path) / "config.json").exists():
        raise ValueError(f"{path} is not a complete Hugging Face checkpoint (no config.json)")
    version = ModelVersion(
        kind=kind, name=_next_name(kind), algorithm=algorithm, path=str(path), run=run, parent=parent,
        config=config, metrics=metrics or {},
    )
    version.full_clean()
    version.save()
    return version

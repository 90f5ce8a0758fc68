"""Registering model versions (policy and reward checkpoints) with their lineage."""
from __future__ import annotations

from pathlib import Path

from labeling.models import ModelVersion, Run


def _next_name(kind: str) -> str:
    count = ModelVersion.objects.filter(kind=kind).count()
    return f"{kind}-v{count}"


def model_version_register(
    *, kind: str, algorithm: str, path: Path, run: Run | None = None, parent: ModelVersion | None = None,
    config: dict | None = None, metrics: dict | None = None,
) -> ModelVersion:
    """A row for a complete Hugging Face checkpoint directory (``config.json`` must be there)."""
    if not (Path(path) / "config.json").exists():
        raise ValueError(f"{path} is not a complete Hugging Face checkpoint (no config.json)")
    version = ModelVersion(
        kind=kind, name=_next_name(kind), algorithm=algorithm, path=str(path), run=run, parent=parent,
        config=config or {}, metrics=metrics or {},
    )
    version.full_clean()
    version.save()
    return version

"""Checkpoints that a killed training run resumes from, and atomic publishing of finished models.

Layout of a training run's output directory while it trains::

    OUT/checkpoints/step-00000120/   state.pt (model, optimizer, scheduler, step, RNG, extra)
                                     training_config.json

Every directory is written under a hidden temporary name and renamed into place, so a reader (or a
resumed run) never sees a half-written one. :func:`publish_directory` does the same for the
finished Hugging Face checkpoint, which replaces OUT (and with it the resume checkpoints) at once.
Used by reward-model, DPO and PPO training alike.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

CHECKPOINTS_DIR = "checkpoints"
STATE_FILE = "state.pt"
CONFIG_FILE = "training_config.json"
# ENOSPC: the disk is full; EDQUOT: the user's quota is; EFBIG: a file-size limit (RLIMIT_FSIZE) was hit.
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
# How the same errors read when a library (safetensors, torch's C++ writer) reports them as text.
_DISK_FULL_TEXTS = ("No space left on device", "StorageFull", "Disk quota exceeded", "File too large")


class CheckpointDiskFull(OSError):
    """Writing a checkpoint failed for lack of space; what was half-written has been removed."""


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return True
    return any(text in str(exc) for text in _DISK_FULL_TEXTS)


@contextlib.contextmanager
def disk_full_guard(path: str | Path):
    """Turn a disk-full error while writing under ``path`` into one clear :class:`CheckpointDiskFull`."""
    try:
        yield
    except CheckpointDiskFull:
        raise
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "no space left"
        raise CheckpointDiskFull(f"disk full while writing checkpoint to {path} ({reason})") from exc


def config_to_dict(config: Any) -> dict:
    """A dataclass config as a JSON-ready dict, with each field's one-line help alongside."""
    values = dataclasses.asdict(config)
    help_text = {f.name: f.metadata.get("help", "") for f in dataclasses.fields(config)}
    return {"type": type(config).__name__, "values": values, "help": help_text}


def write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON through a temp file renamed into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.fchmod(fd, 0o644)  # mkstemp makes it owner-only; a checkpoint is for any reader (web, other users)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    run_dir: str | Path,
    *,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    config: Any = None,
    extra: dict | None = None,
    keep: int = 2,
) -> Path:
    """Save everything needed to resume at ``step`` as ``run_dir/checkpoints/step-XXXXXXXX``.

    Keeps the newest ``keep`` checkpoints. ``extra`` is any picklable state of the caller's loop
    (metric history, ...). Written in a temporary directory beside the target and renamed into
    place; when the disk is full the temporary directory is removed and :class:`CheckpointDiskFull`
    names the target.
    """
    root = Path(run_dir) / CHECKPOINTS_DIR
    final = root / f"step-{step:08d}"
    with disk_full_guard(final):
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=root))
        _write_checkpoint(tmp, final, step=step, model=model, optimizer=optimizer, scheduler=scheduler,
                          config=config, extra=extra)
    for old in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


class _WriteRecorder:
    """A file's ``write`` that remembers the OSError it raised: torch's zip writer reports a failed
    write as an opaque RuntimeError ("unexpected pos ..."), losing the ENOSPC behind it."""

    def __init__(self, handle):
        self.handle, self.error = handle, None

    def write(self, data) -> int:
        try:
            return self.handle.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.handle.flush()


def _save_reporting_os_errors(state: dict, handle) -> None:
    recorder = _WriteRecorder(handle)
    try:
        torch.save(state, recorder)
    except Exception as exc:
        if recorder.error is not None:
            raise recorder.error from exc
        raise


def trained_state(model: torch.nn.Module) -> dict:
    """What a resume needs of ``model``: its trainable parameters and its buffers. With a frozen base
    (LoRA) that is the adapters and heads, not the whole model; in full fine-tuning, everything."""
    frozen = {name for name, param in model.named_parameters(remove_duplicate=False) if not param.requires_grad}
    return {name: value for name, value in model.state_dict().items() if name not in frozen}


def trained_state_copy(model: torch.nn.Module) -> dict:
    """A detached CPU copy of :func:`trained_state`: what a stop rule keeps of the best iteration's policy,
    loaded back with ``model.load_state_dict(copy, strict=False)``."""
    return {name: value.detach().to("cpu", copy=True) for name, value in trained_state(model).items()}


def _write_checkpoint(tmp: Path, final: Path, *, step, model, optimizer, scheduler, config, extra) -> None:
    try:
        state = {
            "step": step,
            "model": trained_state(model),
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "rng": rng_state(),
            "extra": extra or {},
        }
        with open(tmp / STATE_FILE, "wb") as handle:
            _save_reporting_os_errors(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        if config is not None:
            write_json(tmp / CONFIG_FILE, config_to_dict(config))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first (temporary directories are ignored)."""
    root = Path(run_dir) / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.name.startswith("step-") and (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: p.name)


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    checkpoints = list_checkpoints(run_dir)
    return checkpoints[-1] if checkpoints else None


def checkpoint_step(path: str | Path) -> int:
    """The step a checkpoint directory (``step-00000120``) was saved at."""
    return int(Path(path).name.removeprefix("step-"))


def load_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    restore_rng: bool = True,
) -> tuple[int, dict]:
    """Restore model, optimizer, scheduler and RNG from a checkpoint; returns (step, extra)."""
    state = torch.load(Path(path) / STATE_FILE, map_location="cpu", weights_only=False)
    missing, unexpected = model.load_state_dict(state["model"], strict=False)
    frozen = {name for name, param in model.named_parameters(remove_duplicate=False) if not param.requires_grad}
    if unexpected or set(missing) - frozen:
        raise RuntimeError(f"checkpoint {path} does not fit the model: missing {sorted(set(missing) - frozen)[:5]}, "
                           f"unexpected {sorted(unexpected)[:5]}")
    if optimizer is not None and state["optimizer"] is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    if restore_rng:
        set_rng_state(state["rng"])
    return int(state["step"]), state["extra"]


def staging_directory(final: str | Path) -> Path:
    """A fresh hidden directory beside ``final`` to build it in before :func:`publish_directory`."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    staged.chmod(0o755)  # mkdtemp makes it owner-only; the published checkpoint is for any reader
    return staged


def remove_staging_leftovers(final: str | Path) -> list[Path]:
    """Delete the hidden staging directories of ``final`` that a failed save left beside it."""
    final = Path(final)
    leftovers = list(final.parent.glob(f".{final.name}.tmp-*")) if final.parent.is_dir() else []
    for leftover in leftovers:
        shutil.rmtree(leftover, ignore_errors=True)
    return leftovers


def publish_directory(staged: str | Path, final: str | Path) -> Path:
    """Move a fully written ``staged`` directory to ``final``, replacing whatever was there.

    ``final`` is at every moment either absent, the old directory, or the complete new one.
    """
    staged, final = Path(staged), Path(final)
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(staged, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


def publish_model(out_dir: str | Path, model, tokenizer, config: dict, metrics: dict,
                  extra: Callable[[Path], None] | None = None) -> Path:
    """Write a finished model (``save_pretrained`` weights and tokenizer, ``training_config.json``,
    ``metrics.json``, whatever ``extra(staged_dir)`` adds) beside ``out_dir`` and move it into place
    only once complete, so ``out_dir`` is a whole checkpoint or none."""
    staged = staging_directory(out_dir)
    try:
        model.save_pretrained(staged)
        tokenizer.save_pretrained(staged)
        write_json(staged / CONFIG_FILE, config)
        write_json(staged / "metrics.json", metrics)
        if extra is not None:
            extra(staged)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return publish_directory(staged, out_dir)

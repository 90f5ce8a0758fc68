"""The disk holding checkpoints fills up during a reward-model run: the run fails with one clear
message, no model version is registered and nothing half-written is left.

How the disk is filled: a real 4 MiB tmpfs mounted over the runs directory when this process may
mount (root, as in CI's container), so the kernel answers ENOSPC exactly as a full disk does. Where
it may not, ``RLIMIT_FSIZE`` is lowered to 4 MiB around the run instead: the kernel then refuses any
write past 4 MiB with EFBIG (Python ignores SIGXFSZ), the same refusal a full disk gives a writer at
that point. The tiny reward model's first checkpoint (weights plus AdamW state) is about 6 MiB.
"""
import contextlib
import re
import resource
import subprocess

import pytest

from labeling.models import ModelVersion, Run
from labeling.jobs.execute import run_execute
from labeling.services.runs import run_enqueue
from tests.faults.stack import store_rankings

LIMIT = 4 * 1024 * 1024


@contextlib.contextmanager
def small_disk(path):
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={LIMIT}", "tmpfs", str(path)],
                             capture_output=True, check=False).returncode == 0
    if mounted:
        try:
            yield "tmpfs"
        finally:
            subprocess.run(["umount", "-l", str(path)], check=False)
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, hard))
    try:
        yield "rlimit"
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_a_full_disk_fails_the_run_with_a_clear_message_and_registers_nothing(db, settings, tmp_path,
                                                                              tiny_bert_path):
    settings.VAR_DIR = tmp_path
    store_rankings()
    run = run_enqueue(kind=Run.Kind.TRAIN_REWARD, config={"base_model": tiny_bert_path, "epochs": 2, "max_length": 32,
                                                          "completions_per_batch": 6, "checkpoint_every": 1})
    with small_disk(tmp_path / "runs") as how:
        status = run_execute(run_id=run.pk)
        leftovers = sorted(p.name for p in (tmp_path / "runs").rglob("*") if p.name.startswith("."))
        steps = sorted(p.name for p in (tmp_path / "runs").rglob("step-*"))
    run.refresh_from_db()
    target = tmp_path / "runs" / f"run-{run.pk:06d}-{run.kind}" / "reward" / "checkpoints" / "step-00000001"
    assert status == Run.Status.FAILED, (how, run.error)
    assert run.error.startswith(f"CheckpointDiskFull: disk full while writing checkpoint to {target} ("), run.error
    assert not ModelVersion.objects.exists()
    assert leftovers == [] and steps == [], (how, leftovers, steps)


def test_the_guard_leaves_other_errors_alone(tmp_path):
    from modeling.models.checkpoints import CheckpointDiskFull, disk_full_guard

    with pytest.raises(PermissionError), disk_full_guard(tmp_path):
        raise PermissionError(13, "Permission denied")
    expected = re.escape(f"disk full while writing checkpoint to {tmp_path} (No space left on device)")
    with pytest.raises(CheckpointDiskFull, match=expected), disk_full_guard(tmp_path):
        raise OSError(28, "No space left on device")

"""Where a training job writes: say what it resumes from, and fail cleanly on a full disk."""
from __future__ import annotations

import contextlib
from pathlib import Path

from labeling.jobs.reporter import RunReporter


@contextlib.contextmanager
def checkpointed_output(output_dir: str | Path, reporter: RunReporter):
    """Log the checkpoint step a retried run resumes from; on a full disk raise one clear
    ``CheckpointDiskFull`` ("disk full while writing checkpoint to ...") and remove the half-written
    staging directories, so the run fails and no model version is registered."""
    from modeling.models import checkpoints

    resume_from = checkpoints.latest_checkpoint(output_dir)
    if resume_from is not None:
        reporter.log(f"resuming from checkpoint step {checkpoints.checkpoint_step(resume_from)} ({resume_from})")
    try:
        with checkpoints.disk_full_guard(output_dir):
            yield
    except checkpoints.CheckpointDiskFull:
        checkpoints.remove_staging_leftovers(output_dir)
        raise

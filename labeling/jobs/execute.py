"""Running one claimed run: dispatch to its job, then finish it with all its outputs or none."""
from __future__ import annotations

import logging
import traceback

from django.db import transaction

from labeling.models import Run
from labeling.services.loop import loop_after_bootstrap
from labeling.services.rounds import round_advance, round_stop
from labeling.jobs.reporter import RunCancelled, RunReporter
from labeling.services.runs import run_claim, run_finish

logger = logging.getLogger(__name__)


def _job_for(kind: str):
    from labeling.jobs.bootstrap import job_bootstrap
    from labeling.jobs.policy import job_dpo, job_ppo, job_sft
    from labeling.jobs.reward import job_train_reward
    from labeling.jobs.sample import job_sample

    jobs = {Run.Kind.BOOTSTRAP: job_bootstrap, Run.Kind.TRAIN_REWARD: job_train_reward, Run.Kind.SAMPLE: job_sample,
            Run.Kind.DPO: job_dpo, Run.Kind.PPO: job_ppo, Run.Kind.SFT: job_sft}
    if kind not in jobs:
        raise NotImplementedError(f"no job for runs of kind {kind!r} yet")
    return jobs[kind]


def run_execute(*, run_id: int) -> str:
    """Claim the run (a duplicate delivery finds it claimed and returns), run its job, finish it."""
    run = run_claim(run_id=run_id)
    if run is None:
        return "skipped: not queued (already claimed, finished or cancelled)"
    reporter = RunReporter(run)
    try:
        register = _job_for(run.kind)(run, reporter)
        with transaction.atomic():
            outputs = register()
            if not run_finish(run_id=run.pk, status=Run.Status.SUCCEEDED, outputs=outputs):
                transaction.set_rollback(True)  # marked dead or cancelled meanwhile: keep nothing
                return "discarded: the run stopped being ours before it finished"
            round_advance(run=run, outputs=outputs)
            loop_after_bootstrap(run=run, outputs=outputs)
        return Run.Status.SUCCEEDED
    except RunCancelled:
        _stop(run.pk, Run.Status.CANCELLED, "Cancelled by an admin.")
        return Run.Status.CANCELLED
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the run with its message
        logger.exception("run %s failed", run.pk)
        message = f"{type(exc).__name__}: {exc}"
        try:
            reporter.log(traceback.format_exc(limit=5))
        except RunCancelled:
            pass
        _stop(run.pk, Run.Status.FAILED, message)
        return Run.Status.FAILED


def _stop(run_id: int, status: str, error: str) -> None:
    with transaction.atomic():
        if run_finish(run_id=run_id, status=status, error=error):
            round_stop(run_id=run_id, status=status, error=error)

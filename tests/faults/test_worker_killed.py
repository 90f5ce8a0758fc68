"""The Celery worker is killed (SIGKILL, parent and child) in the middle of a reward-model run: the
run is found cut off, sent again, resumes from its last checkpoint (not from step 0) and registers
exactly one model version.

Recovery is ``manage.py runs_recover``, what ``make run`` does at start-up before its workers: it
marks the runs left ``running`` failed and queues them again. (With several machines the beat
watchdog does the marking once RUN_HEARTBEAT_TIMEOUT_SECONDS pass; tests/labeling/test_runs.py.)
"""
import re
import subprocess
import sys

import pytest

from config.celery import app
from config.localstack import BASE_DIR
from labeling.models import ModelVersion, Run
from labeling.jobs.reporter import run_directory
from labeling.services.runs import run_enqueue
from labeling.tasks import run_execute
from tests.faults.stack import kill_tree, store_rankings, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def send(run: Run, broker_url: str) -> None:
    """Publish the run's message to this test's Redis (the test process's own broker setting points elsewhere)."""
    with app.connection_for_write(broker_url) as connection:
        run_execute.apply_async(args=[run.pk], queue="training", connection=connection)


def test_a_run_killed_with_its_worker_resumes_from_its_checkpoint_and_registers_once(
        stack_env, redis_server, workers, tiny_bert_path, django_capture_on_commit_callbacks):
    store_rankings()
    with django_capture_on_commit_callbacks(execute=False):  # sent below, to this test's Redis
        run = run_enqueue(kind=Run.Kind.TRAIN_REWARD, config={
            "base_model": tiny_bert_path, "epochs": 100, "max_steps": 150, "max_length": 32,
            "completions_per_batch": 6, "checkpoint_every": 5})
    checkpoints = run_directory(run) / "reward" / "checkpoints"
    first = workers(stack_env, queues="training")
    send(run, redis_server.url)
    wait_until(lambda: list(checkpoints.glob("step-*/state.pt")), timeout=180, interval=0.05,
               what="the run's first checkpoint")
    kill_tree(first.pid)
    first.wait(timeout=30)
    run.refresh_from_db()
    assert run.status == Run.Status.RUNNING and run.attempts == 1, (run.status, run.error)
    assert not ModelVersion.objects.exists()

    recovered = subprocess.run([sys.executable, "manage.py", "runs_recover"], cwd=BASE_DIR, env=stack_env,
                               capture_output=True, text=True, timeout=120, check=False)
    assert recovered.returncode == 0 and f"Resuming 1 interrupted run(s): {run.pk}." in recovered.stdout, recovered
    workers(stack_env, queues="training")
    run = wait_until(lambda: Run.objects.filter(pk=run.pk, status__in=["succeeded", "failed"]).first(),
                     timeout=180, what="the retried run to finish")
    assert run.status == Run.Status.SUCCEEDED and run.attempts == 2, run.error
    resumed = re.search(r"resuming from checkpoint step (\d+)", run.log_tail)
    assert resumed and 0 < int(resumed.group(1)) < 150, run.log_tail
    versions = list(ModelVersion.objects.all())
    assert len(versions) == 1 and run.outputs["model_version"] == versions[0].pk
    assert versions[0].metrics["reward/steps"] == 150

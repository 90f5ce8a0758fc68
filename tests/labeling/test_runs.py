from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.errors import RejectedInput
from labeling.models import ModelVersion, Run
from labeling.jobs.execute import run_execute
from labeling.jobs.reporter import RunCancelled, RunReporter
from labeling.services.runs import run_cancel, run_claim, run_enqueue, run_finish, run_retry, runs_mark_dead

TINY_BOOTSTRAP = {"size": "tiny", "steps": 3, "batch_size": 4, "eval_prompts": 0, "vocab_size": 300}


@pytest.fixture
def run(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return run_enqueue(kind=Run.Kind.BOOTSTRAP, config=TINY_BOOTSTRAP)


def test_only_one_claim_of_a_run_succeeds(run):
    assert run_claim(run_id=run.pk).status == Run.Status.RUNNING
    assert run_claim(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.attempts == 1


def test_a_bootstrap_run_registers_a_loadable_policy_once(run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED
    assert run_execute(run_id=run.pk).startswith("skipped")  # a duplicate delivery does nothing
    run.refresh_from_db()
    version = ModelVersion.objects.get()
    assert (run.status, run.progress, run.outputs) == (Run.Status.SUCCEEDED, 100, {"model_version": version.pk})
    assert (version.kind, version.algorithm, version.run, version.name) == ("policy", "bootstrap", run, "policy-v0")
    assert run.metrics and "sft/loss" in run.metrics[-1]
    AutoModelForCausalLM.from_pretrained(version.path)
    AutoTokenizer.from_pretrained(version.path)


def test_a_failing_job_is_recorded_with_its_message_and_registers_nothing(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    run = run_enqueue(kind=Run.Kind.BOOTSTRAP, config={**TINY_BOOTSTRAP, "size": "huge"})
    assert run_execute(run_id=run.pk) == Run.Status.FAILED
    run.refresh_from_db()
    assert "size must be one of" in run.error and run.finished_at is not None
    assert not ModelVersion.objects.exists()


def test_cancelling_a_queued_run_stops_it_before_it_starts(run):
    run_cancel(run_id=run.pk)
    assert run_execute(run_id=run.pk).startswith("skipped")
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED and not ModelVersion.objects.exists()


def test_cancelling_a_running_run_stops_it_at_its_next_report(run):
    claimed = run_claim(run_id=run.pk)
    reporter = RunReporter(claimed, min_interval=0)
    reporter(1, 10, {"x/loss": 1.0})
    run_cancel(run_id=run.pk)
    with pytest.raises(RunCancelled):
        reporter(2, 10, {"x/loss": 0.9})


def test_a_finished_run_cannot_be_cancelled(run):
    run_claim(run_id=run.pk)
    run_finish(run_id=run.pk, status=Run.Status.SUCCEEDED)
    with pytest.raises(RejectedInput) as info:
        run_cancel(run_id=run.pk)
    assert info.value.status == 409


def test_a_run_without_heartbeat_is_marked_dead_and_can_be_retried(run):
    run_claim(run_id=run.pk)
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
    assert runs_mark_dead(stale_after=timedelta(minutes=5)) == [run.pk]
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and "heartbeat" in run.error
    assert not run_finish(run_id=run.pk, status=Run.Status.SUCCEEDED)  # a zombie worker cannot finish it
    assert run_retry(run_id=run.pk).status == Run.Status.QUEUED
    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED
    run.refresh_from_db()
    assert run.attempts == 2 and ModelVersion.objects.count() == 1


def test_only_failed_runs_can_be_retried(run):
    with pytest.raises(RejectedInput):
        run_retry(run_id=run.pk)


def test_progress_and_metrics_are_written_with_a_heartbeat(run):
    claimed = run_claim(run_id=run.pk)
    reporter = RunReporter(claimed, min_interval=0)
    reporter(5, 10, {"reward/loss": 0.5})
    reporter.log("hello")
    run.refresh_from_db()
    assert run.progress == 50 and run.metrics == [{"step": 5, "reward/loss": 0.5}] and run.log_tail == "hello"


def test_the_watchdog_marks_dead_runs_and_resends_stale_queued_ones(run):
    from labeling.tasks import runs_watchdog

    Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    stuck = run_enqueue(kind=Run.Kind.SAMPLE)
    run_claim(run_id=stuck.pk)
    Run.objects.filter(pk=stuck.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert runs_watchdog() == {"dead": [stuck.pk], "requeued": [run.pk]}


def test_runs_cut_off_by_a_stopped_stack_are_queued_again(run):
    from labeling.services.runs import runs_recover_interrupted

    run_claim(run_id=run.pk)
    assert runs_recover_interrupted() == [run.pk]
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED and run.error == "Interrupted when the stack stopped."
    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED


def test_policy_lineage_root_is_the_first_policy(db, tmp_path):
    from labeling.selectors.runs import policy_lineage_root
    from labeling.services.model_versions import model_version_register

    (tmp_path / "config.json").write_text("{}")
    first = model_version_register(kind="policy", algorithm="external", path=tmp_path)
    second = model_version_register(kind="policy", algorithm="ppo", path=tmp_path, parent=first)
    third = model_version_register(kind="policy", algorithm="ppo", path=tmp_path, parent=second)
    assert [policy_lineage_root(v).pk for v in (first, second, third)] == [first.pk] * 3

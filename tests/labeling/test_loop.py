"""A fresh install: the default policy is bootstrapped once and its samples become tasks."""
from django.core.management import call_command

from labeling.models import Completion, ModelVersion, Prompt, RankingTask, Run
from labeling.services.loop import loop_bootstrap
from labeling.services.model_versions import model_version_register
from labeling.jobs.execute import run_execute
from tests.labeling.test_runs import TINY_BOOTSTRAP


def test_bootstrap_then_sample_fills_the_first_model_tasks(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    bootstrap = loop_bootstrap(sample_prompts=3, config=TINY_BOOTSTRAP)
    assert loop_bootstrap(sample_prompts=3) == bootstrap  # in flight: not queued twice
    assert run_execute(run_id=bootstrap.pk) == Run.Status.SUCCEEDED
    sample = Run.objects.get(kind=Run.Kind.SAMPLE)
    sample.config = {**sample.config, "max_new_tokens": 6}
    sample.save()
    assert run_execute(run_id=sample.pk) == Run.Status.SUCCEEDED, Run.objects.get(pk=sample.pk).error
    policy = ModelVersion.objects.get(kind="policy")
    assert Prompt.objects.filter(external_id__startswith="generated-").count() == 3
    assert RankingTask.objects.count() == Run.objects.get(pk=sample.pk).outputs["tasks_created"] >= 1
    assert set(Completion.objects.values_list("model_version", flat=True)) == {policy.pk}
    assert loop_bootstrap() is None  # a policy exists now


def test_loop_init_does_nothing_when_a_policy_exists(db, tiny_policy_dir, capsys):
    model_version_register(kind="policy", algorithm="external", path=tiny_policy_dir)
    call_command("loop_init")
    assert "nothing to bootstrap" in capsys.readouterr().out and not Run.objects.exists()


def test_a_configured_checkpoint_replaces_the_bootstrap(db, settings, tiny_policy_dir):
    settings.RLHF_DEFAULT_POLICY = str(tiny_policy_dir)
    sample = loop_bootstrap(sample_prompts=2)
    version = ModelVersion.objects.get(kind="policy")
    assert (version.algorithm, version.path) == ("external", str(tiny_policy_dir))
    assert sample.kind == Run.Kind.SAMPLE and sample.inputs["policy_version"] == version.pk
    assert not Run.objects.filter(kind=Run.Kind.BOOTSTRAP).exists()


def test_a_configured_path_that_is_no_checkpoint_is_refused(db, settings, tmp_path):
    import pytest

    settings.RLHF_DEFAULT_POLICY = str(tmp_path)
    with pytest.raises(ValueError, match="not a complete Hugging Face checkpoint"):
        loop_bootstrap()
    assert not ModelVersion.objects.exists() and not Run.objects.exists()

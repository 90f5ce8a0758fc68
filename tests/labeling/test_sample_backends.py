"""A sample run draws with RLHF_SAMPLER's backend (or its own ``backend``), records it, and fails with
the reason, making no tasks, where the backend cannot run."""
import pytest
import torch

from labeling.jobs.execute import run_execute
from labeling.models import Prompt, RankingTask, Run
from labeling.services.model_versions import model_version_register
from labeling.services.runs import run_enqueue


@pytest.fixture
def sample_run(db, settings, tmp_path, tiny_policy_dir, monkeypatch):
    monkeypatch.delenv("RLHF_VLLM_PYTHON", raising=False)
    settings.VAR_DIR = tmp_path
    policy = model_version_register(kind="policy", algorithm="external", path=tiny_policy_dir)
    prompts = [Prompt.objects.create(text=text) for text in ("Name a colour.", "Say a number.")]

    def make(**config):
        return run_enqueue(kind=Run.Kind.SAMPLE, inputs={"policy_version": policy.pk,
                                                           "prompt_ids": [p.pk for p in prompts]},
                           config={"k": 2, "max_new_tokens": 4, **config})
    return make


def test_auto_samples_with_generate_where_vllm_cannot_run(sample_run, settings):
    settings.RLHF_SAMPLER = "auto"
    run = sample_run()
    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED
    run.refresh_from_db()
    assert run.outputs["settings"]["backend"] == "generate" and RankingTask.objects.count() >= 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_a_run_asking_for_vllm_here_fails_with_the_reason_and_makes_no_tasks(sample_run):
    run = sample_run(backend="vllm")
    assert run_execute(run_id=run.pk) == Run.Status.FAILED
    run.refresh_from_db()
    assert "vllm sampling backend needs RLHF_VLLM_PYTHON" in run.error
    assert not RankingTask.objects.exists()

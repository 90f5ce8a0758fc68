"""RLHF_TRAINING_PROCESSES=2: a job trains as ``accelerate launch -m modeling ...`` and reports to its Run."""
import threading
import time
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from labeling.models import ModelVersion, Run
from labeling.services.model_versions import model_version_register
from labeling.jobs.execute import run_execute
from labeling.jobs.reporter import run_directory
from labeling.services.runs import run_cancel, run_enqueue
from modeling.commands._config_flags import add_config_flags, config_flags, config_values
from modeling.training.dpo_config import DPOConfig
from tests.factories import PromptFactory, UserFactory, make_task
from tests.labeling.test_jobs import _rank_everything

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _two_processes(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    settings.RLHF_TRAINING_PROCESSES = 2
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")


def _ranked_tasks(n: int = 12) -> None:
    for i in range(n):
        make_task(k=3, required_rankings=2, texts=[f"a{i}", f"a much longer answer {i}", f"medium {i}"])
    _rank_everything([UserFactory(), UserFactory()])


def _processes_of(run: Run) -> list[int]:
    """Live processes whose command line names the run's directory (the launcher and its workers)."""
    needle, found = str(run_directory(run)).encode(), []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and needle in (proc / "cmdline").read_bytes() and \
                    "State:\tZ" not in (proc / "status").read_text():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_config_flags_parse_back_into_the_same_config():
    import argparse

    config = DPOConfig(beta=0.25, epochs=3, bf16=True, lora_r=4, lora_target_modules="c_attn", device="")
    parser = argparse.ArgumentParser()
    add_config_flags(parser, DPOConfig, {"inputs"})
    parsed = DPOConfig(**config_values(parser.parse_args(config_flags(config, {"inputs"})), DPOConfig, {"inputs"}))
    assert parsed == config


def test_a_reward_run_trains_in_two_processes_and_its_row_follows(db, tiny_bert_path):
    _ranked_tasks()
    run = run_enqueue(kind=Run.Kind.TRAIN_REWARD, config={"base_model": tiny_bert_path, "epochs": 2, "device": "cpu",
                                                          "max_length": 32, "completions_per_batch": 12})
    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
    run.refresh_from_db()
    version = ModelVersion.objects.get(kind="reward")
    assert version.metrics["world_size"] == 2 and "reward/accuracy" in version.metrics
    assert run.progress == 100 and run.metrics and "step" in run.metrics[-1]  # relayed progress lines
    assert "launching 2 training processes" in run.log_tail
    assert (run_directory(run) / "training.log").stat().st_size > 0
    AutoModelForSequenceClassification.from_pretrained(version.path)


def test_a_dpo_run_trains_in_two_processes(db, tiny_policy_dir):
    _ranked_tasks(8)
    policy = model_version_register(kind="policy", algorithm="external", path=tiny_policy_dir)
    run = run_enqueue(kind=Run.Kind.DPO, config={"kl_prompts": 2, "kl_max_new_tokens": 4, "device": "cpu",
                                                 "completions_per_batch": 9, "checkpoint_every": 0},
                      inputs={"policy_version": policy.pk})
    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
    version = ModelVersion.objects.get(kind="policy", run=run)
    assert version.metrics["world_size"] == 2 and version.parent == policy
    AutoModelForCausalLM.from_pretrained(version.path)


def test_a_ppo_run_trains_in_two_processes_and_its_row_follows(db, tiny_policy_dir, tiny_bert_path):
    prompts = [PromptFactory(text=f"List {n} fruits.") for n in range(2, 6)]
    policy = model_version_register(kind="policy", algorithm="external", path=tiny_policy_dir)
    reward = model_version_register(kind="reward", algorithm="external", path=tiny_bert_path)
    run = run_enqueue(kind=Run.Kind.PPO, config={"iterations": 2, "rollout_batch_size": 6, "samples_per_prompt": 2,
                                                 "minibatch_size": 4, "ppo_epochs": 1, "max_new_tokens": 6,
                                                 "reward_max_length": 32, "use_value_model": False, "device": "cpu"},
                      inputs={"policy_version": policy.pk, "reward_version": reward.pk,
                              "prompt_ids": [p.pk for p in prompts]})
    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
    run.refresh_from_db()
    version = ModelVersion.objects.get(kind="policy", run=run)
    assert version.metrics["world_size"] == 2 and version.parent == policy and "ppo/reward" in version.metrics
    assert run.progress == 100 and [row["step"] for row in run.metrics] == [1, 2]  # relayed progress lines
    assert "launching 2 training processes" in run.log_tail and "-m modeling ppo" in run.log_tail
    AutoModelForCausalLM.from_pretrained(version.path)


def test_a_refused_training_command_fails_the_run_with_its_error_line(db, tmp_path):
    _ranked_tasks(2)
    (tmp_path / "not-a-checkpoint").mkdir()
    policy = ModelVersion.objects.create(kind="policy", name="broken", algorithm="external",
                                         path=str(tmp_path / "not-a-checkpoint"))
    run = run_enqueue(kind=Run.Kind.DPO, config={"device": "cpu"}, inputs={"policy_version": policy.pk})
    assert run_execute(run_id=run.pk) == Run.Status.FAILED
    run.refresh_from_db()
    assert "training exited with status" in run.error and "not a policy checkpoint directory" in run.error
    assert ModelVersion.objects.count() == 1 and not _processes_of(run)


def test_cancelling_stops_every_training_process(transactional_db, tiny_bert_path):
    _ranked_tasks()
    run = run_enqueue(kind=Run.Kind.TRAIN_REWARD, config={"base_model": tiny_bert_path, "epochs": 500, "device": "cpu",
                                                          "max_length": 32, "completions_per_batch": 12})
    seen: list[int] = []

    def cancel_once_training() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            current = Run.objects.get(pk=run.pk)
            if current.status == Run.Status.RUNNING and current.progress > 0:
                seen.extend(_processes_of(current))
                run_cancel(run_id=run.pk)
                return
            time.sleep(0.2)

    canceller = threading.Thread(target=cancel_once_training)
    canceller.start()
    assert run_execute(run_id=run.pk) == Run.Status.CANCELLED
    canceller.join()
    assert len(seen) >= 3  # the launcher and its two training processes were running
    assert not _processes_of(run) and not ModelVersion.objects.exists()


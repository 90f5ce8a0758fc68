"""``accelerate launch`` with 2 CPU processes: the same global batches, the same loss curve, one writer."""
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from modeling.training.distributed import Distributed
from tests.modeling.tiny_reward import write_toy_rankings

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(processes: int, *args: str) -> dict:
    """Run ``python -m modeling ARGS`` under accelerate launch; the metrics JSON line it printed."""
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
                str(processes), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                "--main_process_port", str(_free_port()), "-m", "modeling", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(launcher if processes > 1 else [sys.executable, "-m", "modeling", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, done.stdout  # only the main process prints the metrics line
    return json.loads(lines[0])


def history(out: Path) -> list[float]:
    return [row["dpo/loss"] for row in json.loads((out / "metrics.json").read_text())["history"]]


def test_dpo_on_two_processes_follows_the_one_process_loss_curve(tiny_policy_dir, tmp_path):
    rankings = write_toy_rankings(tmp_path / "rankings.jsonl", n_prompts=24)
    common = ["dpo", "--policy", str(tiny_policy_dir), "--rankings", rankings, "--kl-prompts", "2",
              "--kl-max-new-tokens", "4", "--completions-per-batch", "16", "--log-every", "1", "--device", "cpu",
              "--learning-rate", "1e-3"]
    one = launch(1, *common, "--out", str(tmp_path / "one"))
    two = launch(2, *common, "--out", str(tmp_path / "two"))
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert one["dpo/steps"] == two["dpo/steps"] > 3
    assert history(tmp_path / "two") == pytest.approx(history(tmp_path / "one"), abs=2e-4)
    assert (tmp_path / "two" / "model.safetensors").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # one writer, no staging left


def test_train_reward_on_two_processes(tiny_bert_path, tmp_path):
    rankings = write_toy_rankings(tmp_path / "rankings.jsonl", n_prompts=24)
    metrics = launch(2, "train-reward", "--rankings", rankings, "--base", str(tiny_bert_path), "--out",
                     str(tmp_path / "rm"), "--epochs", "1", "--max-length", "32", "--device", "cpu")
    assert metrics["world_size"] == 2 and "reward/accuracy" in json.dumps(metrics)
    assert (tmp_path / "rm" / "config.json").is_file()


def test_one_process_shards_nothing():
    distributed = Distributed("cpu")
    assert (distributed.world_size, distributed.rank, distributed.is_main) == (1, 0, True)
    assert distributed.shard([3, 1, 2]) == ([3, 1, 2], 1.0)
    assert distributed.sum(2.5) == 2.5


def test_sft_on_two_processes_follows_the_one_process_loss_curve(tiny_chat_model_dir, tmp_path):
    from tests.modeling.training.test_sft import ANSWERS

    # unequal lengths, so the token weighting matters: a per-process mean would not give this curve
    demos = [{"prompt": p, "completion": c * (1 + n % 3)} for n, (p, c) in enumerate(ANSWERS * 6)]
    path = tmp_path / "demos.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in demos))
    common = ["sft", "--policy", str(tiny_chat_model_dir), "--demonstrations", str(path), "--epochs", "1",
              "--batch-size", "5", "--log-every", "1", "--eval-fraction", "0", "--device", "cpu",
              "--learning-rate", "1e-3"]
    one = launch(1, *common, "--out", str(tmp_path / "one"))
    two = launch(2, *common, "--out", str(tmp_path / "two"))
    assert (one["world_size"], two["world_size"]) == (1, 2) and one["sft/steps"] == two["sft/steps"] == 4
    curve = lambda out: [row["sft/loss"] for row in json.loads((out / "metrics.json").read_text())["history"]]
    assert curve(tmp_path / "two") == pytest.approx(curve(tmp_path / "one"), abs=2e-4)
    assert (tmp_path / "two" / "model.safetensors").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_ppo_on_two_processes_writes_one_checkpoint_and_a_finite_reward(tiny_policy_dir, tiny_bert_path, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"List {n} {thing}."}) + "\n"
                               for n in (2, 3) for thing in ("fruits", "tools", "colors")))
    out = tmp_path / "ppo"
    # 5 groups of 2 responses: 3 on one process, 2 on the other; minibatches of 3 split unevenly
    metrics = launch(2, "ppo", "--policy", str(tiny_policy_dir), "--reward", str(tiny_bert_path), "--prompts",
                     str(prompts), "--out", str(out), "--iterations", "2", "--rollout-batch-size", "10",
                     "--samples-per-prompt", "2", "--minibatch-size", "3", "--ppo-epochs", "2", "--max-new-tokens",
                     "6", "--reward-max-length", "32", "--ptx-coef", "0.1", "--ptx-batch-size", "3", "--device", "cpu")
    assert metrics["world_size"] == 2 and metrics["ppo/iterations"] == 2
    assert all(math.isfinite(metrics[key]) for key in ("ppo/reward", "ppo/kl", "ppo/policy_loss", "ppo/ptx_loss"))
    assert metrics["ppo/kl"] > 0  # the first update moved the policy away from its reference
    saved = json.loads((out / "metrics.json").read_text())
    assert [row["iteration"] for row in saved["history"]] == [1, 2] and saved["history"][0]["ppo/kl"] == 0.0
    assert (out / "model.safetensors").is_file() and (out / "value_model" / "config.json").is_file()
    assert json.loads((out / "training_config.json").read_text())["world_size"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # one writer, no staging left


def test_ppo_refuses_fewer_prompt_groups_than_processes_and_sharded_weights():
    from modeling.training.ppo import PPOConfig, _check_processes

    class TwoProcesses:  # what Distributed answers inside a 2-process DDP launch
        world_size, accelerator = 2, type("Accelerator", (), {"distributed_type": "DistributedType.MULTI_CPU"})()

    with pytest.raises(ValueError, match="at least one prompt per process"):
        _check_processes(PPOConfig(rollout_batch_size=4, samples_per_prompt=4), TwoProcesses())
    TwoProcesses.accelerator.distributed_type = "DistributedType.DEEPSPEED"
    with pytest.raises(ValueError, match="ppo runs under DDP only"):
        _check_processes(PPOConfig(rollout_batch_size=8, samples_per_prompt=2), TwoProcesses())

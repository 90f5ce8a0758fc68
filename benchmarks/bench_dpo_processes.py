"""DPO on one process vs two under ``accelerate launch`` (CPU, gloo), the same global batches.

Both runs train the same policy on the same simulated K=4 rankings (``bench_reward.simulated_rankings``)
with the same settings; the two-process run shards each step's groups across the processes
(``modeling.training.distributed``). Prints steps per second of training time for each, their ratio, and the
largest difference between the two loss curves (logged every step), which must be float noise.

    .venv/bin/python benchmarks/bench_dpo_processes.py --policy var/bench/policy

Without ``--policy`` a small policy is bootstrapped first (``bootstrap-policy --size tiny``).
On a CPU-only machine accelerate 1.15 starts several processes with ``--multi_gpu``.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(processes: int, args: list[str], threads: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(threads), "CUDA_VISIBLE_DEVICES": ""}
    launcher = ([sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
                 "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                 "--main_process_port", str(free_port()), "-m", "modeling"] if processes > 1
                else [sys.executable, "-m", "modeling"])
    done = subprocess.run(launcher + args, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stderr[-2000:])
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy", default="", help="policy checkpoint (default: bootstrap a tiny one)")
    parser.add_argument("--prompts", type=int, default=128, help="ranked prompts (K=4, one labeler each)")
    parser.add_argument("--completions-per-batch", type=int, default=32, help="sequences per global step")
    args = parser.parse_args()

    from bench_reward import simulated_rankings
    from modeling.formats.rankings import ranking_record, write_jsonl_atomic

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        policy = args.policy
        if not policy:
            policy = str(tmp / "policy")
            subprocess.run([sys.executable, "-m", "modeling", "bootstrap-policy", "--out", policy, "--size", "tiny",
                            "--steps", "200", "--eval-prompts", "0"], cwd=ROOT, check=True, capture_output=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
        rankings = tmp / "rankings.jsonl"
        write_jsonl_atomic([ranking_record(r) for r in simulated_rankings(args.prompts, 4, seed=0)], rankings)
        common = ["dpo", "--policy", policy, "--rankings", str(rankings), "--kl-prompts", "0", "--log-every", "1",
                  "--completions-per-batch", str(args.completions_per_batch), "--device", "cpu",
                  "--checkpoint-every", "0"]
        one = run(1, common + ["--out", str(tmp / "one")], threads=2)
        two = run(2, common + ["--out", str(tmp / "two")], threads=1)  # 2 processes x 1 thread = the same 2 cores
        curves = [[row["dpo/loss"] for row in json.loads((tmp / name / "metrics.json").read_text())["history"]]
                  for name in ("one", "two")]
    rate = {n: m["dpo/steps"] / m["perf/train_seconds"] for n, m in (("one", one), ("two", two))}
    print(f"DPO, 1 process (2 threads): {rate['one']:.2f} steps/s, final loss {curves[0][-1]:.4f}")
    print(f"DPO, 2 processes (1 thread each): {rate['two']:.2f} steps/s, final loss {curves[1][-1]:.4f}")
    print(f"2 processes vs 1, DPO: {rate['two'] / rate['one']:.2f}x steps/s; "
          f"loss curves differ by at most {max(abs(a - b) for a, b in zip(*curves)):.2e} over {len(curves[0])} steps")


if __name__ == "__main__":
    main()

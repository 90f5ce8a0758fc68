"""Paired held-out gold of two policies: the same held-out prompts (``simulate_rounds``' set) sampled with
the same seed, so position i of one policy pairs with position i of the other.

Used for issue 18's in-loop comparison (``simulate_rounds --selection uncertainty`` vs ``random``: the
final policies of the two arms), whose rows each report a gain over their own previous round only.

    .venv/bin/python experiments/compare_policies.py A_POLICY_DIR B_POLICY_DIR --eval-prompts 150 --samples 16
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modeling.simulation.evaluation import gold_of_samples, paired_standard_error, win_rate  # noqa: E402
from modeling.simulation.instructions import generate_prompts  # noqa: E402


def held_out(count: int, seed: int = 9000) -> list[str]:
    """``labeling.services.simulation.held_out_texts``, without Django."""
    return list(dict.fromkeys(generate_prompts(4 * count, seed=seed)))[:count]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--eval-prompts", type=int, default=150)
    parser.add_argument("--samples", type=int, default=16)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    prompts = held_out(args.eval_prompts)
    a = gold_of_samples(args.a, prompts, samples_per_prompt=args.samples)
    b = gold_of_samples(args.b, prompts, samples_per_prompt=args.samples)
    result = {"gold_a": sum(a) / len(a), "gold_b": sum(b) / len(b), "a_minus_b": (sum(a) - sum(b)) / len(a),
              "paired_se": paired_standard_error(a, b), "win_rate_a": win_rate(a, b), "positions": len(a)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

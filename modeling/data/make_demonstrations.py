"""Regenerate ``demonstrations.jsonl``: ``python -m modeling.data.make_demonstrations [--count N]``.

Deterministic: the same count and seed always write the same file. Each line is
``{"prompt": str, "completion": str, "type": str}`` (TRL's prompt-completion format), prompts cycle through every instruction type and
responses are good answers in varied phrasings (:func:`modeling.simulation.instructions.reference_response`).
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from modeling.simulation.instructions import generate_prompts, instruction_type, reference_response

DEFAULT_PATH = Path(__file__).with_name("demonstrations.jsonl")


def make_demonstrations(count: int, seed: int) -> list[dict]:
    """``count`` demonstrations; prompts and phrasings drawn from two generators seeded by ``seed``."""
    rng = random.Random(seed + 1)
    return [{"prompt": p, "completion": reference_response(p, rng), "type": instruction_type(p)}
            for p in generate_prompts(count, seed)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="number of demonstrations")
    parser.add_argument("--seed", type=int, default=0, help="seed for prompts and phrasings")
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH, help="where to write the JSONL")
    args = parser.parse_args()
    lines = [json.dumps(d, ensure_ascii=False) for d in make_demonstrations(args.count, args.seed)]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} demonstrations to {args.out}")


if __name__ == "__main__":
    main()

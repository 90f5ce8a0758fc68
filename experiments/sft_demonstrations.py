"""Does SFT on a few hundred demonstrations raise a policy's held-out gold score?

    OMP_NUM_THREADS=1 .venv/bin/python experiments/sft_demonstrations.py --policy var/bench/policy \\
        --count 300 --learning-rate 1e-4 --epochs 2 [--drafts 8 --noise 0.1] [--prompt-seed 1]

Demonstrations for ``--count`` training prompts (drawn apart from the 150 held-out prompts that
``simulate_rounds`` judges on): by default the simulated writer's (``SimulatedLabeler.write``: the
best, as perceived, of 8 good answers); with ``--drafts N`` the best (gold plus N(0, noise²)) of N of
the policy's own samples instead (expert iteration). Then ``train_sft`` and the gold score of 32
samples per held-out prompt before and after, with the paired standard error (benchmarks/RESULTS.md,
"Demonstrations → SFT → a ranking round").
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def demonstrations(args, prompts: list[str]) -> list[dict]:
    from modeling.simulation.instructions import gold_score
    from modeling.simulation.oracle import SimulatedLabeler

    if not args.drafts:
        writers = [SimulatedLabeler(f"sim-labeler-{i + 1}") for i in range(3)]
        return [{"prompt": p, "completion": writers[i % 3].write(p)} for i, p in enumerate(prompts)]
    import torch

    from modeling.models.policy_model import load_policy
    from modeling.training.ppo_rollout import generate_responses

    model, tokenizer = load_policy(args.policy, "cpu")
    torch.manual_seed(5)
    drafts = generate_responses(model, tokenizer, [p for p in prompts for _ in range(args.drafts)],
                                max_new_tokens=48).texts
    rng, rows = random.Random(0), []
    for i, prompt in enumerate(prompts):
        options = drafts[i * args.drafts:(i + 1) * args.drafts]
        best = max(options, key=lambda text: gold_score(prompt, text) + rng.gauss(0, args.noise))
        rows.append({"prompt": prompt, "completion": best})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--drafts", type=int, default=0, help="best of N own samples instead of the writer's")
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--prompt-seed", type=int, default=1)
    args = parser.parse_args()
    from modeling.simulation.evaluation import gold_of_samples, paired_standard_error
    from modeling.simulation.instructions import generate_prompts
    from modeling.training.sft import parse_demonstration, train_sft
    from modeling.training.sft_config import SFTConfig

    held_out = list(dict.fromkeys(generate_prompts(600, seed=9000)))[:150]  # simulate_rounds' held-out set
    unseen = set(held_out)
    prompts = [p for p in generate_prompts(4 * args.count, seed=args.prompt_seed) if p not in unseen][:args.count]
    rows = [parse_demonstration(r) for r in demonstrations(args, prompts)]
    with tempfile.TemporaryDirectory() as out:
        config = SFTConfig(output_dir=str(Path(out) / "policy"), policy=args.policy, epochs=args.epochs,
                           learning_rate=args.learning_rate, batch_size=16)
        checkpoint, metrics = train_sft(config, rows)
        before = gold_of_samples(args.policy, held_out, samples_per_prompt=32)
        after = gold_of_samples(str(checkpoint), held_out, samples_per_prompt=32)
    print(f"held-out SFT loss {metrics['sft/eval_loss_before']:.3f} -> {metrics['sft/eval_loss']:.3f}; gold "
          f"{sum(before) / len(before):.4f} -> {sum(after) / len(after):.4f} "
          f"({(sum(after) - sum(before)) / len(after):+.4f} ± {paired_standard_error(after, before):.4f})")


if __name__ == "__main__":
    main()

"""``python -m modeling bootstrap-policy``: train the default policy from the shipped demonstrations."""
from __future__ import annotations

import argparse
import json

NAME = "bootstrap-policy"
HELP = "train the default policy: a BPE tokenizer and a small GPT-2 fine-tuned on the shipped demonstrations"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from modeling.training.bootstrap_config import DEMONSTRATIONS_PATH, POLICY_SIZES, BootstrapConfig

    defaults = BootstrapConfig()
    parser.add_argument("--out", required=True, help="checkpoint directory to create (absent or empty)")
    parser.add_argument("--size", choices=sorted(POLICY_SIZES), default=defaults.size, help="policy shape")
    parser.add_argument("--steps", type=int, default=defaults.steps, help="optimizer steps")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed for data order and initialisation")
    parser.add_argument("--demonstrations", default=str(DEMONSTRATIONS_PATH),
                        help="JSONL of {prompt, response} lines (default: the shipped ones)")
    parser.add_argument("--eval-prompts", type=int, default=defaults.eval_prompts,
                        help="fresh prompts gold-scored at the end (0: skip)")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from modeling.errors import InputError
    from modeling.training.policy_bootstrap import BootstrapConfig, check_config, load_demonstrations, train_policy

    config = BootstrapConfig(out_dir=args.out, size=args.size, steps=args.steps, seed=args.seed,
                             demonstrations=args.demonstrations, eval_prompts=args.eval_prompts)
    try:
        check_config(config)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    demonstrations = load_demonstrations(args.demonstrations)
    with tqdm(total=config.steps, desc="bootstrap-policy", unit="step") as bar:
        def progress(step: int, total: int, metrics: dict) -> None:
            bar.update(step - bar.n)
            bar.set_postfix(loss=f"{metrics['sft/loss']:.3f}", refresh=False)

        out, metrics = train_policy(config, demonstrations, progress)
    summary = {key: value for key, value in metrics.items() if key != "history"}
    print(json.dumps({"out": str(out), **summary}))
    return 0

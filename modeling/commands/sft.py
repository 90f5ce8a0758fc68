"""``python -m modeling sft``: policy + demonstrations JSONL -> fine-tuned policy checkpoint directory."""
from __future__ import annotations

import argparse
from pathlib import Path

from modeling.commands._config_flags import add_config_flags, config_values
from modeling.commands.dpo import check_checkpoint, check_output, file_sha256, train_and_report
from modeling.errors import InputError

NAME = "sft"
HELP = "supervised fine-tuning on demonstrations ({prompt: str | messages, completion: str} JSONL), loss on completions"

_OWN_FLAGS = {"output_dir", "policy", "inputs"}  # given as --out / --policy; inputs are recorded here


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from modeling.training.sft_config import SFTConfig

    parser.add_argument("--policy", required=True, help="policy checkpoint directory to fine-tune")
    parser.add_argument("--demonstrations", required=True,
                        help='demonstrations JSONL: {"prompt": str | [message, ...], "completion": str} per line')
    parser.add_argument("--out", required=True, help="output directory (a Hugging Face checkpoint when done)")
    add_config_flags(parser, SFTConfig, _OWN_FLAGS)


def run(args: argparse.Namespace) -> int:
    from modeling.training.sft_config import SFTConfig

    check_checkpoint(args.policy, "policy")
    check_output(args.out)
    if args.epochs < 1 or args.batch_size < 1 or args.learning_rate <= 0 or args.max_length < 2 or args.max_steps < 0:
        raise InputError("need --epochs >= 1, --batch-size >= 1, --learning-rate > 0, --max-length >= 2 "
                         "and --max-steps >= 0")
    from modeling.training.sft import read_demonstrations, train_sft

    demonstrations = read_demonstrations(args.demonstrations)
    inputs = {"policy": str(Path(args.policy).resolve()), "demonstrations": str(Path(args.demonstrations).resolve()),
              "demonstrations_sha256": file_sha256(args.demonstrations), "demonstrations_count": len(demonstrations)}
    config = SFTConfig(output_dir=args.out, policy=args.policy, inputs=inputs,
                       **config_values(args, SFTConfig, _OWN_FLAGS))
    return train_and_report("sft", "step", set(), lambda progress: train_sft(config, demonstrations, progress))

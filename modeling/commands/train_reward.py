"""``python -m modeling train-reward``: rankings JSONL -> reward-model checkpoint directory."""
from __future__ import annotations

import argparse
from pathlib import Path

from modeling.commands._config_flags import add_config_flags, config_values
from modeling.commands.dpo import train_and_report
from modeling.errors import InputError

NAME = "train-reward"
HELP = ("train a Bradley-Terry reward model on K-way rankings (one forward pass per completion); "
        "--ensemble N / --ensemble-heads N train an ensemble")

_OWN_FLAGS = {"output_dir", "base_model"}  # given as --out / --base


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from modeling.training.reward_config import RewardConfig

    parser.add_argument("--rankings", required=True, help="rankings JSONL (prompt, completions, ranking, labeler)")
    parser.add_argument("--out", required=True, help="output directory (a Hugging Face checkpoint when done)")
    parser.add_argument("--base", default="", help="base checkpoint directory (default: the packaged MiniLM)")
    add_config_flags(parser, RewardConfig, _OWN_FLAGS)


def run(args: argparse.Namespace) -> int:
    from modeling.formats.rankings import read_rankings
    from modeling.training.reward_config import RewardConfig
    from modeling.training.reward_training import train_reward_model

    from modeling.training.reward_ensemble import check_ensemble_settings

    check_ensemble_settings(RewardConfig(ensemble=args.ensemble, ensemble_heads=args.ensemble_heads))
    rankings = read_rankings(args.rankings)
    from modeling.models.lora import is_checkpoint_dir

    if args.base and not is_checkpoint_dir(args.base):
        raise InputError("not a Hugging Face checkpoint directory (no config.json)", path=args.base)
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise InputError("output exists and is not a directory", path=args.out)
    values = config_values(args, RewardConfig, _OWN_FLAGS)
    config = RewardConfig(output_dir=args.out, base_model=args.base, **values)

    return train_and_report("train-reward", "step", {"reward/learning_rate"},
                            lambda progress: train_reward_model(config, rankings, progress))

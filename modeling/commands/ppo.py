"""``python -m modeling ppo``: policy + reward model + prompts JSONL -> improved policy checkpoint.

Under ``accelerate launch`` (DDP) the processes share each rollout batch by whole prompt groups
(:mod:`modeling.training.ppo`); only the main process prints the metrics line."""
from __future__ import annotations

import argparse
from pathlib import Path

from modeling.commands._config_flags import add_config_flags, config_values
from modeling.commands.dpo import (check_checkpoint, check_output, file_sha256,
                                   train_and_report)
from modeling.errors import InputError

NAME = "ppo"
HELP = ("run a PPO round against a reward model or ensemble (per-token KL penalty to the starting policy; "
        "optional conservative reward and stop rule against reward hacking)")

_OWN_FLAGS = {"output_dir", "policy", "reward_model", "inputs"}  # given as --out / --policy / --reward


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from modeling.training.ppo_config import PPOConfig

    parser.add_argument("--policy", required=True, help="policy checkpoint directory to improve (and the reference)")
    parser.add_argument("--reward", required=True, help="reward-model checkpoint or ensemble directory")
    parser.add_argument("--prompts", required=True, help='prompts JSONL: {"prompt": str, ...} per line')
    parser.add_argument("--out", required=True, help="output directory (a Hugging Face checkpoint when done)")
    add_config_flags(parser, PPOConfig, _OWN_FLAGS)


def check_guard_flags(args: argparse.Namespace) -> None:
    """InputError for a reward aggregate or stop rule that is no setting (module :mod:`modeling.training.ppo_guard`)."""
    from modeling.models.conservative_reward import aggregate_error

    error = aggregate_error(args.reward_aggregate, args.uwo_lambda)
    if error:
        raise InputError(error.replace("reward_aggregate", "--reward-aggregate").replace("uwo_lambda", "--uwo-lambda"))
    if args.stop_patience < 0 or not args.stop_spread_ratio >= 0:
        raise InputError("need --stop-patience >= 0 and --stop-spread-ratio >= 0 (0 = that rule off)")


def run(args: argparse.Namespace) -> int:
    from modeling.commands.sample import read_prompts
    from modeling.training.ppo import PPOConfig, train_ppo

    check_checkpoint(args.policy, "policy")
    from modeling.models.reward_ensemble import is_reward_ensemble_dir

    if not is_reward_ensemble_dir(args.reward):  # an ensemble: its members' scores, aggregated by --reward-aggregate
        check_checkpoint(args.reward, "reward-model")
    check_guard_flags(args)
    prompts = read_prompts(args.prompts)
    check_output(args.out)
    if min(args.iterations, args.rollout_batch_size, args.minibatch_size, args.ppo_epochs, args.max_new_tokens) < 1:
        raise InputError("need --iterations, --rollout-batch-size, --minibatch-size, --ppo-epochs, "
                         "--max-new-tokens >= 1")
    if args.samples_per_prompt < 1 or args.rollout_batch_size % args.samples_per_prompt:
        raise InputError("need --rollout-batch-size to be a multiple of --samples-per-prompt (>= 1)")
    if args.kl_beta < 0 or args.temperature <= 0 or args.learning_rate <= 0:
        raise InputError("need --kl-beta >= 0, --temperature > 0 and --learning-rate > 0")
    if args.ptx_demonstrations and not Path(args.ptx_demonstrations).is_file():
        raise InputError("no such demonstrations file", path=args.ptx_demonstrations)
    inputs = {"policy": str(Path(args.policy).resolve()), "reward_model": str(Path(args.reward).resolve()),
              "prompts": str(Path(args.prompts).resolve()), "prompts_sha256": file_sha256(args.prompts),
              "prompts_count": len(prompts)}
    config = PPOConfig(output_dir=args.out, policy=args.policy, reward_model=args.reward, inputs=inputs,
                       **config_values(args, PPOConfig, _OWN_FLAGS))
    return train_and_report("ppo", "iteration", {"ppo/beta", "perf/rollout_tokens_per_second",
                                                 "perf/update_tokens_per_second"},
                            lambda progress: train_ppo(config, prompts, progress))

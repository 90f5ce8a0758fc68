"""``python -m modeling dpo``: policy + rankings JSONL -> improved policy checkpoint directory."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

from modeling.commands._config_flags import add_config_flags, config_values
from modeling.training.distributed import is_main_process
from modeling.errors import InputError

NAME = "dpo"
HELP = "run a DPO round on K-way rankings (sigmoid, ipo or plackett_luce loss; frozen reference = --policy)"

_OWN_FLAGS = {"output_dir", "policy", "inputs", "labeler_weights"}  # --out / --policy / --labeler-weights FILE


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_checkpoint(path: str, what: str) -> None:
    """A full checkpoint (config.json) or a LoRA adapter directory (adapter_config.json)."""
    from modeling.models.lora import is_checkpoint_dir

    if not is_checkpoint_dir(path):
        raise InputError(f"not a {what} checkpoint directory (no config.json)", path=path)


def check_output(path: str) -> None:
    if Path(path).exists() and not Path(path).is_dir():
        raise InputError("output exists and is not a directory", path=path)


def progress_bar(desc: str, unit: str, hidden: set[str]):
    """A tqdm bar on stderr (rank 0 only) and the progress callback that moves it; with
    ``RLHF_PROGRESS=jsonl`` instead one ``{"event": "progress", "step", "total", "metrics"}`` line per step
    on stdout (rank 0 only), before the final metrics line. No bar then: its carriage-return output,
    read from the same pipe, would glue itself to the start of the next JSON line."""
    from tqdm import tqdm

    as_json = os.environ.get("RLHF_PROGRESS") == "jsonl" and is_main_process()
    bar = tqdm(desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, disable=not is_main_process() or as_json)

    def progress(step: int, total: int, metrics: dict) -> None:
        if as_json:  # for a program that relays progress (the web app's training worker: labeling/jobs/launch.py)
            print(json.dumps({"event": "progress", "step": step, "total": total, "metrics": metrics}), flush=True)
        bar.total = total
        bar.n = step
        bar.set_postfix({k.split("/")[-1]: round(v, 4) for k, v in metrics.items() if k not in hidden}, refresh=False)
        bar.refresh()

    return bar, progress


def train_and_report(desc: str, unit: str, hidden: set[str], train) -> int:
    """Run ``train(progress) -> (out, metrics)`` under a progress bar, then print the final metrics as one
    JSON line (rank 0 only under accelerate launch); the command's exit status."""
    bar, progress = progress_bar(desc, unit, hidden)
    try:
        out, metrics = train(progress)
    finally:
        bar.close()
    if is_main_process():
        final = {k: v for k, v in metrics.items() if k != "history"}
        print(json.dumps({"out": str(out), **final}, sort_keys=True))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from modeling.training.dpo_config import DPOConfig

    parser.add_argument("--policy", required=True, help="policy checkpoint directory to improve (and the reference)")
    parser.add_argument("--rankings", required=True, help="rankings JSONL (prompt, completions, ranking, labeler)")
    parser.add_argument("--out", required=True, help="output directory (a Hugging Face checkpoint when done)")
    parser.add_argument("--labeler-weights", default="", help="JSON file {labeler: weight >= 0}: each labeler's "
                        "pairs weigh this much (e.g. dpo_weights of a reward model's reward/labeler_reliability)")
    add_config_flags(parser, DPOConfig, _OWN_FLAGS)


def read_labeler_weights(path: str) -> dict[str, float]:
    """``{labeler: weight}`` from a JSON file; InputError for anything else or a negative weight."""
    import json

    if not path:
        return {}
    try:
        weights = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read labeler weights: {exc}", path=path) from None
    if not isinstance(weights, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in weights.values()):
        raise InputError("labeler weights must be a JSON object of labeler: number >= 0", path=path)
    return {str(k): float(v) for k, v in weights.items()}


def run(args: argparse.Namespace) -> int:
    from modeling.training.dpo import DPOConfig, train_dpo
    from modeling.training.policy_losses import DPO_LOSSES
    from modeling.formats.rankings import read_rankings

    check_checkpoint(args.policy, "policy")
    rankings = read_rankings(args.rankings)
    check_output(args.out)
    if args.loss_type not in DPO_LOSSES:
        raise InputError(f"--loss-type must be one of {', '.join(sorted(DPO_LOSSES))}, not {args.loss_type!r}")
    if args.beta <= 0 or args.completions_per_batch < 9 or args.learning_rate <= 0:
        raise InputError("need --beta > 0, --learning-rate > 0 and --completions-per-batch >= 9 (one K=9 group)")
    from modeling.training.dpo_guard import stop_rule_error

    if stop_rule_error(args):
        raise InputError(stop_rule_error(args))
    inputs = {"policy": str(Path(args.policy).resolve()), "rankings": str(Path(args.rankings).resolve()),
              "rankings_sha256": file_sha256(args.rankings), "rankings_count": len(rankings)}
    config = DPOConfig(output_dir=args.out, policy=args.policy, inputs=inputs,
                       labeler_weights=read_labeler_weights(args.labeler_weights),
                       **config_values(args, DPOConfig, _OWN_FLAGS))
    return train_and_report("dpo", "step", {"dpo/learning_rate"},
                            lambda progress: train_dpo(config, rankings, progress))

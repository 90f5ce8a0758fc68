"""``python -m modeling select``: the n most informative candidate tasks of a samples file.

Scores every line of the samples JSONL (``sample``'s output: a prompt and its completions) with a reward
model or ensemble (:func:`~modeling.models.reward_ensemble.load_reward_ensemble`) and picks n with
:func:`modeling.selection.select_tasks`. The output holds the chosen input lines unchanged, in rank order,
each with ``"selection": {"method", "score", "rank", "random_pick"}`` added, so whatever reads samples
reads it. ``--method random`` records each pick's uncertainty score too.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from modeling.errors import InputError

NAME = "select"
HELP = ("pick the n most informative tasks of a samples file under a reward ensemble "
        "(samples JSONL -> samples JSONL with a 'selection' field)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from modeling.selection import METHODS, SelectionConfig

    defaults = SelectionConfig()
    parser.add_argument("--reward", required=True,
                        help="reward checkpoint or ensemble directory (train-reward's --out)")
    parser.add_argument("--samples", required=True, help='candidate tasks, samples JSONL: {"prompt", "completions"}')
    parser.add_argument("--n", type=int, required=True, help="tasks to pick (1 to the number of candidates)")
    parser.add_argument("--out", required=True, help="chosen samples JSONL to write (replaced atomically)")
    parser.add_argument("--method", default=defaults.method, help=f"one of {', '.join(METHODS)}")
    parser.add_argument("--random-share", type=float, default=defaults.random_share,
                        help="share of the picks drawn uniformly from the pool (unbiased evaluation)")
    parser.add_argument("--diversity-penalty", type=float, default=defaults.diversity_penalty,
                        help="lambda: penalty per unit of prompt similarity to tasks already picked")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the random picks")
    parser.add_argument("--batch-size", type=int, default=32, help="tasks scored per forward pass")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")


def read_candidates(path: str) -> list[tuple[dict, object, list[str]]]:
    """(line as read, parsed prompt, completions) of each samples line; InputError names the first bad one."""
    from modeling.formats.conversation import parse_prompt
    from modeling.formats.jsonl import jsonl_records

    candidates = []
    for number, record in jsonl_records(path, "samples"):
        completions = record.get("completions") if isinstance(record, dict) else None
        if not isinstance(completions, list) or not all(isinstance(c, str) for c in completions):
            raise InputError("expected an object with a 'prompt' and a list of strings 'completions'",
                             path=path, line=number)
        if len(completions) < 2:
            raise InputError(f"{len(completions)} completions; a task needs at least 2", path=path, line=number)
        try:
            prompt = parse_prompt(record.get("prompt"))
        except ValueError as exc:
            raise InputError(str(exc), path=path, line=number) from None
        candidates.append((record, prompt, completions))
    if not candidates:
        raise InputError("no samples in file", path=path)
    return candidates


def member_scores_per_task(ensemble, candidates, batch_size: int, progress=None) -> list:
    """Each task's members' scores of its completions, (M, K) per task, scoring ``batch_size`` tasks at once."""
    per_task = []
    for start in range(0, len(candidates), batch_size):
        chunk = candidates[start : start + batch_size]
        prompts = [prompt for _, prompt, completions in chunk for _ in completions]
        texts = [text for _, _, completions in chunk for text in completions]
        scores = ensemble.member_scores(prompts, texts)  # (sum K, M)
        offset = 0
        for _, _, completions in chunk:
            per_task.append(scores[offset : offset + len(completions)].T)  # (M, K)
            offset += len(completions)
        if progress:
            progress(len(chunk))
    return per_task


def run(args: argparse.Namespace) -> int:
    from modeling.selection import SelectionConfig, check_selection_config

    config = SelectionConfig(method=args.method, random_share=args.random_share,
                             diversity_penalty=args.diversity_penalty, seed=args.seed)
    try:
        check_selection_config(config)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if args.n < 1 or args.batch_size < 1 or args.threads < 0:
        raise InputError("need --n >= 1, --batch-size >= 1 and --threads >= 0")
    reward = Path(args.reward)
    if not ((reward / "config.json").is_file() or (reward / "ensemble.json").is_file()):
        raise InputError("not a reward checkpoint or ensemble directory (no config.json or ensemble.json)",
                         path=args.reward)
    candidates = read_candidates(args.samples)
    if args.n > len(candidates):
        raise InputError(f"--n {args.n} is more than the {len(candidates)} candidate tasks", path=args.samples)
    if Path(args.out).is_dir():
        raise InputError("output is a directory", path=args.out)

    import torch
    from tqdm import tqdm

    from modeling.formats.conversation import prompt_text
    from modeling.formats.rankings import write_jsonl_atomic
    from modeling.models.reward_ensemble import load_reward_ensemble
    from modeling.models.sampling import policy_device
    from modeling.selection import select_tasks, task_informativeness

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        ensemble = load_reward_ensemble(reward, device=policy_device())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load the reward model: {exc}", path=args.reward) from None
    with tqdm(total=len(candidates), desc="select", unit="task") as bar:
        per_task = member_scores_per_task(ensemble, candidates, args.batch_size, bar.update)
    scored_by = "uncertainty" if config.method == "random" else config.method
    scores = [task_informativeness(s, scored_by) for s in per_task]
    picks = select_tasks(scores, [prompt_text(prompt) for _, prompt, _ in candidates], args.n, config)
    records = [{**candidates[pick.index][0], "selection": pick.to_json()} for pick in picks]
    write_jsonl_atomic(records, args.out)
    print(json.dumps({"out": args.out, "pool": len(candidates), "picked": len(picks), "members": ensemble.size,
                      "method": config.method, "random_picks": sum(p.random_pick for p in picks),
                      "mean_score_picked": sum(p.score for p in picks) / len(picks),
                      "mean_score_pool": sum(scores) / len(scores)}))
    return 0

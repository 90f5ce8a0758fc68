"""``python -m modeling simulate-labels``: rank sampled completions with simulated labelers."""
from __future__ import annotations

import argparse
import json
from itertools import combinations

NAME = "simulate-labels"
HELP = "rank each prompt's completions with N noisy simulated labelers (samples JSONL -> rankings JSONL)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from modeling.simulation.oracle import LabelerConfig

    defaults = LabelerConfig()
    parser.add_argument("--samples", required=True, help='samples JSONL: {"prompt": str, "completions": [str, ...]}')
    parser.add_argument("--out", required=True, help="rankings JSONL to write (replaced atomically)")
    parser.add_argument("--labelers", type=int, default=3, help="simulated labelers; each ranks every prompt")
    parser.add_argument("--noise", type=float, default=defaults.noise, help="std of each labeler's score noise")
    parser.add_argument("--tie-threshold", type=float, default=defaults.tie_threshold,
                        help="perceived scores closer than this are tied")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="base seed of the labelers' noise")


def read_samples(path: str) -> list[tuple[str, list[str]]]:
    """(prompt, completions) of each samples-JSONL line whose prompt a gold scorer can judge.

    Raises InputError naming the first bad line: malformed, fewer than 2 or more than 9
    completions, or a prompt that fits no instruction template.
    """
    from modeling.formats.conversation import last_user_message, parse_prompt
    from modeling.errors import InputError
    from modeling.simulation.instructions import instruction_type
    from modeling.formats.jsonl import jsonl_records

    samples = []
    for number, record in jsonl_records(path, "samples"):
        prompt, completions = (record.get("prompt"), record.get("completions")) if isinstance(record, dict) else (None, None)
        try:
            prompt = parse_prompt(prompt)
        except ValueError as exc:
            raise InputError(str(exc), path=path, line=number) from None
        if not isinstance(completions, list) or not all(isinstance(c, str) for c in completions):
            raise InputError("expected an object with a 'prompt' and list of strings 'completions'",
                             path=path, line=number)
        if not 2 <= len(completions) <= 9:
            raise InputError(f"{len(completions)} completions; a ranking needs 2 to 9", path=path, line=number)
        if instruction_type(last_user_message(prompt)) is None:
            raise InputError(f"no gold scorer for prompt {last_user_message(prompt)[:60]!r}", path=path, line=number)
        samples.append((prompt, completions))
    if not samples:
        raise InputError("no samples in file", path=path)
    return samples


def run(args: argparse.Namespace) -> int:
    from modeling.formats.conversation import prompt_to_json
    from modeling.errors import InputError
    from modeling.simulation.oracle import LabelerConfig, SimulatedLabeler, agreement_rate
    from modeling.formats.rankings import write_jsonl_atomic

    if args.labelers < 1 or args.noise < 0 or args.tie_threshold < 0:
        raise InputError("need --labelers >= 1, --noise >= 0 and --tie-threshold >= 0")
    samples = read_samples(args.samples)
    config = LabelerConfig(noise=args.noise, tie_threshold=args.tie_threshold, seed=args.seed)
    labelers = [SimulatedLabeler(f"sim-{i}", config) for i in range(args.labelers)]
    rankings = {labeler.name: [labeler.rank(p, c) for p, c in samples] for labeler in labelers}
    records = [{"prompt": prompt_to_json(prompt), "completions": completions, "ranking": rankings[labeler.name][row],
                "labeler": labeler.name}
               for row, (prompt, completions) in enumerate(samples) for labeler in labelers]
    write_jsonl_atomic(records, args.out)
    pairs = list(combinations(rankings.values(), 2))
    agreement = sum(agreement_rate(a, b) for a, b in pairs) / len(pairs) if pairs else None
    print(json.dumps({"out": args.out, "rankings": len(records), "labelers": args.labelers,
                      "pairwise_agreement": agreement}))
    return 0

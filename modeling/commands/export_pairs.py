"""``python -m modeling export-pairs``: rankings JSONL -> TRL pairs JSONL (prompt, chosen, rejected)."""
from __future__ import annotations

import argparse
import json

NAME = "export-pairs"
HELP = "expand K-way rankings into TRL's prompt/chosen/rejected pairs (ties dropped)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rankings", required=True, help="rankings JSONL (prompt, completions, ranking, labeler)")
    parser.add_argument("--out", required=True, help="pairs JSONL to write (replaced atomically)")


def run(args: argparse.Namespace) -> int:
    from modeling.formats.rankings import read_rankings, write_pairs

    rankings = read_rankings(args.rankings)
    count = write_pairs(rankings, args.out)
    print(json.dumps({"out": args.out, "pairs": count, "rankings": len(rankings)}))
    return 0

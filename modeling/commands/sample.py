"""``python -m modeling sample``: K distinct completions per prompt from a policy checkpoint.

Under ``accelerate launch`` each process samples every ``world_size``-th prompt with seed
``seed + rank`` and the main process writes them all in the prompts file's order: the same inputs,
seed and process count give the same file (another process count draws other samples)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "sample"
HELP = "sample K distinct completions per prompt from a policy checkpoint (prompts JSONL -> samples JSONL)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, help="policy checkpoint directory (save_pretrained format)")
    parser.add_argument("--prompts", required=True, help='prompts JSONL: {"prompt": str | [message, ...], ...} per line')
    parser.add_argument("--out", required=True, help="samples JSONL to write (replaced atomically)")
    parser.add_argument("--k", type=int, default=4, help="completions per prompt (2 to 9 for labeling)")
    parser.add_argument("--temperature", type=float, default=1.0, help="softmax temperature")
    parser.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling probability mass")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="longest completion, in tokens")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--batch-size", type=int, default=32, help="prompts per generate() call (x k sequences)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--backend", default="generate", choices=("generate", "vllm", "auto"),
                        help="what draws the samples: generate() here (default), a vLLM engine (needs "
                             "RLHF_VLLM_PYTHON and a GPU), or auto (vllm when it can run)")


def read_prompts(path: str) -> list:
    """The ``prompt`` (a string or a conversation) of each line of a prompts JSONL file; InputError names
    the first bad line."""
    from modeling.formats.conversation import parse_prompt
    from modeling.errors import InputError
    from modeling.formats.jsonl import jsonl_records

    prompts = []
    for number, record in jsonl_records(path, "prompts"):
        if not isinstance(record, dict) or "prompt" not in record:
            raise InputError("expected an object with a 'prompt' (a string or a list of messages)", path=path,
                             line=number)
        try:
            prompts.append(parse_prompt(record["prompt"]))
        except ValueError as exc:
            raise InputError(str(exc), path=path, line=number) from None
    if not prompts:
        raise InputError("no prompts in file", path=path)
    return prompts


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from modeling.errors import InputError

    if not (Path(args.policy) / "config.json").is_file():
        raise InputError("not a policy checkpoint (no config.json)", path=args.policy)
    if args.k < 1 or args.temperature <= 0 or not 0 < args.top_p <= 1 or args.max_new_tokens < 1 \
            or args.batch_size < 1 or args.threads < 0:
        raise InputError("need --k >= 1, --temperature > 0, 0 < --top-p <= 1, --max-new-tokens >= 1, "
                         "--batch-size >= 1 and --threads >= 0")
    prompts = read_prompts(args.prompts)

    import torch

    from modeling.models.policy_model import load_policy
    from modeling.formats.rankings import write_jsonl_atomic
    from modeling.models.sampling import policy_device, sample, sample_checkpoint
    from modeling.models.vllm_sampling import backend_choose
    from modeling.training.distributed import Distributed

    if args.threads:
        torch.set_num_threads(args.threads)
    dist = Distributed()  # under accelerate launch: each process samples every world_size-th prompt
    backend = backend_choose(args.backend)
    if backend == "vllm" and dist.world_size > 1:
        raise InputError("the vllm backend runs as one process (vLLM spreads a model over GPUs itself); "
                         "run sample without accelerate launch")
    mine = list(range(dist.rank, len(prompts), dist.world_size))
    options = dict(k=args.k, temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                   seed=args.seed + dist.rank, prompt_batch_size=args.batch_size)
    with tqdm(total=len(mine), desc="sample", unit="prompt", disable=not dist.is_main) as bar:
        def progress(done, total):
            bar.update(done - bar.n)

        if backend == "vllm":
            groups = sample_checkpoint(args.policy, [prompts[i] for i in mine], backend="vllm", progress=progress,
                                       **options)
        else:
            policy, tokenizer = load_policy(args.policy, dist.device if dist.world_size > 1 else policy_device())
            groups = sample(policy, tokenizer, [prompts[i] for i in mine], progress=progress, **options)
    records = []
    for group in groups:
        record = group.to_json()
        record["settings"]["policy"] = str(args.policy)
        records.append(record)
    records = _in_prompt_order(dist, list(zip(mine, records)))
    if not dist.is_main:
        return 0
    write_jsonl_atomic(records, args.out)
    short = sum(len(r["completions"]) < args.k for r in records)
    print(json.dumps({"out": args.out, "prompts": len(records), "k": args.k, "prompts_short_of_k": short,
                      "world_size": dist.world_size}))
    return 0


def _in_prompt_order(dist, numbered: list[tuple[int, dict]]) -> list[dict]:
    """Every process's ``(prompt index, record)`` pairs, gathered on all and put back in file order."""
    if dist.world_size > 1:
        from accelerate.utils import gather_object

        numbered = gather_object(numbered)
    return [record for _, record in sorted(numbered, key=lambda pair: pair[0])]

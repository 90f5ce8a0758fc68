"""The vLLM side of :mod:`modeling.models.vllm_sampling`, run by the Python of the vLLM environment.

It imports nothing of this project (that environment has vLLM's own torch and transformers, not the
project's). Started as ``python vllm_worker.py --model DIR``, it loads the model once, writes
``{"ready": true, "vllm": VERSION}`` on stdout, then for each request line
``{"prompts": [[token id, ...], ...], "n", "temperature", "top_p", "max_tokens", "seeds": [...],
"stop_token_ids": [...]}`` writes ``{"outputs": [[[token id, ...] x n] per prompt]}``, and stops on
``{"stop": true}`` or end of input. A failed request answers ``{"error": "..."}``. vLLM's own logging
goes to stderr, so stdout carries only these lines.
"""
import argparse
import json
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a full Hugging Face checkpoint directory")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.85)
    parser.add_argument("--max-model-len", type=int, default=None)
    args = parser.parse_args()
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # anything else printed goes to the log

    import vllm
    from vllm import LLM, SamplingParams

    engine = LLM(model=args.model, dtype=args.dtype, gpu_memory_utilization=args.gpu_memory_utilization,
                 max_model_len=args.max_model_len, enable_prefix_caching=True)
    answers.write(json.dumps({"ready": True, "vllm": vllm.__version__}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("stop"):
            break
        try:
            params = [SamplingParams(n=request["n"], temperature=request["temperature"], top_p=request["top_p"],
                                     top_k=0, max_tokens=request["max_tokens"], seed=seed,
                                     stop_token_ids=request["stop_token_ids"]) for seed in request["seeds"]]
            results = engine.generate([{"prompt_token_ids": ids} for ids in request["prompts"]], params,
                                      use_tqdm=False)
            outputs = [[list(sequence.token_ids) for sequence in result.outputs] for result in results]
            answers.write(json.dumps({"outputs": outputs}) + "\n")
        except Exception as exc:  # noqa: BLE001 - reported to the caller, which raises it
            answers.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

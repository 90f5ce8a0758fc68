"""Sampling a round's K completions with vLLM, the serving engine teams run at scale (optional).

vLLM pins its own torch and transformers (vllm 0.33: torch 2.14, transformers < 5.21; this project
pins torch 2.13 and transformers 5.23), so it cannot share the project's environment. It runs in its
own (``make vllm`` builds ``.venv-vllm`` from ``requirements-vllm.txt``; a GPU machine only), named by
``RLHF_VLLM_PYTHON``, as a coprocess: ``modeling/models/vllm_worker.py`` loads the policy once and
answers one JSON line per request with token ids. This process tokenizes the prompts with the
policy's own chat template, decodes, and applies the same re-draw and distinct-completion rule as
``generate()`` (:func:`modeling.models.sampling.sample_rounds`): only the draws differ.

Backends (``--backend`` of ``python -m modeling sample``, ``RLHF_SAMPLER`` in the app):
``generate`` (the default: the policy in this process), ``vllm`` (refused with one line unless
``RLHF_VLLM_PYTHON`` names a Python and a CUDA device is visible), ``auto`` (vllm when both hold,
else generate). The backend used is recorded in each group's settings.

Seeds: prompt i (its place in the prompts given) in re-draw round r draws with vLLM's per-request
seed ``seed + 1_000_003 * r + i``, so the same inputs, seed, engine and GPU give the same texts (other
texts than ``generate()`` draws: the engines' random streams differ). A LoRA adapter checkpoint is
merged into its base in a temporary directory first (vLLM loads full checkpoints).
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from modeling.errors import InputError

BACKENDS = ("generate", "vllm", "auto")
PYTHON_SETTING = "RLHF_VLLM_PYTHON"
WORKER = Path(__file__).with_name("vllm_worker.py")
ROUND_SEED_STRIDE = 1_000_003
PROMPTS_PER_REQUEST = 256  # vLLM batches internally; this only paces the progress bar


def vllm_missing() -> str | None:
    """What the vllm backend lacks here, in words; None when it can run."""
    python = os.environ.get(PYTHON_SETTING, "")
    if not python:
        return f"{PYTHON_SETTING} naming the Python of an environment with vLLM (make vllm builds .venv-vllm)"
    if not Path(python).is_file():
        return f"{PYTHON_SETTING}={python} to exist"
    import torch

    if not torch.cuda.is_available():
        return "a CUDA device (none is visible)"
    return None


def backend_choose(requested: str) -> str:
    """``generate`` or ``vllm`` for a requested backend; InputError (one line) when it cannot run."""
    if requested not in BACKENDS:
        raise InputError(f"unknown sampling backend {requested!r}: use one of {', '.join(BACKENDS)}")
    if requested == "generate":
        return "generate"
    missing = vllm_missing()
    if missing is None:
        return "vllm"
    if requested == "auto":
        return "generate"
    raise InputError(f"the vllm sampling backend needs {missing}")


class VllmWorker:
    """The vLLM coprocess: one model load, then one JSON request and answer per line."""

    def __init__(self, model_dir: str, *, python: str | None = None, extra_args: tuple[str, ...] = ()):
        python = python or os.environ[PYTHON_SETTING]
        self.process = subprocess.Popen([python, str(WORKER), "--model", str(model_dir), *extra_args],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._read("before it was ready")

    def _read(self, when: str) -> dict:
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise RuntimeError(f"the vLLM worker exited with status {code} {when} (its log is above)")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the vLLM worker failed: {answer['error']}")
        return answer

    def draw(self, request: dict) -> list[list[list[int]]]:
        """Token ids of ``n`` sequences for each prompt of ``request``."""
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read("while sampling")["outputs"]

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.process.stdin.write(json.dumps({"stop": True}) + "\n")
                self.process.stdin.close()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@contextlib.contextmanager
def full_checkpoint(path: str):
    """``path``, or for a LoRA adapter directory its base with the adapter merged in (a temporary copy)."""
    from modeling.models.lora import is_adapter_dir

    if not is_adapter_dir(path):
        yield str(path)
        return
    from modeling.models.policy_model import load_policy

    model, tokenizer = load_policy(path, "cpu")
    with tempfile.TemporaryDirectory(prefix="vllm-merged-") as merged:
        model.merge_and_unload().save_pretrained(merged)
        tokenizer.save_pretrained(merged)
        yield merged


def sample_with_vllm(policy_path: str, tokenizer, prompts: list, settings,
                     progress: Callable[[int, int], None] | None = None, *, python: str | None = None) -> list:
    """K distinct completions per prompt drawn by a vLLM engine (``settings``: a SamplingSettings)."""
    from modeling.formats.chat_format import encode_prompt
    from modeling.models.sampling import sample_rounds
    from modeling.models.tokenizer import decode_completion

    groups = []
    with full_checkpoint(policy_path) as model_dir, VllmWorker(model_dir, python=python) as worker:
        for start in range(0, len(prompts), PROMPTS_PER_REQUEST):
            chunk = prompts[start:start + PROMPTS_PER_REQUEST]
            ids = [encode_prompt(tokenizer, prompt) for prompt in chunk]

            def draw(short: list[int], temperature: float, round_: int) -> list[list[str]]:
                outputs = worker.draw({
                    "prompts": [ids[i] for i in short], "n": settings.k, "temperature": temperature,
                    "top_p": settings.top_p, "max_tokens": settings.max_new_tokens,
                    "seeds": [settings.seed + ROUND_SEED_STRIDE * round_ + start + i for i in short],
                    "stop_token_ids": [tokenizer.eos_token_id],
                })
                return [[decode_completion(tokenizer, seq) for seq in seqs] for seqs in outputs]

            groups.extend(sample_rounds(chunk, settings, draw))
            if progress:
                progress(min(start + PROMPTS_PER_REQUEST, len(prompts)), len(prompts))
    return groups

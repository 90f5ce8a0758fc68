"""Tiny policy fixtures: a GPT-2 (hidden 16, 2 layers) with a real byte-level BPE tokenizer.

``tiny_policy_dir`` is an ordinary ``save_pretrained`` checkpoint written by the real bootstrap code
(a few SFT steps on the shipped demonstrations), so it loads with ``AutoModelForCausalLM`` /
``AutoTokenizer`` and uses the project's prompt format (:mod:`modeling.models.tokenizer`).
``tiny_tokenizer`` is that checkpoint's tokenizer. Both are built once per test session.
"""
from __future__ import annotations

import pytest

__all__ = ["tiny_policy_dir", "tiny_tokenizer", "tiny_policy", "TINY_DEMONSTRATIONS", "tiny_bootstrap_config"]

TINY_DEMONSTRATIONS = 240  # shipped demonstrations used for the tiny tokenizer and SFT
TINY_VOCAB = 400


def tiny_bootstrap_config(out_dir, **overrides):
    """A BootstrapConfig for the tiny size that trains in about a second."""
    from modeling.training.policy_bootstrap import BootstrapConfig

    settings = dict(out_dir=str(out_dir), size="tiny", steps=15, batch_size=16, learning_rate=1e-2,
                    warmup_steps=2, vocab_size=TINY_VOCAB, eval_prompts=0)
    settings.update(overrides)
    return BootstrapConfig(**settings)


@pytest.fixture(scope="session")
def tiny_policy_dir(tmp_path_factory):
    """Directory of a saved tiny GPT-2 policy and its tokenizer (read-only for tests: copy to change)."""
    from modeling.training.policy_bootstrap import DEMONSTRATIONS_PATH, load_demonstrations, train_policy

    demonstrations = load_demonstrations(DEMONSTRATIONS_PATH)[:TINY_DEMONSTRATIONS]
    out, _ = train_policy(tiny_bootstrap_config(tmp_path_factory.mktemp("tiny_policy") / "policy"), demonstrations)
    return out


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_policy_dir):
    """The tiny policy's trained BPE tokenizer (bos/eos/pad set, left padding)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_policy_dir)


@pytest.fixture
def tiny_policy(tiny_policy_dir):
    """A fresh copy of the tiny policy model, in eval mode; tests may change it freely."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_policy_dir).eval()

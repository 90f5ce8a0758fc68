"""Sequence log-probs count completion tokens only and do not depend on the padding side."""
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from modeling.formats.chat_format import encode_example
from modeling.models.logprobs import pad_batch, sequence_logprobs, token_logprobs

PAIRS = [
    ("List 3 fruits.", "1. apple\n2. pear\n3. plum"),
    ("What is 2 plus 2?", "2 plus 2 is 4."),
    ("How many legs does a duck have? Please answer in a full sentence.", "Two."),
]


@pytest.fixture(scope="module")
def policy(tiny_policy_dir):
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_pretrained(tiny_policy_dir).eval(), AutoTokenizer.from_pretrained(tiny_policy_dir)


def encoded(tokenizer, max_length=128):
    pairs = [encode_example(tokenizer, p, c, max_length) for p, c in PAIRS]
    return [ids for ids, _ in pairs], [n for _, n in pairs]


def test_left_and_right_padding_give_the_same_logprobs(policy):
    model, tokenizer = policy
    sequences, prompt_lengths = encoded(tokenizer)
    with torch.no_grad():
        right = sequence_logprobs(model, *pad_batch(sequences, prompt_lengths, tokenizer.pad_token_id, "right"))
        left = sequence_logprobs(model, *pad_batch(sequences, prompt_lengths, tokenizer.pad_token_id, "left"))
        alone = torch.cat([sequence_logprobs(model, *pad_batch([s], [n], tokenizer.pad_token_id))
                           for s, n in zip(sequences, prompt_lengths)])
    assert torch.allclose(left, right, atol=1e-5)
    assert torch.allclose(right, alone, atol=1e-5)
    assert (right < 0).all()


def test_only_completion_tokens_are_counted(policy):
    model, tokenizer = policy
    sequences, prompt_lengths = encoded(tokenizer)
    input_ids, attention_mask, completion_mask = pad_batch(sequences, prompt_lengths, tokenizer.pad_token_id)
    with torch.no_grad():
        per_token, mask = token_logprobs(model, input_ids, attention_mask, completion_mask)
        total = sequence_logprobs(model, input_ids, attention_mask, completion_mask)
        logits = model(input_ids=input_ids[:1, : len(sequences[0])]).logits[0]
    completion_lengths = [len(s) - n for s, n in zip(sequences, prompt_lengths)]
    assert mask.sum(dim=1).tolist() == completion_lengths
    # by hand for the first sequence: sum over t >= prompt length of log p(x_t | x_<t)
    logp = torch.log_softmax(logits, dim=-1)
    ids, n = sequences[0], prompt_lengths[0]
    expected = sum(logp[t - 1, ids[t]].item() for t in range(n, len(ids)))
    assert total[0].item() == pytest.approx(expected, abs=1e-4)
    assert torch.allclose(per_token.sum(dim=1), total)


def test_completion_ends_with_eos_and_truncation_keeps_a_completion_token(policy):
    _, tokenizer = policy
    ids, n = encode_example(tokenizer, "Say hi.", "hi", 128)
    assert ids[-1] == tokenizer.eos_token_id and n < len(ids)
    ids, n = encode_example(tokenizer, "word " * 100, "a long answer " * 20, 32)
    assert len(ids) == 32 and n == 31

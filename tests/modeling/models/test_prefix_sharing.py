"""Prefix sharing gives the plain path's log-probs, scores, DPO losses and gradients (float64), on a tiny
GPT-2 and a tiny Llama, with prompts and completions of different lengths, ties and several labelers."""
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2ForSequenceClassification

from modeling.formats.comparisons import group_rankings
from modeling.formats.rankings import parse_ranking
from modeling.models.logprobs import pad_batch, sequence_logprobs, token_logprobs
from modeling.models.prefix_sharing import (shared_prefix_scores, shared_prefix_sequence_logprobs,
                                            shared_prefix_token_logprobs, split_shared_prefixes)
from modeling.models.reward_model import score_sequences
from modeling.training.dpo import DPOConfig, dpo_batch_loss, tokenize_policy_groups

LONG_CHAT = [{"role": "system", "content": "You are a careful assistant. Answer briefly and name your sources."},
             {"role": "user", "content": "What is the capital of France?"},
             {"role": "assistant", "content": "Paris."},
             {"role": "user", "content": "And how many people live there, roughly?"}]
RECORDS = [  # prompts of three lengths; ties; two labelers on one group; one prompt in two groups
    {"prompt": "List 3 fruits.", "completions": ["apple, pear, plum", "Fruits.", "1. apple\n2. pear\n3. plum", "no"],
     "ranking": [[2], [0, 3], [1]], "labeler": "ann"},
    {"prompt": "List 3 fruits.", "completions": ["apple, pear, plum", "Fruits.", "1. apple\n2. pear\n3. plum", "no"],
     "ranking": [[0], [2], [1], [3]], "labeler": "bob"},
    {"prompt": "List 3 fruits.", "completions": ["kiwi", "A banana, an orange and a lemon."],
     "ranking": [[1], [0]], "labeler": "ann"},
    {"prompt": LONG_CHAT, "completions": ["About two million in the city itself.", "Many.", "12 million", "?"],
     "ranking": [[0, 2], [1], [3]], "labeler": "bob"},
    {"prompt": "Hi", "completions": ["Hello! How can I help you today?", "Hi."], "ranking": [[0], [1]],
     "labeler": "cy"},
]


@pytest.fixture(params=["gpt2", "llama"])
def policy(request, tiny_policy_dir, tiny_chat_model_dir):
    """(float64 model in eval mode, tokenizer): the tiny GPT-2 policy or the tiny ChatML Llama."""
    path = tiny_policy_dir if request.param == "gpt2" else tiny_chat_model_dir
    model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float64).eval()
    return model, AutoTokenizer.from_pretrained(path)


def _groups(tokenizer, max_length=256):
    groups = group_rankings([parse_ranking(r) for r in RECORDS])
    return groups, tokenize_policy_groups(groups, tokenizer, max_length)


def _sequences(groups, prompt_lengths):
    return ([ids for g in groups for ids in g.input_ids], [n for lengths in prompt_lengths for n in lengths])


def _gradients(model, loss):
    return [g if g is not None else torch.zeros_like(p)
            for g, p in zip(torch.autograd.grad(loss, list(model.parameters()), allow_unused=True),
                            model.parameters())]


def test_split_keeps_one_copy_of_each_prompt_and_counts_p_plus_sum_l_tokens():
    sequences = [[1, 2, 3, 9], [1, 2, 3, 8, 8], [1, 2, 3, 7], [5, 6], [4, 6]]
    batch = split_shared_prefixes(sequences, [3, 3, 3, 1, 1], pad_id=0)
    assert batch.prefix_ids.tolist() == [[1, 2], [0, 0]]  # "[]" (prompt of one token) is the second prefix
    assert batch.prefix_mask.tolist() == [[1, 1], [0, 0]]
    assert batch.prefix_index.tolist() == [0, 0, 0, 1, 1]
    assert batch.suffix_ids.tolist() == [[3, 9, 0], [3, 8, 8], [3, 7, 0], [5, 6, 0], [4, 6, 0]]
    assert batch.num_tokens == 2 + sum(len(s) - 2 for s in sequences[:3]) + 4


def test_shared_logprobs_and_gradients_equal_the_plain_path(policy):
    model, tokenizer = policy
    groups, prompt_lengths = _groups(tokenizer)
    sequences, lengths = _sequences(groups, prompt_lengths)
    assert len(set(lengths)) == 3 and len({len(s) - n for s, n in zip(sequences, lengths)}) > 3
    plain = sequence_logprobs(model, *pad_batch(sequences, lengths, tokenizer.pad_token_id))  # (N,)
    batch = split_shared_prefixes(sequences, lengths, tokenizer.pad_token_id)
    assert batch.prefix_ids.shape[0] == 3  # one prefix per distinct prompt: 14 sequences, 3 prompts
    shared = shared_prefix_sequence_logprobs(model, batch)
    torch.testing.assert_close(shared, plain, rtol=1e-6, atol=1e-5)
    weights = torch.linspace(-1.0, 2.0, len(sequences), dtype=plain.dtype)  # every row's gradient counts
    for a, b in zip(_gradients(model, (plain * weights).sum()), _gradients(model, (shared * weights).sum())):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


def test_shared_token_logprobs_are_the_plain_ones_of_the_completion_tokens(policy):
    model, tokenizer = policy
    groups, prompt_lengths = _groups(tokenizer)
    sequences, lengths = _sequences(groups, prompt_lengths)
    with torch.no_grad():
        plain, plain_mask = token_logprobs(model, *pad_batch(sequences, lengths, tokenizer.pad_token_id))
        shared, shared_mask = shared_prefix_token_logprobs(model, split_shared_prefixes(
            sequences, lengths, tokenizer.pad_token_id))
    for row, n in enumerate(lengths):
        completion = len(sequences[row]) - n
        assert plain_mask[row].sum() == shared_mask[row].sum() == completion
        torch.testing.assert_close(shared[row][shared_mask[row]], plain[row][plain_mask[row]], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("loss_type", ["sigmoid", "plackett_luce"])
def test_dpo_losses_and_gradients_equal_the_plain_path(policy, loss_type):
    model, tokenizer = policy
    groups, prompt_lengths = _groups(tokenizer)
    indexes = list(range(len(groups)))
    reference = [[-3.0 - 0.5 * k for k in range(len(g.completions))] for g in groups]
    outputs = {}
    for shared in (False, True):
        config = DPOConfig(loss_type=loss_type, beta=0.5, rpo_alpha=0.3, prefix_sharing=shared)
        out = dpo_batch_loss(model, groups, indexes, prompt_lengths, reference, config,
                             tokenizer.pad_token_id, "cpu")
        outputs[shared] = out, _gradients(model, out.loss)
    (plain, plain_grads), (shared, shared_grads) = outputs[False], outputs[True]
    assert plain.loss.item() > 0
    torch.testing.assert_close(shared.loss, plain.loss, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(shared.margin, plain.margin, rtol=1e-6, atol=1e-6)
    for a, b in zip(plain_grads, shared_grads):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


def test_decoder_reward_scores_and_gradients_equal_the_plain_path(tiny_tokenizer):
    torch.manual_seed(0)
    model = GPT2ForSequenceClassification(GPT2Config(vocab_size=len(tiny_tokenizer), n_embd=16, n_layer=2, n_head=2,
                                                     n_positions=256, num_labels=1,
                                                     pad_token_id=tiny_tokenizer.pad_token_id)).double().eval()
    groups, prompt_lengths = _groups(tiny_tokenizer)
    sequences, lengths = _sequences(groups, prompt_lengths)
    input_ids, attention_mask, _ = pad_batch(sequences, lengths, tiny_tokenizer.pad_token_id)
    plain = score_sequences(model, input_ids, attention_mask)
    shared = shared_prefix_scores(model, split_shared_prefixes(sequences, lengths, tiny_tokenizer.pad_token_id))
    torch.testing.assert_close(shared, plain, rtol=1e-6, atol=1e-6)
    weights = torch.linspace(-1.0, 2.0, len(sequences), dtype=plain.dtype)
    for a, b in zip(_gradients(model, (plain * weights).sum()), _gradients(model, (shared * weights).sum())):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


def test_a_ranking_tokenized_whole_shares_its_prompt_tokens_across_completions(tiny_tokenizer):
    """The split is exact only if every completion of a group starts with the same prompt tokens."""
    groups, prompt_lengths = _groups(tiny_tokenizer, max_length=24)  # the long chat prompt gets cut
    for group, lengths in zip(groups, prompt_lengths):
        prefixes = {tuple(ids[:n]) for ids, n in zip(group.input_ids, lengths)}
        assert len(prefixes) == 1

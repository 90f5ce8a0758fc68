"""Sampling K distinct completions per prompt from the tiny policy."""
from modeling.models.sampling import greedy_completions, sample
from modeling.formats.chat_format import encode_example, encode_prompt
from modeling.models.tokenizer import decode_completion

PROMPTS = ["List 3 fruits.", "What is 2 plus 2?", "Rewrite politely: Clean your room, you lazy slob."]


def test_k_distinct_completions_per_prompt(tiny_policy, tiny_tokenizer):
    groups = sample(tiny_policy, tiny_tokenizer, PROMPTS, k=4, max_new_tokens=6, seed=0, prompt_batch_size=2)
    assert [g.prompt for g in groups] == PROMPTS
    for group in groups:
        assert len(group.completions) == 4
        assert len(set(group.completions)) == 4


def test_same_seed_same_texts_other_seed_other_texts(tiny_policy, tiny_tokenizer):
    def texts(seed):
        return [g.completions for g in sample(tiny_policy, tiny_tokenizer, PROMPTS, k=3, max_new_tokens=6, seed=seed)]

    assert texts(7) == texts(7)
    assert texts(7) != texts(8)


def test_settings_are_recorded(tiny_policy, tiny_tokenizer):
    group = sample(tiny_policy, tiny_tokenizer, PROMPTS[:1], k=2, temperature=0.7, top_p=0.9,
                   max_new_tokens=5, seed=3)[0]
    assert group.settings == {"k": 2, "temperature": 0.7, "top_p": 0.9, "max_new_tokens": 5, "seed": 3,
                              "max_redraws": 4, "redraw_heat": 1.3, "prompt_batch_size": 32, "backend": "generate"}
    assert group.to_json() == {"prompt": PROMPTS[0], "completions": group.completions, "settings": group.settings}


def test_duplicates_are_redrawn_a_bounded_number_of_times(tiny_policy, tiny_tokenizer):
    # near-greedy single tokens: the policy can hardly produce 4 different texts
    group = sample(tiny_policy, tiny_tokenizer, PROMPTS[:1], k=4, temperature=0.01, max_new_tokens=1,
                   seed=0, max_redraws=2, redraw_heat=1.0)[0]
    assert group.redraws == 2
    assert 1 <= len(group.completions) < 4
    assert len(set(group.completions)) == len(group.completions)


def test_redraws_heat_up_until_a_confident_policy_varies(tiny_policy, tiny_tokenizer):
    group = sample(tiny_policy, tiny_tokenizer, PROMPTS[:1], k=4, temperature=0.01, max_new_tokens=1,
                   seed=0, max_redraws=12, redraw_heat=3.0)[0]
    assert len(set(group.completions)) == 4 and group.redraws > 0


def test_batched_left_padded_greedy_matches_one_prompt_at_a_time(tiny_policy, tiny_tokenizer):
    together = greedy_completions(tiny_policy, tiny_tokenizer, PROMPTS, max_new_tokens=8)
    alone = [greedy_completions(tiny_policy, tiny_tokenizer, [p], max_new_tokens=8)[0] for p in PROMPTS]
    assert together == alone


def test_completion_text_stops_at_eos(tiny_tokenizer):
    ids, prompt_length = encode_example(tiny_tokenizer, "List 2 fruits.", "1. apple\n2. pear")
    after = ids[prompt_length:] + tiny_tokenizer("User: more", add_special_tokens=False)["input_ids"]
    assert ids[:prompt_length] == encode_prompt(tiny_tokenizer, "List 2 fruits.")
    assert decode_completion(tiny_tokenizer, after) == "1. apple\n2. pear"


def test_a_generated_nul_is_stored_as_a_replacement_character(tiny_tokenizer):
    ids = tiny_tokenizer("a\x00b", add_special_tokens=False)["input_ids"] + [tiny_tokenizer.eos_token_id]
    assert decode_completion(tiny_tokenizer, ids) == "a\ufffdb"

"""One formatting function: the tokenizer's own chat template, its real EOS once, the prompt a prefix."""
import pytest
from transformers import AutoTokenizer

from modeling.formats.chat_format import encode_example, encode_prompt, left_padded_prompts, prompt_text
from modeling.formats.conversation import parse_prompt

CONVERSATION = parse_prompt([
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is 2 plus 2?"},
    {"role": "assistant", "content": "4."},
    {"role": "user", "content": "And 3 plus 3?"},
])


@pytest.fixture(scope="module")
def chatml(tiny_chat_model_dir):
    return AutoTokenizer.from_pretrained(tiny_chat_model_dir)


@pytest.mark.parametrize("prompt", ["List 2 fruits.", CONVERSATION])
def test_foreign_template_ends_the_response_with_its_eos_exactly_once(chatml, prompt):
    ids, prompt_length = encode_example(chatml, prompt, "1. apple\n2. pear")
    eos = chatml.convert_tokens_to_ids("<|im_end|>")
    assert chatml.eos_token_id == eos
    assert ids[prompt_length:].count(eos) == 1 and ids[-1] == eos
    assert ids[:prompt_length] == encode_prompt(chatml, prompt)
    assert "<|eos|>" not in chatml.decode(ids)
    assert chatml.decode(ids[prompt_length:]) == "1. apple\n2. pear<|im_end|>"
    assert chatml.decode(ids[:prompt_length]).endswith("<|im_start|>assistant\n")


def test_conversation_turns_keep_their_order_and_roles(chatml):
    text = prompt_text(chatml, CONVERSATION)
    assert text == ("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nWhat is 2 plus 2?<|im_end|>\n"
                    "<|im_start|>assistant\n4.<|im_end|>\n<|im_start|>user\nAnd 3 plus 3?<|im_end|>\n"
                    "<|im_start|>assistant\n")


def test_default_tokenizer_keeps_its_format(tiny_tokenizer):
    ids, n = encode_example(tiny_tokenizer, "List 2 fruits.", "1. apple")
    assert tiny_tokenizer.decode(ids) == "<|bos|>User: List 2 fruits.\nAssistant: 1. apple<|eos|>"
    ids, n = encode_example(tiny_tokenizer, CONVERSATION, "6.")
    assert tiny_tokenizer.decode(ids[:n]) == ("<|bos|>System: You are terse.\nUser: What is 2 plus 2?\n"
                                              "Assistant: 4.<|eos|>\nUser: And 3 plus 3?\nAssistant:")
    assert ids[n:].count(tiny_tokenizer.eos_token_id) == 1 and ids[-1] == tiny_tokenizer.eos_token_id


def test_plain_fallback_without_a_template(chatml):
    plain = AutoTokenizer.from_pretrained(chatml.name_or_path)
    plain.chat_template = None
    ids, n = encode_example(plain, CONVERSATION, "6.")
    assert plain.decode(ids[:n]) == ("System: You are terse.\n\nUser: What is 2 plus 2?\n\nAssistant: 4.\n\n"
                                     "User: And 3 plus 3?\n\nAssistant:")
    assert ids[-1] == plain.eos_token_id and plain.decode(ids[n:]) == " 6.<|im_end|>"


def test_truncation_cuts_the_response_first_and_keeps_one_token(chatml):
    ids, n = encode_example(chatml, "word " * 200, "a long answer " * 20, max_length=32)
    assert len(ids) == 32 and n == 31


def test_a_template_that_rewrites_earlier_turns_is_refused(chatml):
    odd = AutoTokenizer.from_pretrained(chatml.name_or_path)
    odd.chat_template = ("{% for m in messages %}{{ m['content'] }}{% endfor %}"
                         "{% if add_generation_prompt %}PROMPT{% endif %}")
    with pytest.raises(ValueError, match="does not render the prompt"):
        encode_example(odd, "hi", "there")


def test_a_tokenizer_without_eos_is_refused(chatml):
    no_eos = AutoTokenizer.from_pretrained(chatml.name_or_path)
    no_eos.eos_token = None
    with pytest.raises(ValueError, match="no EOS token"):
        encode_prompt(no_eos, "hi")


def test_left_padding_puts_every_prompt_flush_right(chatml):
    ids, mask = left_padded_prompts(chatml, ["hi", CONVERSATION])
    assert ids.shape == mask.shape and mask[:, -1].all()
    assert ids[0, mask[0].bool()].tolist() == encode_prompt(chatml, "hi")

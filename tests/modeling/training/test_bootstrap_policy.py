"""Bootstrap SFT on the tiny size: loss on response tokens only, loss goes down, checkpoint reloads."""
import json

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from modeling.formats.chat_format import encode_prompt
from modeling.training.policy_bootstrap import DEMONSTRATIONS_PATH, check_config, learning_rate_at, load_demonstrations, train_policy
from modeling.training.sft import collate, encode_demonstration
from tests.modeling.tiny_policy import tiny_bootstrap_config


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    demonstrations = load_demonstrations(DEMONSTRATIONS_PATH)[:200]
    config = tiny_bootstrap_config(tmp_path_factory.mktemp("bootstrap") / "policy", steps=40, eval_prompts=6)
    return train_policy(config, demonstrations)


def test_loss_goes_down(tiny_run):
    _, metrics = tiny_run
    history = [point["sft/loss"] for point in metrics["history"]]
    assert all(torch.isfinite(torch.tensor(history)))
    assert metrics["sft/final_loss"] < metrics["sft/first_loss"] - 0.5
    assert 0.0 <= metrics["sft/gold_score"] <= 1.0


def test_checkpoint_reloads_with_auto_classes(tiny_run):
    out, metrics = tiny_run
    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert model.config.n_embd == 16 and model.config.n_layer == 2
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) == (1, 2, 0)
    assert model.config.eos_token_id == tokenizer.eos_token_id
    assert json.loads((out / "metrics.json").read_text())["sft/first_loss"] == metrics["sft/first_loss"]
    saved = json.loads((out / "training_config.json").read_text())
    assert saved["values"]["size"] == "tiny" and saved["values"]["steps"] == 40
    assert saved["help"]["steps"]  # every field documents itself
    assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_reloaded_model_gives_the_same_logits(tiny_run):
    out, _ = tiny_run
    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = torch.tensor([encode_prompt(tokenizer, "List 3 fruits.")])
    first, second = (AutoModelForCausalLM.from_pretrained(out).eval() for _ in range(2))
    with torch.no_grad():
        assert torch.equal(first(ids).logits, second(ids).logits)


def test_only_response_tokens_are_targets(tiny_tokenizer):
    ids, labels = encode_demonstration(tiny_tokenizer, "List 2 fruits.", "1. apple\n2. pear", max_length=128)
    prompt_length = len(encode_prompt(tiny_tokenizer, "List 2 fruits."))
    assert labels[:prompt_length] == [-100] * prompt_length
    assert labels[prompt_length:] == ids[prompt_length:]
    assert ids[-1] == tiny_tokenizer.eos_token_id
    batch = collate([(ids, labels), (ids[:3], labels[:3])], pad_id=tiny_tokenizer.pad_token_id)
    assert batch["input_ids"].shape == (2, len(ids))
    assert batch["attention_mask"][1].tolist() == [1, 1, 1] + [0] * (len(ids) - 3)
    assert (batch["labels"][1, 3:] == -100).all()


def test_learning_rate_warms_up_then_decays():
    config = tiny_bootstrap_config("unused", steps=100, warmup_steps=10, learning_rate=1.0)
    rates = [learning_rate_at(step, config) for step in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert rates[10] > rates[50] > rates[99] >= 0.1


def test_refuses_to_overwrite_and_bad_sizes(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="already exists"):
        check_config(tiny_bootstrap_config(tmp_path / "full"))
    with pytest.raises(ValueError, match="size"):
        check_config(tiny_bootstrap_config(tmp_path / "new", size="huge"))
    check_config(tiny_bootstrap_config(tmp_path / "new"))

"""SFT on a foreign chat model: fixed answers become its greedy answers, and it stops at its own EOS."""
import json

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from modeling.formats.chat_format import encode_prompt
from modeling.cli import main
from modeling.formats.conversation import parse_prompt
from modeling.models.sampling import greedy_completions
from modeling.training.sft import Demonstration, read_demonstrations, train_sft
from modeling.training.sft_config import SFTConfig

ANSWERS = [
    ("What is 2 plus 2?", "4"),
    ([{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Name a fruit."}], "pear"),
    ("List 2 colors.", "red, blue"),
]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_sft_makes_greedy_sampling_reproduce_the_answers_and_stop(tiny_chat_model_dir, tmp_path):
    demonstrations = [Demonstration(parse_prompt(p), c) for p, c in ANSWERS] * 8
    config = SFTConfig(output_dir=str(tmp_path / "sft"), policy=str(tiny_chat_model_dir), epochs=60,
                       batch_size=8, learning_rate=1e-2, warmup_ratio=0.0, eval_fraction=0.0, device="cpu")
    out, metrics = train_sft(config, demonstrations)
    assert metrics["history"][-1]["sft/loss"] < 0.05 < 1.0 < metrics["sft/first_loss"]
    model, tokenizer = AutoModelForCausalLM.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    prompts = [parse_prompt(p) for p, _ in ANSWERS]
    assert greedy_completions(model, tokenizer, prompts, max_new_tokens=20) == [c for _, c in ANSWERS]
    # it stops: the greedy continuation ends with the real EOS id well before the limit
    ids = encode_prompt(tokenizer, prompts[0])
    generated = model.generate(input_ids=__import__("torch").tensor([ids]), max_new_tokens=20, do_sample=False,
                               eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)[0, len(ids):]
    assert generated.tolist()[-1] == tokenizer.eos_token_id and len(generated) < 20
    saved = json.loads((out / "training_config.json").read_text())
    assert saved["values"]["epochs"] == 60 and saved["help"]["epochs"]


def test_sft_command_trains_and_prints_metrics(tiny_chat_model_dir, tmp_path, capsys):
    demos = write_jsonl(tmp_path / "demos.jsonl", [{"prompt": p, "completion": c} for p, c in ANSWERS] * 10)
    out = tmp_path / "out"
    assert main(["sft", "--policy", str(tiny_chat_model_dir), "--demonstrations", demos, "--out", str(out),
                 "--epochs", "1", "--batch-size", "4", "--device", "cpu"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["out"] == str(out) and printed["sft/steps"] == 8 and printed["sft/eval_loss"] is not None
    assert (out / "model.safetensors").is_file()


@pytest.mark.parametrize("line, message", [
    ({"prompt": "hi"}, "'completion' must be a non-empty string"),
    ({"prompt": "", "completion": "x"}, "'prompt' must be a non-empty string"),
    ({"prompt": [{"role": "bot", "content": "x"}], "completion": "x"}, "'prompt[0].role' is 'bot'"),
    ({"prompt": [{"role": "user", "content": " "}], "completion": "x"}, "'prompt[0].content' must be a non-empty"),
    ({"prompt": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], "completion": "x"},
     "must end with a user message"),
    ({"prompt": [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}, {"role": "user", "content": "c"}],
      "completion": "x"}, "system message only as its first"),
    ({"prompt": [{"role": "user", "content": "a", "name": "x"}], "completion": "x"}, "unknown key"),
    ({"prompt": "x" * 100_001, "completion": "x"}, "longer than 100,000 characters"),
])
def test_bad_demonstrations_are_refused_with_the_line_and_nothing_written(tiny_chat_model_dir, tmp_path, capsys,
                                                                          line, message):
    demos = write_jsonl(tmp_path / "demos.jsonl", [{"prompt": "ok", "completion": "fine"}, line])
    out = tmp_path / "out"
    assert main(["sft", "--policy", str(tiny_chat_model_dir), "--demonstrations", demos, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {demos}:2: ")
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()
    with pytest.raises(Exception):
        read_demonstrations(demos)


def test_sft_refuses_a_missing_policy(tmp_path, capsys):
    demos = write_jsonl(tmp_path / "demos.jsonl", [{"prompt": "ok", "completion": "fine"}])
    assert main(["sft", "--policy", str(tmp_path / "nope"), "--demonstrations", demos, "--out",
                 str(tmp_path / "o")]) == 2
    assert "not a policy checkpoint" in capsys.readouterr().err

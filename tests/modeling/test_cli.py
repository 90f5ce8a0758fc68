"""``python -m modeling`` bootstrap-policy, sample and simulate-labels end to end on tiny inputs."""
import json

import pytest

from modeling.cli import main
from modeling.formats.rankings import read_rankings


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def last_json_line(text):
    return json.loads(text.strip().splitlines()[-1])


def test_bootstrap_policy_writes_a_checkpoint(tmp_path, capsys):
    demonstrations = write_jsonl(tmp_path / "demos.jsonl", [
        {"prompt": "What is 2 plus 2?", "completion": "2 plus 2 is 4."},
        {"prompt": "List 2 fruits.", "completion": "1. apple\n2. pear"},
        {"prompt": "Answer with yes or no: is a dog an animal?", "completion": "Yes."},
    ] * 10)
    out = tmp_path / "policy"
    code = main(["bootstrap-policy", "--out", str(out), "--size", "tiny", "--steps", "3",
                 "--eval-prompts", "0", "--demonstrations", demonstrations])
    assert code == 0
    assert {"config.json", "model.safetensors", "tokenizer.json", "training_config.json", "metrics.json"} <= {
        p.name for p in out.iterdir()}
    assert last_json_line(capsys.readouterr().out)["out"] == str(out)


def test_sample_then_simulate_labels(tmp_path, tiny_policy_dir, capsys):
    prompts = write_jsonl(tmp_path / "prompts.jsonl", [
        {"prompt": "List 3 fruits.", "id": "a"}, {"prompt": "What is 6 times 7?"},
        {"prompt": "What is the capital of France?", "metadata": {"source": "test"}}])
    samples = tmp_path / "samples.jsonl"
    assert main(["sample", "--policy", str(tiny_policy_dir), "--prompts", prompts, "--k", "3",
                 "--max-new-tokens", "6", "--out", str(samples)]) == 0
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    assert [line["prompt"] for line in lines] == ["List 3 fruits.", "What is 6 times 7?", "What is the capital of France?"]
    assert all(len(set(line["completions"])) == 3 for line in lines)
    assert lines[0]["settings"]["k"] == 3 and lines[0]["settings"]["policy"] == str(tiny_policy_dir)

    rankings = tmp_path / "rankings.jsonl"
    assert main(["simulate-labels", "--samples", str(samples), "--labelers", "2", "--out", str(rankings)]) == 0
    parsed = read_rankings(rankings)  # the reward model's own reader accepts the file
    assert len(parsed) == 6
    assert {r.labeler for r in parsed} == {"sim-0", "sim-1"}
    assert last_json_line(capsys.readouterr().out)["rankings"] == 6


BAD_INPUTS = [
    ("sample", "prompts.jsonl", '{"prompt": "List 3 fruits."}\n{"prompt": \n', ":2: not valid JSON"),
    ("sample", "prompts.jsonl", '{"text": "List 3 fruits."}\n', ":1: expected an object"),
    ("simulate-labels", "samples.jsonl", '{"prompt": "Tell me a joke.", "completions": ["a", "b"]}\n',
     ":1: no gold scorer"),
    ("simulate-labels", "samples.jsonl", '{"prompt": "List 3 fruits.", "completions": ["a"]}\n', ":1: 1 completions"),
    ("sample", "prompts.jsonl", '{"prompt": [{"role": "robot", "content": "hi"}]}\n', ":1: 'prompt[0].role' is 'robot'"),
    ("sample", "prompts.jsonl", '{"prompt": [{"role": "user", "content": ""}]}\n', ":1: 'prompt[0].content' must be"),
    ("sample", "prompts.jsonl", '{"prompt": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n',
     ":1: 'prompt' must end with a user message"),
    ("sample", "prompts.jsonl", '{"prompt": []}\n', ":1: 'prompt' must be a non-empty string or a non-empty list"),
    ("simulate-labels", "samples.jsonl", '{"prompt": [{"role": "system", "content": "x"}], "completions": ["a", "b"]}\n',
     ":1: 'prompt' must end with a user message"),
]


def test_conversations_go_through_sample_and_simulate_labels(tmp_path, tiny_chat_model_dir, capsys):
    conversation = [{"role": "system", "content": "You are brief."}, {"role": "user", "content": "List 3 fruits."}]
    prompts = write_jsonl(tmp_path / "prompts.jsonl", [{"prompt": conversation}, {"prompt": "What is 6 times 7?"}])
    samples = tmp_path / "samples.jsonl"
    assert main(["sample", "--policy", str(tiny_chat_model_dir), "--prompts", prompts, "--k", "2",
                 "--max-new-tokens", "4", "--out", str(samples)]) == 0
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    assert lines[0]["prompt"] == conversation and lines[1]["prompt"] == "What is 6 times 7?"
    rankings = tmp_path / "rankings.jsonl"
    assert main(["simulate-labels", "--samples", str(samples), "--labelers", "2", "--out", str(rankings)]) == 0
    parsed = read_rankings(rankings)
    assert parsed[0].prompt[-1].content == "List 3 fruits." and parsed[0].prompt[0].role == "system"
    assert json.loads(rankings.read_text().splitlines()[0])["prompt"] == conversation


@pytest.mark.parametrize("command, name, content, message", BAD_INPUTS)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, tiny_policy_dir, capsys,
                                                            command, name, content, message):
    (tmp_path / name).write_text(content)
    out = tmp_path / "out.jsonl"
    source = {"sample": "--prompts", "simulate-labels": "--samples"}[command]
    extra = ["--policy", str(tiny_policy_dir)] if command == "sample" else []
    assert main([command, source, str(tmp_path / name), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_bootstrap_policy_refuses_a_non_empty_out_dir(tmp_path, capsys):
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "keep.txt").write_text("x")
    assert main(["bootstrap-policy", "--out", str(tmp_path / "policy"), "--size", "tiny", "--steps", "1"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "policy").iterdir()] == ["keep.txt"]

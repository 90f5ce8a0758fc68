"""train-reward and export-pairs end to end through ``python -m modeling`` (in process)."""
from __future__ import annotations

import json
from pathlib import Path

from modeling.cli import main
from tests.modeling.tiny_reward import write_toy_rankings


def test_export_pairs(tmp_path, capsys):
    rankings = write_toy_rankings(tmp_path / "r.jsonl", n_prompts=5, k=4)
    out = tmp_path / "pairs.jsonl"
    assert main(["export-pairs", "--rankings", rankings, "--out", str(out)]) == 0
    pairs = [json.loads(line) for line in out.read_text().splitlines()]
    assert pairs and set(pairs[0]) == {"prompt", "chosen", "rejected"}
    assert json.loads(capsys.readouterr().out)["pairs"] == len(pairs)


def test_train_reward_end_to_end(tmp_path, capsys, tiny_bert_path):
    rankings = write_toy_rankings(tmp_path / "r.jsonl", n_prompts=10, k=4)
    out = tmp_path / "rm"
    code = main(["train-reward", "--rankings", rankings, "--base", tiny_bert_path, "--out", str(out),
                 "--epochs", "1", "--max-length", "32", "--completions-per-batch", "16", "--no-disable-dropout"])
    assert code == 0
    captured = capsys.readouterr()
    final = json.loads(captured.out.strip().splitlines()[-1])
    assert final["out"] == str(out) and 0.0 <= final["reward/accuracy"] <= 1.0
    assert "train-reward" in captured.err  # the progress bar
    assert {"config.json", "model.safetensors", "training_config.json", "metrics.json"} <= {p.name for p in out.iterdir()}
    config = json.loads((out / "training_config.json").read_text())
    assert config["values"]["disable_dropout"] is False and config["help"]["max_length"]


def test_train_reward_with_lora_writes_an_adapter_with_the_score_head(tmp_path, capsys, tiny_bert_path):
    rankings = write_toy_rankings(tmp_path / "r.jsonl", n_prompts=10, k=4)
    out = tmp_path / "rm"
    code = main(["train-reward", "--rankings", rankings, "--base", tiny_bert_path, "--out", str(out),
                 "--max-length", "32", "--completions-per-batch", "16", "--lora-r", "4", "--merge"])
    assert code == 0
    capsys.readouterr()
    adapter = json.loads((out / "adapter_config.json").read_text())
    assert "classifier" in adapter["modules_to_save"] and adapter["base_model_name_or_path"] == str(
        Path(tiny_bert_path).resolve())
    assert not (out / "config.json").exists() and (out / "merged" / "config.json").is_file()
    assert json.loads((out / "training_config.json").read_text())["values"]["lora_r"] == 4


def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "p", "completions": ["a", "b"], "ranking": [[0], [5]], "labeler": "x"}) + "\n")
    for argv in (["train-reward", "--rankings", str(bad), "--out", str(tmp_path / "rm")],
                 ["export-pairs", "--rankings", str(bad), "--out", str(tmp_path / "pairs.jsonl")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"error: {bad}:1: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


def test_all_ties_is_bad_input(tmp_path, capsys, tiny_bert_path):
    ties = tmp_path / "ties.jsonl"
    ties.write_text("".join(json.dumps({"prompt": f"p{i}", "completions": ["a", "b"], "ranking": [[0, 1]],
                                        "labeler": "x"}) + "\n" for i in range(3)))
    assert main(["train-reward", "--rankings", str(ties), "--base", tiny_bert_path,
                 "--out", str(tmp_path / "rm")]) == 2
    assert "full tie" in capsys.readouterr().err
    assert not (tmp_path / "rm").exists()

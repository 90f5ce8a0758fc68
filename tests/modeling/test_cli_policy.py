"""``python -m modeling dpo`` and ``ppo``: a JSON metrics line on success, exit 2 and nothing written on bad input."""
import json
from pathlib import Path

from modeling.cli import main
from tests.modeling.tiny_reward import write_toy_rankings


def last_json_line(text):
    return json.loads(text.strip().splitlines()[-1])


def test_dpo_command_trains_and_prints_metrics(tiny_policy_dir, tmp_path, capsys):
    rankings = write_toy_rankings(tmp_path / "rankings.jsonl", n_prompts=8)
    out = tmp_path / "dpo"
    code = main(["dpo", "--policy", str(tiny_policy_dir), "--rankings", rankings, "--out", str(out),
                 "--loss-type", "plackett_luce", "--kl-prompts", "2", "--kl-max-new-tokens", "4"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    metrics = last_json_line(captured.out)
    assert metrics["out"] == str(out) and "dpo/loss" in metrics and "dpo/kl" in metrics
    assert "dpo" in captured.err  # the progress bar
    saved = json.loads((out / "training_config.json").read_text())
    assert saved["values"]["inputs"]["rankings_count"] == 8 + 4  # toy file: every other prompt has 2 labelers
    assert len(saved["values"]["inputs"]["rankings_sha256"]) == 64


def test_dpo_command_rejects_a_bad_rankings_line(tiny_policy_dir, tmp_path, capsys):
    bad = tmp_path / "rankings.jsonl"
    bad.write_text('{"prompt": "p", "completions": ["a", "b"], "ranking": [[0]], "labeler": "x"}\n')
    out = tmp_path / "dpo"
    assert main(["dpo", "--policy", str(tiny_policy_dir), "--rankings", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{bad}:1:" in err[0]
    assert not out.exists()


def test_dpo_command_rejects_an_unknown_loss(tiny_policy_dir, tmp_path, capsys):
    rankings = write_toy_rankings(tmp_path / "rankings.jsonl", n_prompts=2)
    code = main(["dpo", "--policy", str(tiny_policy_dir), "--rankings", rankings, "--out", str(tmp_path / "o"),
                 "--loss-type", "hinge"])
    assert code == 2 and "loss-type" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_ppo_command_trains_and_prints_metrics(tiny_policy_dir, tiny_bert_path, tmp_path, capsys):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"List {n} fruits."}) + "\n" for n in range(2, 6)))
    out = tmp_path / "ppo"
    code = main(["ppo", "--policy", str(tiny_policy_dir), "--reward", str(tiny_bert_path), "--prompts", str(prompts),
                 "--out", str(out), "--iterations", "1", "--rollout-batch-size", "4", "--minibatch-size", "2",
                 "--max-new-tokens", "6", "--ppo-epochs", "1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    metrics = last_json_line(captured.out)
    assert metrics["ppo/iterations"] == 1 and "ppo/kl" in metrics and "ppo/reward" in metrics
    assert (Path(out) / "model.safetensors").is_file()


def test_ppo_command_rejects_bad_prompts_and_a_missing_reward_model(tiny_policy_dir, tmp_path, capsys):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "ok"}\n{"text": "no prompt key"}\n')
    out = tmp_path / "ppo"
    args = ["ppo", "--policy", str(tiny_policy_dir), "--prompts", str(prompts), "--out", str(out)]
    assert main(args + ["--reward", str(tiny_policy_dir)]) == 2
    assert f"{prompts}:2:" in capsys.readouterr().err
    assert main(args + ["--reward", str(tmp_path / "nowhere")]) == 2
    assert "reward-model" in capsys.readouterr().err
    prompts.write_text('{"prompt": "ok"}\n')
    assert main(args + ["--reward", str(tiny_policy_dir), "--rollout-batch-size", "6", "--samples-per-prompt", "4"]) == 2
    assert "multiple of --samples-per-prompt" in capsys.readouterr().err
    assert not out.exists()

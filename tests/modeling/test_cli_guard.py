"""``python -m modeling ppo`` with an ensemble, a conservative reward and the stop rule; bad guard flags."""
import json

import pytest

from modeling.cli import main
from tests.modeling.models.test_reward_ensemble import _two_member_ensemble


def _prompts(tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"List {n} fruits."}) + "\n" for n in range(2, 6)))
    return prompts


def test_ppo_on_an_ensemble_dir_with_a_conservative_reward_prints_the_guard(tiny_policy_dir, tiny_bert_path,
                                                                           tmp_path, capsys):
    ensemble = _two_member_ensemble(tmp_path, tiny_bert_path)
    code = main(["ppo", "--policy", str(tiny_policy_dir), "--reward", str(ensemble), "--prompts",
                 str(_prompts(tmp_path)), "--out", str(tmp_path / "ppo"), "--iterations", "2",
                 "--rollout-batch-size", "4", "--minibatch-size", "2", "--max-new-tokens", "6", "--ppo-epochs", "1",
                 "--reward-aggregate", "uwo", "--uwo-lambda", "0.5", "--stop-patience", "3",
                 "--stop-spread-ratio", "4"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    metrics = json.loads(captured.out.strip().splitlines()[-1])
    assert metrics["guard/reward_members"] == 2 and metrics["guard/reward_aggregate"] == "uwo"
    assert metrics["guard/stopped"] in (True, False) and "guard/best_iteration" in metrics
    assert metrics["ppo/proxy_reward"] - metrics["ppo/conservative_reward"] == pytest.approx(
        0.5 * metrics["ppo/spread"], abs=1e-5)  # rollout means: uwo = mean - lambda * spread per response
    assert metrics["ppo/spread"] > 0


@pytest.mark.parametrize("flags, message", [
    (["--reward-aggregate", "median"], "--reward-aggregate must be one of mean, min, uwo, not 'median'"),
    (["--reward-aggregate", "uwo", "--uwo-lambda", "-1"], "--uwo-lambda must be >= 0, not -1.0"),
    (["--stop-patience", "-2"], "need --stop-patience >= 0"),
    (["--stop-spread-ratio", "-0.5"], "--stop-spread-ratio >= 0"),
])
def test_bad_guard_flags_are_one_line_and_change_nothing(tiny_policy_dir, tmp_path, capsys, flags, message):
    out = tmp_path / "ppo"
    code = main(["ppo", "--policy", str(tiny_policy_dir), "--reward", str(tiny_policy_dir), "--prompts",
                 str(_prompts(tmp_path)), "--out", str(out)] + flags)
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_dpo_bad_stop_settings_are_one_line_and_change_nothing(tiny_policy_dir, tmp_path, capsys):
    from tests.modeling.tiny_reward import write_toy_rankings

    rankings = write_toy_rankings(tmp_path / "rankings.jsonl")
    out = tmp_path / "dpo"
    code = main(["dpo", "--policy", str(tiny_policy_dir), "--rankings", rankings, "--out", str(out),
                 "--stop-patience", "2", "--heldout-fraction", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "need 0 < --heldout-fraction < 1 with --stop-patience, not 0.0" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()

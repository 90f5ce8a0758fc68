"""DPO rounds on the tiny policy: the margin rises, every loss type trains, a killed run resumes."""
import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from modeling.training.dpo import REFERENCE_FILE, DPOConfig, train_dpo
from modeling.formats.rankings import Ranking, parse_ranking
from tests.modeling.tiny_reward import toy_ranking_records


@pytest.fixture(scope="module")
def rankings():
    return [parse_ranking(r) for r in toy_ranking_records(16, 4)]


def config(policy, out, **overrides):
    settings = dict(output_dir=str(out), policy=str(policy), learning_rate=3e-3, epochs=1, completions_per_batch=16,
                    kl_prompts=0, seed=0)
    settings.update(overrides)
    return DPOConfig(**settings)


def parameters(path):
    return {k: v.clone() for k, v in AutoModelForCausalLM.from_pretrained(path).state_dict().items()}


def test_one_epoch_raises_the_margin_and_saves_a_loadable_checkpoint(tiny_policy_dir, rankings, tmp_path):
    seen = []
    out, metrics = train_dpo(config(tiny_policy_dir, tmp_path / "dpo", kl_prompts=4, kl_max_new_tokens=8), rankings,
                             lambda step, total, m: seen.append((step, total, m)))
    # the margin starts at exactly 0 (policy == reference); one epoch must open it up on the data
    assert metrics["dpo/eval/margin"] > 0.02
    assert metrics["dpo/eval/accuracy"] > 0.6
    assert metrics["dpo/eval/chosen_reward"] > metrics["dpo/eval/rejected_reward"]
    assert [s for s, _, _ in seen] == list(range(1, seen[-1][1] + 1))
    assert "dpo/loss" in seen[-1][2] and metrics["dpo/kl"] == pytest.approx(metrics["dpo/kl"])  # finite
    assert torch.isfinite(torch.tensor(metrics["dpo/kl"]))
    before, after = parameters(tiny_policy_dir), parameters(out)
    assert any(not torch.equal(before[k], after[k]) for k in before)
    saved = json.loads((Path(out) / "training_config.json").read_text())
    assert saved["values"]["loss_type"] == "sigmoid" and saved["help"]["beta"]
    history = json.loads((Path(out) / "metrics.json").read_text())["history"]
    assert history[-1]["step"] == metrics["dpo/steps"]
    cache = torch.load(Path(out) / REFERENCE_FILE, weights_only=False)
    assert len(cache["logprobs"]) == metrics["dpo/groups"]
    assert not (Path(out) / "checkpoints").exists()


@pytest.mark.parametrize("loss_type", ["ipo", "plackett_luce"])
def test_other_losses_train(tiny_policy_dir, rankings, tmp_path, loss_type):
    _, metrics = train_dpo(config(tiny_policy_dir, tmp_path / loss_type, loss_type=loss_type), rankings)
    assert metrics["dpo/eval/margin"] > 0.02
    assert torch.isfinite(torch.tensor(metrics["dpo/loss"]))


def test_resume_continues_from_the_step_it_stopped_at(tiny_policy_dir, rankings, tmp_path):
    settings = dict(epochs=2, checkpoint_every=1)
    _, uninterrupted = train_dpo(config(tiny_policy_dir, tmp_path / "whole", **settings), rankings)
    total = uninterrupted["dpo/steps"]

    def crash_at_3(step, total, metrics):
        if step == 3:
            raise KeyboardInterrupt

    out = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        train_dpo(config(tiny_policy_dir, out, **settings), rankings, crash_at_3)
    cache_written = (out / REFERENCE_FILE).stat().st_mtime_ns
    steps = []
    _, resumed = train_dpo(config(tiny_policy_dir, out, **settings), rankings, lambda s, t, m: steps.append(s))
    assert steps == list(range(3, total + 1))  # checkpoint at step 2, so step 3 is redone
    assert resumed["dpo/steps"] == total
    assert resumed["dpo/eval/margin"] == pytest.approx(uninterrupted["dpo/eval/margin"], abs=1e-5)
    whole, again = parameters(tmp_path / "whole"), parameters(out)
    assert all(torch.allclose(whole[k], again[k], atol=1e-6) for k in whole)
    assert cache_written > 0


def test_a_separate_reference_anchors_the_loss_and_the_kl(tiny_policy_dir, tmp_path):
    """Starting from a trained policy with the first policy as reference: the implicit rewards start away
    from 0 (the policy already differs from its reference); with itself as reference they start at 0."""
    from modeling.training.dpo import DPOConfig, train_dpo

    rankings = [Ranking(prompt=p, completions=("Paris.", "Rome.", "A cat."), tiers=((0,), (1,), (2,)), labeler="a")
                for p in ("Capital of France?", "Capital of Italy?")]

    def run(out, policy, reference=""):
        return train_dpo(DPOConfig(output_dir=str(out), policy=str(policy), reference=reference, epochs=1,
                                   learning_rate=1e-2, kl_prompts=2, kl_max_new_tokens=4, log_every=1), rankings)

    moved, _ = run(tmp_path / "round1", tiny_policy_dir)
    _, own = run(tmp_path / "own", moved)
    _, anchored = run(tmp_path / "anchored", moved, reference=str(tiny_policy_dir))
    assert own["history"][0]["dpo/margin"] == pytest.approx(0.0, abs=1e-6)
    assert abs(anchored["history"][0]["dpo/margin"]) > 1e-3
    saved = torch.load(Path(tmp_path / "anchored" / "reference_logprobs.pt"), weights_only=False)
    assert saved["policy"] == str(tiny_policy_dir)


def test_prefix_sharing_trains_the_same_policy_as_whole_sequences(tiny_policy_dir, rankings, tmp_path):
    """The switch changes the cost, not the numbers: same reference log-probs, losses and weights."""
    runs = {shared: train_dpo(config(tiny_policy_dir, tmp_path / str(shared), max_steps=3, prefix_sharing=shared),
                              rankings) for shared in (False, True)}
    (plain_out, plain), (shared_out, shared) = runs[False], runs[True]
    reference = [torch.load(Path(out) / REFERENCE_FILE, weights_only=False)["logprobs"]
                 for out in (plain_out, shared_out)]
    torch.testing.assert_close(torch.tensor(sum(reference[1], [])), torch.tensor(sum(reference[0], [])),
                               rtol=1e-5, atol=1e-4)
    for key in ("dpo/loss", "dpo/eval/loss", "dpo/eval/margin"):
        assert shared[key] == pytest.approx(plain[key], rel=1e-4, abs=1e-5), key
    before, plain_after, shared_after = parameters(tiny_policy_dir), parameters(plain_out), parameters(shared_out)
    assert any(not torch.equal(before[k], plain_after[k]) for k in before)
    for k in before:
        # float32: Adam divides by sqrt(v), so a near-zero gradient's last bits can move a weight ~1% of a step
        torch.testing.assert_close(shared_after[k], plain_after[k], rtol=1e-4, atol=1e-4)
    saved = json.loads((Path(shared_out) / "training_config.json").read_text())
    assert saved["values"]["prefix_sharing"] is True

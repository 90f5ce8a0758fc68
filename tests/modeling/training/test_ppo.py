"""PPO rounds on the tiny policy: a toy reward rises, KL starts at 0, the RM path and resume work."""
import json
from pathlib import Path

import pytest
import torch

from modeling.training.ppo import PPOConfig, train_ppo
from modeling.models.policy_model import load_policy
from modeling.training.ppo_rollout import generate_responses, response_logprobs

PROMPTS = [f"List {n} {thing}." for n in (2, 3, 4, 5) for thing in ("fruits", "tools", "animals", "colors")]


def vowel_share(prompts, completions):
    """Toy reward: the share of a completion's characters that are vowels."""
    return torch.tensor([sum(ch in "aeiou" for ch in c) / max(1, len(c)) for c in completions])


def mean_toy_reward(path, samples=16):
    model, tokenizer = load_policy(str(path), "cpu")
    torch.manual_seed(123)
    responses = generate_responses(model, tokenizer, PROMPTS * samples, max_new_tokens=12)
    return vowel_share(None, responses.texts).mean().item()


def config(policy, out, **overrides):
    settings = dict(output_dir=str(out), policy=str(policy), iterations=1, rollout_batch_size=64, minibatch_size=16,
                    ppo_epochs=4, max_new_tokens=12, learning_rate=3e-2, missing_eos_penalty=0.0, seed=0)
    settings.update(overrides)
    return PPOConfig(**settings)


def test_one_iteration_raises_a_toy_reward(tiny_policy_dir, tmp_path):
    before = mean_toy_reward(tiny_policy_dir)
    out, metrics = train_ppo(config(tiny_policy_dir, tmp_path / "ppo"), PROMPTS, score_fn=vowel_share)
    after = mean_toy_reward(out)
    assert after > before + 0.02, (before, after)  # seen: +0.045 to +0.065 over 6 seeds
    for key in ("ppo/reward", "ppo/kl", "ppo/entropy", "ppo/clipfrac", "ppo/value_loss", "ppo/approx_kl",
                "ppo/response_length", "perf/rollout_tokens_per_second", "perf/update_tokens_per_second"):
        assert torch.isfinite(torch.tensor(metrics[key])), key
    assert (Path(out) / "value_model" / "config.json").is_file()
    saved = json.loads((Path(out) / "metrics.json").read_text())
    assert [row["iteration"] for row in saved["history"]] == [1]


def test_several_responses_per_prompt_raise_a_toy_reward(tiny_policy_dir, tmp_path):
    """The leave-one-out baseline path: 16 prompts x 4 responses per rollout batch."""
    before = mean_toy_reward(tiny_policy_dir)
    out, metrics = train_ppo(config(tiny_policy_dir, tmp_path / "ppo", samples_per_prompt=4), PROMPTS,
                             score_fn=vowel_share)
    assert mean_toy_reward(out) > before + 0.02
    assert metrics["ppo/reward"] > 0.1  # the reported reward is the score itself, not the centred one


def test_without_a_value_model_the_return_to_go_raises_a_toy_reward_and_resumes(tiny_policy_dir, tmp_path):
    """No critic (as in RLOO): leave-one-out scores, nothing learned or saved for a value model."""
    before = mean_toy_reward(tiny_policy_dir)
    out = tmp_path / "ppo"
    settings = dict(samples_per_prompt=4, use_value_model=False, iterations=2, checkpoint_every=1)

    def crash_at_1(iteration, total, metrics):
        if iteration == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_ppo(config(tiny_policy_dir, out, **settings), PROMPTS, crash_at_1, score_fn=vowel_share)
    out, metrics = train_ppo(config(tiny_policy_dir, out, **settings), PROMPTS, score_fn=vowel_share)
    assert mean_toy_reward(out) > before + 0.02
    assert [row["iteration"] for row in metrics["history"]] == [1, 2]
    assert "ppo/value_loss" not in metrics and not (Path(out) / "value_model").exists()
    assert json.loads((Path(out) / "training_config.json").read_text())["values"]["use_value_model"] is False


def test_a_rollout_batch_that_does_not_split_into_groups_is_refused(tiny_policy_dir, tmp_path):
    with pytest.raises(ValueError, match="multiple of samples_per_prompt"):
        train_ppo(config(tiny_policy_dir, tmp_path / "ppo", samples_per_prompt=3), PROMPTS, score_fn=vowel_share)
    assert not (tmp_path / "ppo").exists()


def test_kl_penalty_is_zero_while_policy_equals_reference(tiny_policy_dir, tmp_path):
    policy, tokenizer = load_policy(str(tiny_policy_dir), "cpu")
    reference, _ = load_policy(str(tiny_policy_dir), "cpu")
    responses = generate_responses(policy, tokenizer, PROMPTS, max_new_tokens=8)
    with torch.no_grad():
        a, _ = response_logprobs(policy, responses.input_ids, responses.attention_mask, responses.prompt_width)
        b, _ = response_logprobs(reference, responses.input_ids, responses.attention_mask, responses.prompt_width)
    assert torch.equal(a * responses.response_mask, b * responses.response_mask)
    # and inside a round: the first rollout is sampled before any update, so its KL is exactly 0
    _, metrics = train_ppo(config(tiny_policy_dir, tmp_path / "ppo", iterations=2, rollout_batch_size=16,
                                  ppo_epochs=1), PROMPTS, score_fn=vowel_share)
    assert metrics["history"][0]["ppo/kl"] == 0.0
    assert metrics["history"][1]["ppo/kl"] != 0.0


def test_reward_model_with_another_tokenizer_ptx_and_resume(tiny_policy_dir, tiny_bert_path, tmp_path):
    settings = dict(reward_model=str(tiny_bert_path), iterations=3, rollout_batch_size=8, minibatch_size=4,
                    ppo_epochs=1, learning_rate=1e-3, ptx_coef=0.5, ptx_batch_size=4, adaptive_kl=True,
                    missing_eos_penalty=1.0)

    def crash_at_2(iteration, total, metrics):
        if iteration == 2:
            raise KeyboardInterrupt

    out = tmp_path / "ppo"
    with pytest.raises(KeyboardInterrupt):
        train_ppo(config(tiny_policy_dir, out, **settings), PROMPTS, crash_at_2)
    seen = []
    _, metrics = train_ppo(config(tiny_policy_dir, out, **settings), PROMPTS, lambda i, t, m: seen.append(i))
    assert seen == [2, 3]
    assert [row["iteration"] for row in metrics["history"]] == [1, 2, 3]
    assert all(torch.isfinite(torch.tensor(row["ppo/ptx_loss"])) for row in metrics["history"])
    assert metrics["history"][0]["ppo/beta"] == 0.02 and metrics["history"][1]["ppo/beta"] != 0.02  # adaptive


def test_rollout_masks_stop_after_the_first_eos(tiny_policy_dir):
    policy, tokenizer = load_policy(str(tiny_policy_dir), "cpu")
    torch.manual_seed(0)
    responses = generate_responses(policy, tokenizer, PROMPTS * 4, max_new_tokens=10, batch_size=16)
    tokens = responses.input_ids[:, responses.prompt_width :]
    lengths = responses.response_mask.sum(dim=1)
    for row in range(tokens.shape[0]):
        n = int(lengths[row])
        eos_positions = (tokens[row, :n] == tokenizer.eos_token_id).nonzero().flatten().tolist()
        if responses.ended[row]:
            assert eos_positions == [n - 1]  # exactly one EOS, the last real token
        else:
            assert n == 10 and eos_positions == []
        assert (tokens[row, n:] == tokenizer.pad_token_id).all()
    assert torch.equal(responses.attention_mask[:, responses.prompt_width :], responses.response_mask)


def test_a_separate_reference_is_what_the_kl_penalty_measures_against(tiny_policy_dir, tmp_path):
    """A later round starts from the last policy but keeps the KL to the first one: at the first rollout
    the KL is already the distance between the two, not 0."""
    moved, _ = train_ppo(config(tiny_policy_dir, tmp_path / "round1"), PROMPTS, score_fn=vowel_share)
    _, metrics = train_ppo(config(moved, tmp_path / "round2", reference=str(tiny_policy_dir), rollout_batch_size=16,
                                  ppo_epochs=1), PROMPTS, score_fn=vowel_share)
    assert metrics["history"][0]["ppo/kl"] > 0.0
    _, own = train_ppo(config(moved, tmp_path / "own", rollout_batch_size=16, ppo_epochs=1), PROMPTS,
                       score_fn=vowel_share)
    assert own["history"][0]["ppo/kl"] == 0.0

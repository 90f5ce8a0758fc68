"""The guard on a planted hackable reward: a two-member "ensemble" that agrees on length up to a cap.

Member 0 rewards a response's length without end (the hackable one); member 1 rewards it up to CAP
characters only. PPO optimises their worst case (``min``): once every response is longer than CAP the
conservative reward cannot rise any more, while the proxy (the members' mean) keeps rising with the
length. The tiny policy reaches that point in about 12 iterations (seen: conservative 0.556 at 12 and
13, proxy 0.718 -> 0.754), so the rule with patience 2 must stop before the 18-iteration budget.
"""
import json
from pathlib import Path

import pytest
import torch

from modeling.training.ppo import PPOConfig, train_ppo
from modeling.models.policy_model import load_policy

PROMPTS = [f"List {n} {thing}." for n in (2, 3, 4, 5) for thing in ("fruits", "tools", "animals", "colors")]
CAP = 60  # characters; the tiny policy's first rollouts average about 80


def length_rewarding_members(prompts, completions):
    """(B, 2) member scores: length in tens of characters, and the same capped at CAP."""
    return torch.tensor([[len(c) / 10, min(len(c), CAP) / 10] for c in completions])


def vowel_share(prompts, completions):
    return torch.tensor([sum(ch in "aeiou" for ch in c) / max(1, len(c)) for c in completions])


def config(policy, out, **overrides):
    settings = dict(output_dir=str(out), policy=str(policy), iterations=18, rollout_batch_size=32, minibatch_size=16,
                    ppo_epochs=2, max_new_tokens=64, learning_rate=1e-2, missing_eos_penalty=0.0, seed=0,
                    samples_per_prompt=2, use_value_model=False, reward_aggregate="min", stop_patience=2)
    settings.update(overrides)
    return PPOConfig(**settings)


def weights(path):
    model, _ = load_policy(str(path), "cpu")
    return model.state_dict()


def test_the_stop_rule_fires_on_a_hacked_reward_resumes_and_publishes_the_best_iteration(tiny_policy_dir, tmp_path):
    out = tmp_path / "guarded"

    def crash_at_13(iteration, total, metrics):
        if iteration == 13:  # after iteration 12 (the best, seen) was checkpointed with the guard's state
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_ppo(config(tiny_policy_dir, out), PROMPTS, crash_at_13, score_fn=length_rewarding_members)
    published, metrics = train_ppo(config(tiny_policy_dir, out), PROMPTS, score_fn=length_rewarding_members)

    history = metrics["history"]
    best = metrics["guard/best_iteration"]
    assert metrics["guard/stopped"] is True and metrics["guard/published"] == "best"
    assert metrics["guard/stop_reason"] == "conservative reward flat for 2 iterations while proxy rose"
    assert metrics["guard/stop_iteration"] == len(history) == metrics["ppo/iterations"] < 18
    assert metrics["guard/stop_iteration"] - best >= 2
    conservative = [row["ppo/conservative_reward"] for row in history]
    proxy = [row["ppo/proxy_reward"] for row in history]
    assert conservative[best - 1] == max(conservative) and conservative.index(max(conservative)) == best - 1
    assert proxy[-1] > proxy[best - 1]  # the proxy kept rising past the best conservative reward
    assert all(row["ppo/spread"] >= 0 for row in history) and history[0]["ppo/spread"] > 0
    saved = json.loads((Path(published) / "metrics.json").read_text())["final"]
    assert saved["guard/best_iteration"] == best and saved["guard/reward_members"] == 2

    # the published policy is the one that sampled the best rollout: the policy after best - 1 updates
    unguarded, _ = train_ppo(config(tiny_policy_dir, tmp_path / "unguarded", iterations=best - 1, stop_patience=0),
                             PROMPTS, score_fn=length_rewarding_members)
    expected, got = weights(unguarded), weights(published)
    assert all(torch.equal(expected[name], got[name]) for name in expected)
    start = weights(tiny_policy_dir)
    assert not all(torch.equal(start[name], got[name]) for name in got)


def test_one_reward_model_proxy_conservative_and_score_agree_spread_zero_and_gold_is_logged(tiny_policy_dir,
                                                                                          tmp_path):
    _, metrics = train_ppo(config(tiny_policy_dir, tmp_path / "one", iterations=2, reward_aggregate="uwo",
                                  uwo_lambda=2.0, stop_spread_ratio=1.5),
                           PROMPTS, score_fn=vowel_share, gold_fn=lambda p, c: -vowel_share(p, c))
    for row in metrics["history"]:
        assert row["ppo/proxy_reward"] == row["ppo/conservative_reward"] == row["ppo/score"]
        assert row["ppo/spread"] == 0.0 and row["ppo/gold"] == pytest.approx(-row["ppo/score"])
    assert metrics["guard/stopped"] is False and metrics["guard/published"] == "last"
    assert metrics["guard/reward_members"] == 1


@pytest.mark.parametrize("settings, message", [(dict(reward_aggregate="median"), "reward_aggregate must be one of"),
                                               (dict(reward_aggregate="uwo", uwo_lambda=-1.0), "uwo_lambda must be")])
def test_a_bad_aggregate_is_refused_before_anything_is_written(tiny_policy_dir, tmp_path, settings, message):
    with pytest.raises(ValueError, match=message):
        train_ppo(config(tiny_policy_dir, tmp_path / "ppo", **settings), PROMPTS, score_fn=vowel_share)
    assert not (tmp_path / "ppo").exists()


def test_with_lora_the_best_copy_is_the_adapters_and_restores_them(tiny_policy_dir):
    from modeling.models import lora
    from modeling.training.distributed import Distributed
    from modeling.training.ppo_guard import PPOGuard

    model = lora.prepare_for_training(load_policy(tiny_policy_dir, "cpu")[0], PPOConfig(lora_r=2), "CAUSAL_LM")
    trained = torch.nn.ModuleDict({"policy": model})
    guard = PPOGuard(PPOConfig(stop_patience=1), Distributed("cpu"))
    adapters = lambda: {n: p.detach().clone() for n, p in trained.named_parameters() if p.requires_grad}  # noqa: E731
    at_best = None
    for iteration, (conservative, proxy) in enumerate([(0.0, 0.0), (0.5, 0.5), (0.4, 0.9)], start=1):
        guard.before_iteration(trained)
        if iteration == 2:
            at_best = adapters()
        stop = guard.after_iteration(iteration, {"ppo/conservative_reward": conservative, "ppo/proxy_reward": proxy,
                                                 "ppo/spread": 0.1})
        with torch.no_grad():  # an "update"
            for p in trained.parameters():
                if p.requires_grad:
                    p.add_(0.01)
    assert stop and guard.state.best_iteration == 2
    assert all("lora_" in name for name in guard.best)  # adapters only (no frozen base weights copied)
    frozen_before = {n: p.clone() for n, p in trained.named_parameters() if not p.requires_grad}
    assert guard.restore_best(trained)
    assert all(torch.equal(adapters()[n], at_best[n]) for n in at_best)
    assert all(torch.equal(p, frozen_before[n]) for n, p in trained.named_parameters() if not p.requires_grad)
    restored = PPOGuard(PPOConfig(stop_patience=1), Distributed("cpu"))
    restored.restore(guard.checkpoint_extra())
    assert restored.state == guard.state and restored.best.keys() == guard.best.keys()

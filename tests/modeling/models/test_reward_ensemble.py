"""Ensemble scoring by hand, and an ensemble directory where a reward checkpoint path worked (PPO)."""
import math

import pytest
import torch

from modeling.models.reward_ensemble import (ensemble_mean_spread, ensemble_pair_probability, load_reward_ensemble,
                                             load_reward_parts, write_manifest)
from modeling.models.reward_model import load_reward_model
from modeling.training.ppo import PPOConfig, train_ppo
from modeling.training.ppo_rollout import reward_model_scorer

PROMPTS = ["List 2 fruits.", "List 3 tools."]
COMPLETIONS = ["apple and pear", "hammer saw drill"]


def test_mean_spread_and_pair_probability_by_hand():
    scores = torch.tensor([[1.0, 3.0], [0.0, 1.0]])  # 2 completions x 2 members
    mean, spread = ensemble_mean_spread(scores)
    assert mean.tolist() == [2.0, 0.5] and spread.tolist() == [1.0, 0.5]
    sigmoid = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    p = ensemble_pair_probability(scores[:1], scores[1:])
    assert p.item() == pytest.approx((sigmoid(1.0) + sigmoid(2.0)) / 2)  # not sigmoid(2.0 - 0.5)
    assert ensemble_mean_spread(scores[:, :1])[1].tolist() == [0.0, 0.0]  # one member: no spread


def _two_member_ensemble(tmp_path, tiny_bert_path):
    """Two members: the tiny BERT with its reward head initialised under seeds 0 and 1."""
    from transformers import AutoTokenizer

    members = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model, _ = load_reward_model(tiny_bert_path)
        where = tmp_path / "ens" / "members" / str(seed)
        model.save_pretrained(where)
        AutoTokenizer.from_pretrained(tiny_bert_path).save_pretrained(where)
        members.append({"path": f"members/{seed}", "seed": seed, "resample": {}})
    write_manifest(tmp_path / "ens", {"format": "reward-ensemble", "version": 1, "form": "members",
                                      "members": members})
    return tmp_path / "ens"


def test_single_checkpoint_scores_as_before_and_ensemble_scores_the_mean(tmp_path, tiny_bert_path):
    from modeling.models.reward_ensemble import encode_texts
    from modeling.models.reward_model import score_sequences

    ens = _two_member_ensemble(tmp_path, tiny_bert_path)
    single = str(ens / "members" / "0")  # a plain reward checkpoint
    model, tokenizer = load_reward_model(single, disable_dropout=True)
    ids, mask = encode_texts(tokenizer, PROMPTS, COMPLETIONS, 256)
    direct = score_sequences(model.eval(), ids, mask).float()
    assert torch.equal(reward_model_scorer(single, "cpu")(PROMPTS, COMPLETIONS), direct)

    per_member = [reward_model_scorer(str(ens / "members" / str(i)), "cpu")(PROMPTS, COMPLETIONS) for i in (0, 1)]
    assert not torch.allclose(per_member[0], per_member[1])
    assert torch.allclose(reward_model_scorer(str(ens), "cpu")(PROMPTS, COMPLETIONS),
                          (per_member[0] + per_member[1]) / 2, atol=1e-6)
    loaded = load_reward_ensemble(ens)
    chunked = loaded.member_scores(PROMPTS * 3, COMPLETIONS * 3, batch_size=4)  # (6, 2), in chunks of 4
    assert torch.allclose(chunked, loaded.member_scores(PROMPTS * 3, COMPLETIONS * 3), atol=1e-5)
    same = load_reward_parts([(ens / "members" / "0", 1)] * 2)
    assert ensemble_mean_spread(same.member_scores(PROMPTS, COMPLETIONS))[1].abs().max() == 0


def test_ppo_takes_an_ensemble_directory_as_its_reward(tmp_path, tiny_policy_dir, tiny_bert_path):
    ens = _two_member_ensemble(tmp_path, tiny_bert_path)
    config = PPOConfig(output_dir=str(tmp_path / "ppo"), policy=str(tiny_policy_dir), reward_model=str(ens),
                       iterations=1, rollout_batch_size=4, minibatch_size=4, ppo_epochs=1, max_new_tokens=6,
                       learning_rate=1e-3, missing_eos_penalty=0.0, seed=0)
    _, metrics = train_ppo(config, PROMPTS * 2)
    assert metrics["history"][0]["iteration"] == 1 and math.isfinite(metrics["history"][0]["ppo/reward"])

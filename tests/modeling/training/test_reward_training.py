"""Reward model and its training loop on tiny models (hidden 16, 2 layers, real tokenizers)."""
from __future__ import annotations

import json

import pytest
import torch

from modeling.models import checkpoints
from modeling.formats.comparisons import collate_groups, group_rankings, tokenize_groups
from modeling.training.losses import grouped_bradley_terry_loss
from modeling.formats.rankings import parse_ranking
from modeling.models.reward_model import load_reward_model, score_sequences, shift_reward
from modeling.training.reward_training import (RewardConfig, common_prefix_length, mean_completion_score,
                                               train_reward_model)
from tests.modeling.tiny_reward import toy_ranking_records


def _rankings(n_prompts=12, k=4, seed=0):
    return [parse_ranking(r) for r in toy_ranking_records(n_prompts, k, seed=seed)]


def _batch(path, rankings):
    model, tokenizer = load_reward_model(path, disable_dropout=True)
    groups = tokenize_groups(group_rankings(rankings), tokenizer, 64)
    return model, tokenizer, groups, collate_groups(groups, tokenizer.pad_token_id)


@pytest.mark.parametrize("which", ["tiny_bert_path", "tiny_decoder_path"])
def test_loss_goes_down_on_a_batch_it_can_fit_and_parameters_change(which, request):
    torch.manual_seed(0)
    model, _, _, batch = _batch(request.getfixturevalue(which), _rankings(4))
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)

    def loss_now():
        rewards = score_sequences(model, batch.input_ids, batch.attention_mask)
        return grouped_bradley_terry_loss(rewards, batch.better, batch.worse, batch.pair_group, batch.num_groups)

    first = loss_now()
    assert torch.isfinite(first)
    for _ in range(30):
        optimizer.zero_grad()
        loss = loss_now()
        loss.backward()
        optimizer.step()
    assert loss_now().item() < 0.5 * first.item()
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


def test_decoder_without_pad_token_pads_with_eos_and_scores_the_last_real_token(tiny_decoder_path):
    model, tokenizer = load_reward_model(tiny_decoder_path)
    assert tokenizer.pad_token == tokenizer.eos_token
    assert model.config.pad_token_id == tokenizer.eos_token_id
    model.eval()
    ids = tokenizer("good answer", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    alone = score_sequences(model, torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long))
    padded = torch.tensor([ids + [tokenizer.pad_token_id] * 5])
    mask = torch.tensor([[1] * len(ids) + [0] * 5])
    assert torch.allclose(score_sequences(model, padded, mask), alone, atol=1e-5)


@pytest.mark.parametrize("which", ["tiny_bert_path", "tiny_decoder_path"])
def test_shift_reward_moves_every_score_by_the_offset(which, request):
    model, tokenizer, groups, batch = _batch(request.getfixturevalue(which), _rankings(3))
    model.eval()
    with torch.no_grad():
        before = score_sequences(model, batch.input_ids, batch.attention_mask)
        shift_reward(model, 0.75)
        after = score_sequences(model, batch.input_ids, batch.attention_mask)
    assert torch.allclose(after, before - 0.75, atol=1e-4)


def _config(tmp_path, base, **overrides):
    values = dict(output_dir=str(tmp_path / "rm"), base_model=base, max_length=48, epochs=2,
                  completions_per_batch=16, learning_rate=1e-3, checkpoint_every=0, log_every=1, seed=0)
    values.update(overrides)
    return RewardConfig(**values)


def test_train_save_reload_gives_equal_scores_and_centred_rewards(tmp_path, tiny_bert_path):
    config = _config(tmp_path, tiny_bert_path)
    rankings = _rankings(12)
    out, metrics = train_reward_model(config, rankings)
    for key in ("reward/loss", "reward/accuracy", "reward/margin", "reward/agreement/ann"):
        assert key in metrics
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["history"] and saved["final"]["reward/steps"] == metrics["reward/steps"]
    assert json.loads((out / "training_config.json").read_text())["values"]["max_length"] == 48
    assert not (out / checkpoints.CHECKPOINTS_DIR).exists()

    model, tokenizer = load_reward_model(out)
    groups = tokenize_groups(group_rankings(rankings), tokenizer, 48)
    assert abs(mean_completion_score(model, groups, tokenizer.pad_token_id)) < 1e-4
    again, _ = load_reward_model(out)
    batch = collate_groups(groups[:3], tokenizer.pad_token_id)
    model.eval(), again.eval()
    with torch.no_grad():
        assert torch.equal(score_sequences(model, batch.input_ids, batch.attention_mask),
                           score_sequences(again, batch.input_ids, batch.attention_mask))


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path, tiny_bert_path):
    rankings = _rankings(12)

    class Killed(Exception):
        pass

    def kill_after_step_3(step, total, metrics):
        if step == 3:
            raise Killed

    config = _config(tmp_path, tiny_bert_path, checkpoint_every=2)
    with pytest.raises(Killed):
        train_reward_model(config, rankings, kill_after_step_3)
    last = checkpoints.latest_checkpoint(config.output_dir)
    assert last is not None and last.name == "step-00000002"

    seen = []
    _, resumed = train_reward_model(config, rankings, lambda step, total, m: seen.append(step))
    assert seen[0] == 3 and seen[-1] == resumed["reward/steps"]

    _, straight = train_reward_model(_config(tmp_path / "b", tiny_bert_path), rankings)
    assert resumed["reward/steps"] == straight["reward/steps"]
    assert resumed["reward/loss"] == pytest.approx(straight["reward/loss"], rel=1e-4)


def test_train_on_decoder_without_pad_token(tmp_path, tiny_decoder_path):
    rankings = _rankings(8)
    out, metrics = train_reward_model(_config(tmp_path, tiny_decoder_path, epochs=1), rankings)
    assert metrics["reward/steps"] > 0 and torch.isfinite(torch.tensor(metrics["reward/loss"]))
    model, tokenizer = load_reward_model(out)
    assert model.config.pad_token_id == tokenizer.eos_token_id
    assert json.loads((out / "training_config.json").read_text())["reward_shift"] == "final_layernorm.bias"
    groups = tokenize_groups(group_rankings(rankings), tokenizer, 48)
    assert abs(mean_completion_score(model, groups, tokenizer.pad_token_id)) < 1e-4


def _ragged_rankings():
    """K=4 groups whose prompts differ in length (so prefix padding sits between prompt and completion in
    a batch) and whose rankings have ties; one prompt has a second group over other completions."""
    records = toy_ranking_records(10, 4, seed=3)
    for number, record in enumerate(records):
        record["prompt"] += " and why" * (number % 4)
    records.append({**records[0], "completions": [c + " works" for c in records[0]["completions"]]})
    return [parse_ranking(r) for r in records]


def _weights(path):
    model, _ = load_reward_model(path)
    return model.state_dict()


def test_common_prefix_length_is_the_tokens_every_sequence_starts_with():
    assert common_prefix_length([[5, 6, 7, 1], [5, 6, 8], [5, 6, 7]]) == 2
    assert common_prefix_length([[5, 6], [5, 6, 7]]) == 2  # one sequence whole: its last token stays scored
    assert common_prefix_length([[4, 6], [5, 6]]) == 0


def test_decoder_prefix_sharing_gives_the_plain_path_losses_and_weights(tmp_path, tiny_decoder_path):
    rankings = _ragged_rankings()
    _, tokenizer = load_reward_model(tiny_decoder_path)
    groups = tokenize_groups(group_rankings(rankings), tokenizer, 48)
    assert len({common_prefix_length(g.input_ids) for g in groups}) >= 3  # different prompt lengths
    assert any(len(set(g.better) | set(g.worse)) < len(g.completions) or g.num_pairs < 6 for g in groups)  # ties
    runs = {}
    for shared in (True, False):
        out, metrics = train_reward_model(_config(tmp_path / str(shared), tiny_decoder_path, prefix_sharing=shared,
                                                  validation_fraction=0.2), rankings)
        runs[shared] = out, metrics
    (shared_out, shared), (plain_out, plain) = runs[True], runs[False]
    assert shared["perf/prefix_sharing"] == 1.0 and plain["perf/prefix_sharing"] == 0.0
    losses = [[h["reward/train_loss"] for h in m["history"] if "reward/train_loss" in h] for m in (shared, plain)]
    assert len(losses[0]) == shared["reward/steps"] >= 4
    assert losses[0] == pytest.approx(losses[1], rel=1e-5, abs=1e-6)
    for key in ("reward/loss", "reward/accuracy", "reward/margin", "reward/offset"):
        assert shared[key] == pytest.approx(plain[key], abs=1e-4)  # float32 sums in another order
    before, after_plain, after_shared = (_weights(p) for p in (tiny_decoder_path, plain_out, shared_out))
    assert any(not torch.allclose(after_plain[k], before[k]) for k in before if k in after_plain)
    for key, value in after_plain.items():
        torch.testing.assert_close(after_shared[key], value, rtol=1e-4, atol=1e-4)


def test_encoder_ignores_prefix_sharing_and_says_so(tmp_path, tiny_bert_path):
    rankings = _rankings(8)
    _, asked = train_reward_model(_config(tmp_path / "on", tiny_bert_path, epochs=1, prefix_sharing=True), rankings)
    _, plain = train_reward_model(_config(tmp_path / "off", tiny_bert_path, epochs=1, prefix_sharing=False), rankings)
    assert asked["perf/prefix_sharing"] == 0.0
    assert asked["reward/loss"] == plain["reward/loss"] and asked["reward/steps"] == plain["reward/steps"]

"""Reward ensembles on the tiny BERT: full members and heads train, save, load back and score."""
import json
from types import SimpleNamespace

import pytest
import torch

from modeling.cli import main
from modeling.formats.rankings import read_rankings
from modeling.models.reward_ensemble import is_reward_ensemble_dir, load_reward_ensemble, read_manifest
from modeling.training.losses import grouped_bradley_terry_loss
from modeling.training.reward_config import RewardConfig
from modeling.training.reward_ensemble import bootstrap_split, held_out_metrics
from modeling.training.reward_heads import bootstrap_weights, heads_bootstrap_loss
from modeling.training.reward_training import train_reward_model
from tests.modeling.tiny_reward import write_toy_rankings

SMALL = dict(max_length=32, completions_per_batch=16, epochs=2, validation_fraction=0.25, checkpoint_every=0)


def test_bootstrap_split_draws_training_prompts_with_replacement():
    groups = [SimpleNamespace(prompt=f"p{i // 2}", num_pairs=1) for i in range(20)]  # 10 prompts, 2 groups each
    records = [{}, {}]
    splits = [bootstrap_split(groups, validation_fraction=0.2, split_seed=0, resample_seed=s, record=r)
              for s, r in zip((0, 1), records)]
    (train0, val0), (train1, val1) = splits
    assert [g.prompt for g in val0] == [g.prompt for g in val1] and len({g.prompt for g in val0}) == 2
    assert not {g.prompt for g in train0} & {g.prompt for g in val0}
    assert len(train0) == len(train1) == 16  # 8 prompts drawn, 2 groups each
    for record in records:
        assert record["prompts"] == 8 and sum(record["counts"]) == 8 and record["distinct"] < 8
    assert records[0]["counts"] != records[1]["counts"]
    again = {}
    bootstrap_split(groups, validation_fraction=0.2, split_seed=0, resample_seed=0, record=again)
    assert again == records[0]  # seeded


def test_heads_bootstrap_loss_by_hand():
    rewards = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 3.0]])  # (N=4, H=2)
    better, worse, pair_group = torch.tensor([0, 2]), torch.tensor([1, 3]), torch.tensor([0, 1])
    ones = heads_bootstrap_loss(rewards, better, worse, pair_group, torch.ones(2, 2))
    per_head = [grouped_bradley_terry_loss(rewards[:, h], better, worse, pair_group, 2) for h in range(2)]
    assert ones.item() == pytest.approx(sum(per_head).item() / 2)
    # head 0 keeps only group 0 (weight 2), head 1 only group 1: (2 * sp(-2) + 0) / 4 + (0 + 1 * sp(2)) / 4, / 2
    weights = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    softplus = torch.nn.functional.softplus
    expected = (2 * softplus(torch.tensor(-2.0)) + softplus(torch.tensor(2.0))) / 4
    assert heads_bootstrap_loss(rewards, better, worse, pair_group, weights).item() == pytest.approx(expected.item())


def test_bootstrap_weights_are_per_prompt_and_seeded():
    groups = [SimpleNamespace(prompt=p) for p in ("a", "b", "a", "c")]
    weights = bootstrap_weights(groups, 5, seed=3)
    assert weights.shape == (4, 5) and torch.equal(weights[0], weights[2])
    assert torch.equal(weights, bootstrap_weights(groups, 5, seed=3))
    assert not torch.equal(weights, bootstrap_weights(groups, 5, seed=4))


def test_members_differ_manifest_round_trips_and_scores_average(tmp_path, tiny_bert_path):
    rankings = read_rankings(write_toy_rankings(tmp_path / "r.jsonl", n_prompts=16, k=3))
    out = tmp_path / "ens"
    config = RewardConfig(output_dir=str(out), base_model=tiny_bert_path, ensemble=2, seed=5, **SMALL)
    seen = []
    path, metrics = train_reward_model(config, rankings, lambda step, total, latest: seen.append((step, total)))
    assert path == out and is_reward_ensemble_dir(out)
    assert seen[-1][0] == seen[-1][1] and len({total for _, total in seen}) == 1  # one bar over both members
    manifest = read_manifest(out)
    assert json.loads((out / "ensemble.json").read_text()) == manifest
    assert manifest["form"] == "members" and [m["seed"] for m in manifest["members"]] == [5, 6]
    assert manifest["members"][0]["resample"]["counts"] != manifest["members"][1]["resample"]["counts"]
    members = json.loads((out / "metrics.json").read_text())["members"]
    assert all(0 <= m["reward/ece"] <= 1 and "reward/accuracy" in m for m in members)  # single models report ECE
    assert members[0]["reward/pairs"] == members[1]["reward/pairs"] == metrics["reward/pairs"]  # same held-out pairs
    for key in ("reward/accuracy", "reward/ece", "reward/member_accuracy", "reward/spread"):
        assert 0 <= metrics[key] <= 1 or key == "reward/spread"
    assert metrics["reward/spread"] > 0 and metrics["reward/members"] == 2

    ensemble = load_reward_ensemble(out)
    singles = [load_reward_ensemble(out / m["path"]) for m in manifest["members"]]
    first, second = (m.models[0][0].classifier.weight for m in singles)
    assert not torch.equal(first, second)
    prompts, completions = [rankings[0].prompt] * 3, list(rankings[0].completions)
    scores = ensemble.member_scores(prompts, completions)  # (3, 2)
    by_member = torch.stack([s.member_scores(prompts, completions)[:, 0] for s in singles], dim=1)
    assert torch.allclose(scores, by_member, atol=1e-6)
    mean, spread = ensemble.mean_spread(prompts, completions)
    assert torch.allclose(mean, (by_member[:, 0] + by_member[:, 1]) / 2, atol=1e-6)
    assert torch.allclose(spread, (by_member[:, 0] - by_member[:, 1]).abs() / 2, atol=1e-6)
    p = ensemble.pair_probability(prompts[:1], completions[:1], completions[1:2])
    by_hand = (torch.sigmoid(by_member[0, 0] - by_member[1, 0]) + torch.sigmoid(by_member[0, 1] - by_member[1, 1])) / 2
    assert p.item() == pytest.approx(by_hand.item(), abs=1e-6)
    assert held_out_metrics(ensemble, rankings, config)["reward/accuracy"] == metrics["reward/accuracy"]


@pytest.mark.parametrize("lora_r", [0, 4])
def test_heads_train_centre_and_load_back(tmp_path, tiny_bert_path, lora_r):
    rankings = read_rankings(write_toy_rankings(tmp_path / "r.jsonl", n_prompts=16, k=3))
    out = tmp_path / "heads"
    config = RewardConfig(output_dir=str(out), base_model=tiny_bert_path, ensemble_heads=3, lora_r=lora_r, **SMALL)
    _, metrics = train_reward_model(config, rankings)
    manifest = read_manifest(out)
    assert manifest["form"] == "heads" and manifest["heads"] == 3 and manifest["centred"]
    if lora_r:  # an adapter whose saved head is the 3-output classifier
        assert (out / "adapter_config.json").is_file() and not (out / "config.json").exists()
    else:
        assert len(json.loads((out / "config.json").read_text())["id2label"]) == 3  # a 3-output classifier
    loaded = load_reward_ensemble(out)
    assert loaded.size == 3
    every = [(r.prompt, c) for r in rankings for c in r.completions]
    scores = loaded.member_scores([p for p, _ in every], [c for _, c in every])  # (N, 3)
    assert not torch.allclose(scores[:, 0], scores[:, 1])  # the heads differ
    assert scores.mean(dim=0).abs().max().item() < 1e-4  # each head centred
    again = held_out_metrics(loaded, rankings, config)
    assert again["reward/accuracy"] == metrics["reward/accuracy"]
    assert again["reward/ece"] == pytest.approx(metrics["reward/ece"], abs=1e-5)


def test_refused_ensemble_flags_exit_2_with_one_line(tmp_path, capsys):
    rankings = write_toy_rankings(tmp_path / "r.jsonl", n_prompts=4, k=3)
    for flags in (["--ensemble", "0"], ["--ensemble-heads", "0"], ["--ensemble", "2", "--ensemble-heads", "2"]):
        assert main(["train-reward", "--rankings", rankings, "--out", str(tmp_path / "rm"), *flags]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and "--ensemble" in err
    assert not (tmp_path / "rm").exists()


def test_a_killed_ensemble_resumes_at_the_first_unfinished_member(tmp_path, tiny_bert_path):
    rankings = read_rankings(write_toy_rankings(tmp_path / "r.jsonl", n_prompts=12, k=3))
    out = tmp_path / "ens"
    config = RewardConfig(output_dir=str(out), base_model=tiny_bert_path, ensemble=2, **{**SMALL, "epochs": 1})

    def crash_in_member_1(step, total, latest):
        if latest["reward/member"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_reward_model(config, rankings, crash_in_member_1)
    assert not is_reward_ensemble_dir(out) and (out / "members" / "0" / "resample.json").is_file()
    first = (out / "members" / "0" / "model.safetensors").stat().st_mtime_ns
    members = []
    train_reward_model(config, rankings, lambda step, total, latest: members.append(latest["reward/member"]))
    assert set(members) == {1} and is_reward_ensemble_dir(out)
    assert (out / "members" / "0" / "model.safetensors").stat().st_mtime_ns == first


def test_cli_trains_heads_and_prints_ensemble_metrics(tmp_path, capsys, tiny_bert_path):
    rankings = write_toy_rankings(tmp_path / "r.jsonl", n_prompts=10, k=3)
    out = tmp_path / "heads"
    assert main(["train-reward", "--rankings", rankings, "--base", tiny_bert_path, "--out", str(out),
                 "--ensemble-heads", "2", "--max-length", "32", "--completions-per-batch", "12"]) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert final["out"] == str(out) and final["reward/members"] == 2 and 0 <= final["reward/ece"] <= 1
    assert read_manifest(out)["form"] == "heads"

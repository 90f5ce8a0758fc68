"""Per-labeler reliability on simulated labelers: our CrowdBT estimates against crowd-kit's NoisyBradleyTerry,
and through the reward trainer (tiny model)."""
from __future__ import annotations

import json

import pytest
import torch

from modeling.formats.comparisons import collate_groups, group_rankings
from modeling.simulation.bad_labelers import FlippingLabeler, RandomLabeler, panel_rankings
from modeling.simulation.instructions import generate_prompts
from modeling.simulation.oracle import LabelerConfig, SimulatedLabeler
from modeling.training.labeler_reliability import LabelerReliability, dpo_weights
from modeling.training.losses import noisy_bradley_terry_loss
from modeling.training.reward_config import RewardConfig
from modeling.training.reward_training import train_reward_model
from tests.modeling.tiny_reward import tiny_bert_path, toy_ranking_records  # noqa: F401
from modeling.formats.rankings import parse_ranking

PANEL = ["ann", "bob", "cy"]


@pytest.fixture(scope="module")
def simulated():
    """100 prompts, K=4, each ranked by all five: three simulated labelers, one who flips 20 %, one at random.

    Free scores (one per completion) can fit any pair that a single labeler orders, so here the panel
    never ties (a pair only the random labeler ordered would make it look reliable) and ranks every
    prompt; a reward model, which shares its scores across prompts, needs neither."""
    prompts = list(dict.fromkeys(generate_prompts(600, 7)))[:100]
    no_ties = LabelerConfig(same_quality=0.0, tie_threshold=0.0)
    panel = [SimulatedLabeler(name, no_ties) for name in PANEL] + [FlippingLabeler("flip", no_ties),
                                                                    RandomLabeler("rand")]
    return group_rankings(panel_rankings(prompts, panel, k=4, per_prompt=5, seed=7))


def fit_free_scores(groups) -> dict[str, float]:
    """CrowdBT with one free score per completion (no network): our loss and reliability module, full batch."""
    for group in groups:
        group.input_ids = [[0]] * len(group.completions)
    groups = [g for g in groups if g.num_pairs]
    batch = collate_groups(groups, 0)
    scores = torch.zeros(batch.input_ids.shape[0], requires_grad=True)  # (N,)
    reliability = LabelerReliability(batch.labelers)
    optimizer = torch.optim.Adam([scores, *reliability.parameters()], lr=0.05)
    for _ in range(400):
        loss = noisy_bradley_terry_loss(scores, batch.better, batch.worse, batch.pair_group, batch.num_groups,
                                        reliability.pair_logits(batch.labelers)) + reliability.prior_penalty()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return reliability.estimates()


def test_estimates_order_the_labelers_and_the_random_one_is_near_one_half(simulated):
    eta = fit_free_scores(simulated)
    assert min(eta[name] for name in PANEL) > eta["flip"] > eta["rand"]
    assert abs(eta["rand"] - 0.5) < 0.1
    assert min(eta[name] for name in PANEL) > 0.9


def test_estimates_rank_the_labelers_as_crowd_kit_noisy_bradley_terry_does(simulated):
    pytest.importorskip("crowdkit")
    import pandas as pd
    from crowdkit.aggregation import NoisyBradleyTerry
    from scipy.stats import spearmanr

    rows = [(labeler, (number, b), (number, w), (number, b)) if (number + p) % 2 else
            (labeler, (number, w), (number, b), (number, b))  # the winner on the left or the right, alternating
            for number, g in enumerate(simulated) for p, (b, w, labeler) in enumerate(zip(g.better, g.worse, g.labelers))]
    data = pd.DataFrame(rows, columns=["worker", "left", "right", "label"])
    skills = NoisyBradleyTerry(n_iter=200).fit(data).skills_.to_dict()
    ours = fit_free_scores(simulated)
    # the three good labelers are alike (their order among themselves is noise in both); the bad two come
    # last in both. Ours puts the random one lowest (the truth); crowd-kit 1.4.2 puts the flipper lowest here
    assert sorted(ours, key=ours.get)[:2] == ["rand", "flip"]
    assert set(sorted(skills, key=skills.get)[:2]) == {"rand", "flip"}, (ours, skills)
    names = sorted(ours)
    assert spearmanr([ours[n] for n in names], [skills[n] for n in names]).statistic > 0


def test_dpo_weights_are_two_eta_minus_one_over_the_largest_and_never_negative():
    assert dpo_weights({"a": 0.9, "b": 0.7, "c": 0.5, "d": 0.3}) == {"a": 1.0, "b": 0.5, "c": 0.0, "d": 0.0}


def test_reward_training_learns_a_lower_reliability_for_a_random_labeler(tmp_path, tiny_bert_path):  # noqa: F811
    import random

    rng = random.Random(0)
    records = toy_ranking_records(48, 4, labelers=("ann", "bob", "rnd"), seed=0)
    for record in records:  # toy_ranking_records gives every labeler the true order; "rnd" clicks instead
        if record["labeler"] == "rnd":
            order = list(range(4))
            rng.shuffle(order)
            record["ranking"] = [[i] for i in order]
    rankings = [parse_ranking(r) for r in records]
    config = RewardConfig(output_dir=str(tmp_path / "rm"), base_model=tiny_bert_path, epochs=6, max_length=32,
                          completions_per_batch=16, learning_rate=3e-3, validation_fraction=0.0, checkpoint_every=0,
                          device="cpu", bf16=False, labeler_reliability=True, reliability_learning_rate=0.1,
                          reliability_method="joint")
    _, metrics = train_reward_model(config, rankings)
    eta = metrics["reward/labeler_reliability"]
    assert set(eta) == {"ann", "bob", "rnd"}
    assert eta["rnd"] < min(eta["ann"], eta["bob"]) - 0.1
    saved = json.loads((tmp_path / "rm" / "metrics.json").read_text())
    assert saved["final"]["reward/labeler_reliability"] == eta


def test_train_reward_cli_prints_the_reliability_only_with_the_flag(tmp_path, capsys, tiny_bert_path):  # noqa: F811
    from modeling.cli import main
    from tests.modeling.tiny_reward import write_toy_rankings

    rankings = write_toy_rankings(tmp_path / "r.jsonl", n_prompts=10, k=4)
    common = ["train-reward", "--rankings", rankings, "--base", tiny_bert_path, "--epochs", "1", "--max-length", "32",
              "--completions-per-batch", "16", "--device", "cpu", "--no-bf16"]
    assert main([*common, "--out", str(tmp_path / "a"), "--labeler-reliability", "--reliability-method", "joint"]) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(final["reward/labeler_reliability"]) == {"ann", "bob"}
    assert all(0 < eta < 1 for eta in final["reward/labeler_reliability"].values())
    assert main([*common, "--out", str(tmp_path / "b")]) == 0
    assert "reward/labeler_reliability" not in json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_a_killed_run_resumes_its_reliability_too(tmp_path, tiny_bert_path):  # noqa: F811
    rankings = [parse_ranking(r) for r in toy_ranking_records(16, 4, labelers=("ann", "bob"), seed=1)]

    class Killed(Exception):
        pass

    def kill_after_step_3(step, total, metrics):
        if step == 3:
            raise Killed

    def config(out):
        return RewardConfig(output_dir=str(out), base_model=tiny_bert_path, epochs=2, max_length=32,
                            completions_per_batch=8, validation_fraction=0.0, checkpoint_every=2, device="cpu",
                            bf16=False, labeler_reliability=True, reliability_method="joint")

    with pytest.raises(Killed):
        train_reward_model(config(tmp_path / "a"), rankings, kill_after_step_3)
    _, resumed = train_reward_model(config(tmp_path / "a"), rankings)
    _, straight = train_reward_model(config(tmp_path / "b"), rankings)
    for name, eta in straight["reward/labeler_reliability"].items():
        assert resumed["reward/labeler_reliability"][name] == pytest.approx(eta, abs=1e-3)
    assert straight["reward/labeler_reliability"]["ann"] != pytest.approx(0.8, abs=1e-3)  # it did move

"""Out-of-fold labeler reliability: the EM fit by hand, against crowd-kit's NoisyBradleyTerry on simulated
labelers, and through the reward trainer (tiny model)."""
from __future__ import annotations

import json
import random

import pytest
import torch

from modeling.errors import InputError
from modeling.formats.rankings import parse_ranking
from modeling.training.losses import grouped_bradley_terry_loss
from modeling.training.out_of_fold_reliability import CACHE_FILE, fit_reliability
from modeling.training.reward_config import RewardConfig
from modeling.training.reward_training import train_reward_model
from tests.modeling.tiny_reward import tiny_bert_path, toy_ranking_records  # noqa: F401
from tests.modeling.training.test_labeler_reliability import PANEL, simulated  # noqa: F401
from modeling.formats.comparisons import collate_groups


def test_fit_reliability_matches_hand_computed_values():
    sure = torch.ones(12)  # the model is sure each report was honest: z = 1, eta = (12 + 7) / (12 + 8)
    assert fit_reliability(sure, alpha=8, beta=2) == pytest.approx(19 / 20, abs=1e-5)
    half = torch.tensor([1.0, 0.0] * 10)  # half honest, half backwards, flat prior: 0.5
    assert fit_reliability(half, alpha=1.0, beta=1.0) == pytest.approx(0.5, abs=1e-4)
    assert fit_reliability(torch.full((30,), 0.5), alpha=8, beta=2) == pytest.approx(7 / 8, abs=1e-6)  # no evidence
    assert fit_reliability(torch.empty(0), alpha=8, beta=2) == pytest.approx(7 / 8, abs=1e-6)
    # p = 0.8 everywhere, flat prior: the likelihood eta 0.8 + (1 - eta) 0.2 grows with eta
    assert fit_reliability(torch.full((50,), 0.8), alpha=1.0, beta=1.0) > 0.99
    backwards = fit_reliability(torch.full((50,), 0.1), alpha=8, beta=2)
    assert backwards < 0.2


def out_of_labeler_estimates(groups) -> dict[str, float]:
    """Each labeler's eta from free scores (one per completion) fitted by plain BT to the *other* labelers'
    comparisons of the same prompts: the out-of-fold idea with free scores, which cannot generalise
    across prompts, so the fold is the labeler (every prompt is ranked by all five)."""
    for group in groups:
        group.input_ids = [[0]] * len(group.completions)
    batch = collate_groups([g for g in groups if g.num_pairs], 0)
    estimates = {}
    for name in sorted(set(batch.labelers)):
        mine = torch.tensor([labeler == name for labeler in batch.labelers])
        others = ~mine
        scores = torch.zeros(batch.input_ids.shape[0], requires_grad=True)  # (N,)
        optimizer = torch.optim.Adam([scores], lr=0.05)
        for _ in range(300):
            loss = grouped_bradley_terry_loss(scores, batch.better[others], batch.worse[others],
                                              batch.pair_group[others], batch.num_groups) + 1e-3 * scores.pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        p = torch.sigmoid(scores[batch.better[mine]] - scores[batch.worse[mine]]).detach()
        estimates[name] = fit_reliability(p, alpha=8.0, beta=2.0)
    return estimates


def test_out_of_fold_estimates_agree_with_crowd_kit_on_who_is_unreliable(simulated):  # noqa: F811
    pytest.importorskip("crowdkit")
    import pandas as pd
    from crowdkit.aggregation import NoisyBradleyTerry

    rows = [(labeler, (number, b), (number, w), (number, b)) if (number + p) % 2 else
            (labeler, (number, w), (number, b), (number, b))
            for number, g in enumerate(simulated) for p, (b, w, labeler) in enumerate(zip(g.better, g.worse, g.labelers))]
    skills = NoisyBradleyTerry(n_iter=200).fit(pd.DataFrame(rows, columns=["worker", "left", "right", "label"])).skills_
    ours = out_of_labeler_estimates(simulated)
    # both put the clicker among the bottom two; ours puts it last, at chance (judged by scores that never
    # saw its clicks), well under every good labeler. The 20 % flipper sits under the good labelers'
    # mean but among them (the simulated good labelers are noisy too: each flip costs little here)
    assert "rand" in set(skills.sort_values().index[:2])
    assert min(ours, key=ours.get) == "rand" and abs(ours["rand"] - 0.5) < 0.05
    assert min(ours[name] for name in PANEL) > ours["rand"] + 0.15
    assert sum(ours[name] for name in PANEL) / len(PANEL) > ours["flip"]


def random_labeler_rankings():
    rng = random.Random(0)
    records = toy_ranking_records(48, 4, labelers=("ann", "bob", "rnd"), seed=0)
    for record in records:
        if record["labeler"] == "rnd":
            order = list(range(4))
            rng.shuffle(order)
            record["ranking"] = [[i] for i in order]
    return [parse_ranking(r) for r in records]


def config(out, **overrides) -> RewardConfig:
    return RewardConfig(**{"output_dir": str(out), "epochs": 6, "max_length": 32, "completions_per_batch": 16,
                           "learning_rate": 3e-3, "validation_fraction": 0.0, "checkpoint_every": 0, "device": "cpu",
                           "bf16": False, "labeler_reliability": True, "reliability_method": "out_of_fold", **overrides})


def test_out_of_fold_training_gives_a_random_labeler_the_lowest_reliability_and_holds_it(tmp_path, tiny_bert_path):  # noqa: F811
    out = tmp_path / "rm"
    _, metrics = train_reward_model(config(out, base_model=tiny_bert_path), random_labeler_rankings())
    eta = metrics["reward/labeler_reliability"]
    assert set(eta) == {"ann", "bob", "rnd"}
    assert eta["rnd"] < min(eta["ann"], eta["bob"]) - 0.1
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["final"]["reward/labeler_reliability"] == eta
    assert not (out / "reliability_folds").exists() and not (out / CACHE_FILE).exists()  # published: folds gone


def test_a_resumed_run_reuses_its_out_of_fold_estimates(tmp_path, tiny_bert_path):  # noqa: F811
    out = tmp_path / "rm"
    out.mkdir()
    (out / CACHE_FILE).write_text(json.dumps({"ann": 0.9, "bob": 0.7, "rnd": 0.5}))  # left by a killed run
    _, metrics = train_reward_model(config(out, base_model=tiny_bert_path, epochs=1), random_labeler_rankings())
    assert metrics["reward/labeler_reliability"] == {"ann": 0.9, "bob": 0.7, "rnd": 0.5}


@pytest.mark.parametrize("overrides, message", [({"reliability_method": "em"}, "reliability_method"),
                                                 ({"reliability_folds": 1}, "at least 2")])
def test_bad_settings_are_refused_before_anything_is_written(tmp_path, tiny_bert_path, overrides, message):  # noqa: F811
    with pytest.raises(InputError, match=message):
        train_reward_model(config(tmp_path / "rm", base_model=tiny_bert_path, **overrides), random_labeler_rankings())
    assert not (tmp_path / "rm").exists()


def test_too_few_prompts_for_the_folds_is_refused(tmp_path, tiny_bert_path):  # noqa: F811
    with pytest.raises(InputError, match="training prompts"):
        train_reward_model(config(tmp_path / "rm", base_model=tiny_bert_path, reliability_folds=3),
                           random_labeler_rankings()[:3])


def test_train_reward_cli_refuses_an_unknown_method_with_one_line(tmp_path, capsys, tiny_bert_path):  # noqa: F811
    from modeling.cli import main
    from tests.modeling.tiny_reward import write_toy_rankings

    rankings = write_toy_rankings(tmp_path / "r.jsonl", n_prompts=6, k=4)
    code = main(["train-reward", "--rankings", rankings, "--base", tiny_bert_path, "--out", str(tmp_path / "a"),
                 "--device", "cpu", "--labeler-reliability", "--reliability-method", "bogus"])
    assert code != 0
    assert "reliability_method" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()

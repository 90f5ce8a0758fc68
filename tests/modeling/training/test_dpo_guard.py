"""The DPO stop rule: rankings that are noise over-fit, the rule stops, resumes alike and publishes the best."""
import random

import pytest
import torch

from modeling.formats.rankings import parse_ranking
from modeling.models import checkpoints
from modeling.training.dpo import DPOConfig, train_dpo
from modeling.training.dpo_guard import split_heldout
from modeling.formats.comparisons import group_rankings
from modeling.models.policy_model import load_policy
from tests.modeling.tiny_reward import toy_ranking_records


@pytest.fixture(scope="module")
def noise_rankings():
    """Toy rankings with every order shuffled: the training margin can only grow by memorising."""
    rng = random.Random(7)
    records = toy_ranking_records(16, 4)
    for record in records:
        order = list(range(4))
        rng.shuffle(order)
        record["ranking"] = [[i] for i in order]
    return [parse_ranking(r) for r in records]


def config(policy, out, **overrides):
    settings = dict(output_dir=str(out), policy=str(policy), learning_rate=5e-3, epochs=12, completions_per_batch=16,
                    kl_prompts=0, seed=0, stop_patience=2, heldout_fraction=0.25, warmup_ratio=0.0,
                    checkpoint_every=0, log_every=100)
    settings.update(overrides)
    return DPOConfig(**settings)


def weights(path):
    return load_policy(str(path), "cpu")[0].state_dict()


def test_noise_rankings_stop_on_the_held_out_accuracy_resume_alike_and_publish_the_best(tiny_policy_dir,
                                                                                        noise_rankings, tmp_path):
    published, metrics = train_dpo(config(tiny_policy_dir, tmp_path / "a"), noise_rankings)
    assert metrics["guard/stopped"] is True and metrics["guard/published"] == "best"
    assert metrics["guard/stop_reason"] == "held-out accuracy flat for 2 evaluations while training margin rose"
    best, stop = metrics["guard/best_iteration"], metrics["guard/stop_iteration"]
    evals = [row for row in metrics["history"] if "dpo/heldout/accuracy" in row]
    assert [row["step"] for row in evals][-1] == stop == metrics["dpo/steps"] < 12 * 3
    at_best = next(row for row in evals if row["step"] == best)
    assert all((row["dpo/heldout/accuracy"], row["dpo/heldout/margin"]) <= (at_best["dpo/heldout/accuracy"],
                                                                          at_best["dpo/heldout/margin"])
               for row in evals)
    assert evals[-1]["dpo/train_margin"] > at_best["dpo/train_margin"]
    assert metrics["dpo/heldout_groups"] == 4

    # a run killed one step after the best: its checkpoint at the best step is what was published
    def crash_after_best(step, total, m):
        if step == best + 1:
            raise KeyboardInterrupt

    out_b = tmp_path / "b"
    with pytest.raises(KeyboardInterrupt):
        train_dpo(config(tiny_policy_dir, out_b, checkpoint_every=1), noise_rankings, crash_after_best)
    assert checkpoints.checkpoint_step(checkpoints.latest_checkpoint(out_b)) == best
    at_checkpoint = torch.load(checkpoints.latest_checkpoint(out_b) / checkpoints.STATE_FILE, weights_only=False)["model"]
    got = weights(published)
    assert all(torch.equal(at_checkpoint[name], got[name]) for name in got)
    # resumed from there, the rule (its best so far) carries over: the same stop and the same policy
    resumed, again = train_dpo(config(tiny_policy_dir, out_b, checkpoint_every=1), noise_rankings)
    assert {k: again[k] for k in again if k.startswith("guard/")} == {k: metrics[k] for k in metrics
                                                                      if k.startswith("guard/")}
    final = weights(resumed)
    assert all(torch.equal(final[name], got[name]) for name in got)


def test_held_out_groups_are_seeded_and_never_all(noise_rankings):
    groups = group_rankings(noise_rankings)
    train, held = split_heldout(groups, 0.25, seed=0)
    assert len(held) == 4 and sorted(train + held) == list(range(16))
    assert split_heldout(groups, 0.25, seed=0) == (train, held)
    assert len(split_heldout(groups, 0.999, seed=0)[0]) == 1 and len(split_heldout(groups, 0.0001, seed=0)[1]) == 1


def test_with_one_group_the_rule_is_off_and_says_so(tiny_policy_dir, noise_rankings, tmp_path):
    one_prompt = [r for r in noise_rankings if r.prompt == noise_rankings[0].prompt]
    _, metrics = train_dpo(config(tiny_policy_dir, tmp_path / "dpo", epochs=2), one_prompt)
    assert metrics["guard/stopped"] is False and metrics["guard/published"] == "last"
    assert metrics["guard/note"] == "stop rule off: fewer than 2 ranking groups with pairs"
    assert metrics["dpo/groups"] == 1


@pytest.mark.parametrize("settings, message", [(dict(heldout_fraction=1.0), "--heldout-fraction"),
                                               (dict(stop_patience=-1), "--stop-patience >= 0")])
def test_bad_stop_settings_are_refused_before_anything_is_written(tiny_policy_dir, noise_rankings, tmp_path,
                                                                  settings, message):
    with pytest.raises(ValueError, match=message):
        train_dpo(config(tiny_policy_dir, tmp_path / "dpo", **settings), noise_rankings)
    assert not (tmp_path / "dpo").exists()

"""A round's DPO weighs each labeler's pairs by the reliability its reward model learnt."""
import json
from pathlib import Path

import pytest

from labeling.jobs.execute import run_execute
from labeling.models import ModelVersion, Run
from labeling.services.model_versions import model_version_register
from labeling.services.runs import run_enqueue
from tests.factories import UserFactory, make_task
from tests.labeling.test_jobs import _rank_everything
from tests.modeling.tiny_policy import tiny_policy_dir  # noqa: F401


@pytest.fixture(autouse=True)
def _runs_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def _dpo(policy, reward=None) -> ModelVersion:
    inputs = {"policy_version": policy.pk, **({"reward_version": reward.pk} if reward else {})}
    run = run_enqueue(kind=Run.Kind.DPO, config={"kl_prompts": 0, "device": "cpu", "completions_per_batch": 9,
                                                 "checkpoint_every": 0}, inputs=inputs)
    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
    return ModelVersion.objects.get(kind="policy", run=run)


def test_dpo_takes_its_weights_from_the_reward_versions_reliability(db, tiny_policy_dir):  # noqa: F811
    for i in range(4):
        make_task(k=3, required_rankings=2, texts=[f"a{i}", f"a much longer answer {i}", f"medium {i}"])
    good, clicker = UserFactory(), UserFactory()
    _rank_everything([good, clicker])
    policy = model_version_register(kind="policy", algorithm="external", path=tiny_policy_dir)
    reward = ModelVersion.objects.create(kind="reward", name="rm", algorithm="reward", path="/x", metrics={
        "reward/labeler_reliability": {good.username: 0.9, clicker.username: 0.5, "other": "odd"}})
    version = _dpo(policy, reward)
    saved = json.loads((Path(version.path) / "training_config.json").read_text())
    assert saved["values"]["labeler_weights"] == {good.username: 1.0, clicker.username: 0.0}
    # a reward model trained without reliability: every labeler weighs the same
    plain = ModelVersion.objects.create(kind="reward", name="rm-plain", algorithm="reward", path="/x", metrics={})
    saved = json.loads((Path(_dpo(policy, plain).path) / "training_config.json").read_text())
    assert saved["values"]["labeler_weights"] == {}

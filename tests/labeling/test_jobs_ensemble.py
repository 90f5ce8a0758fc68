"""A reward run with an ensemble (``ensemble`` in the round's reward settings) registers one version
whose directory holds the members; it downloads as one zip and PPO-style scoring reads it."""
import io
import zipfile

import pytest
from django.urls import reverse

from labeling.jobs.execute import run_execute
from labeling.models import ModelVersion, Run
from labeling.services.runs import run_enqueue
from tests.factories import UserFactory, make_task
from tests.labeling.test_jobs import _rank_everything


@pytest.fixture(autouse=True)
def _runs_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def test_an_ensemble_reward_run_registers_one_version_that_downloads_whole(db, client, tiny_bert_path):
    from modeling.models.reward_ensemble import is_reward_ensemble_dir, load_reward_ensemble

    for i in range(12):
        make_task(k=3, required_rankings=2, texts=[f"a{i}", f"a much longer answer {i}", f"medium {i}"])
    _rank_everything([UserFactory(), UserFactory()])
    run = run_enqueue(kind=Run.Kind.TRAIN_REWARD, config={"base_model": tiny_bert_path, "epochs": 1, "ensemble": 2,
                                                          "max_length": 32, "completions_per_batch": 12})
    assert run_execute(run_id=run.pk) == Run.Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
    version = ModelVersion.objects.get(kind="reward")
    assert is_reward_ensemble_dir(version.path) and "reward/ece" in version.metrics
    assert load_reward_ensemble(version.path).size == 2
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    response = client.get(reverse("model-version-download", args=[version.pk]))
    names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
    assert response.status_code == 200 and any(n.endswith("ensemble.json") for n in names)
    assert sum(n.endswith("/config.json") and "/members/" in n for n in names) == 2

"""Downloading a model version as a zipped Hugging Face checkpoint (staff only, streamed)."""
from __future__ import annotations

import io
import shutil
import zipfile

import pytest
from django.urls import reverse

from labeling.models import ModelVersion
from labeling.services.model_versions import model_version_register


@pytest.fixture
def tiny_version(db, tiny_policy_dir, tmp_path):
    checkpoint = tmp_path / "checkpoint"
    shutil.copytree(tiny_policy_dir, checkpoint)
    return model_version_register(kind=ModelVersion.Kind.POLICY, algorithm="bootstrap", path=checkpoint)


def download(client, version_id):
    return client.get(reverse("model-version-download", args=[version_id]))


def test_admin_downloads_a_checkpoint_that_from_pretrained_loads(client, admin, tiny_version, tiny_policy, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    client.force_login(admin)
    response = download(client, tiny_version.pk)
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{tiny_version.name}.zip"'
    chunks = list(response.streaming_content)
    assert len(chunks) > 1  # sent as it is written, not built whole first
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        assert archive.testzip() is None
        archive.extractall(tmp_path / "unzipped")
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "unzipped" / tiny_version.name).eval()
    AutoTokenizer.from_pretrained(tmp_path / "unzipped" / tiny_version.name)
    for mine, theirs in zip(loaded.state_dict().values(), tiny_policy.state_dict().values()):
        assert torch.equal(mine, theirs)


def test_the_models_page_shows_the_path_and_the_link(client, admin, tiny_version):
    client.force_login(admin)
    page = client.get(reverse("model-versions")).content.decode()
    assert tiny_version.path in page
    assert reverse("model-version-download", args=[tiny_version.pk]) in page


def test_labelers_get_403_and_visitors_the_login_page(client, labeler, other_labeler, tiny_version):
    response = download(client, tiny_version.pk)
    assert response.status_code == 302 and "/login/" in response["Location"]
    for user in (labeler, other_labeler):
        client.force_login(user)
        assert download(client, tiny_version.pk).status_code == 403


def test_unknown_version_or_a_checkpoint_gone_is_404(client, admin, tiny_version):
    client.force_login(admin)
    assert download(client, tiny_version.pk + 1000).status_code == 404
    shutil.rmtree(tiny_version.path)
    assert download(client, tiny_version.pk).status_code == 404


def test_post_is_refused(client, admin, tiny_version):
    client.force_login(admin)
    assert client.post(reverse("model-version-download", args=[tiny_version.pk])).status_code == 405


def test_a_symlink_in_the_checkpoint_is_not_followed(client, admin, tiny_version, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve")
    (tmp_path / "checkpoint" / "link.txt").symlink_to(secret)
    client.force_login(admin)
    body = b"".join(download(client, tiny_version.pk).streaming_content)
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert f"{tiny_version.name}/config.json" in names and f"{tiny_version.name}/link.txt" not in names

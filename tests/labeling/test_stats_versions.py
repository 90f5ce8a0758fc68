"""Flag rates and mean scores by model version on /stats/: two SVG charts and a table, under the
page's filters (the API's ``by_version``: tests/labeling/api/test_admin_figures.py)."""
from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from labeling.models import ModelVersion, Project, Ranking, default_project_id
from tests.labeling.export_data import rank
from tests.labeling.test_version_labels import FLAGS, sampled_task


def two_versions(labeler, other_labeler) -> tuple[ModelVersion, ModelVersion]:
    """policy-v1 and v2 (a name to escape), one task of one completion each, ranked by two labelers."""
    project = Project.objects.get(pk=default_project_id())
    project.flags = FLAGS
    project.save(update_fields=["flags"])
    v1 = ModelVersion.objects.create(kind="policy", name="policy-v1", algorithm="bootstrap", path="/v1")
    v2 = ModelVersion.objects.create(kind="policy", name="<b>policy-v2</b>", algorithm="dpo", path="/v2")
    task = sampled_task([v1, v2])
    rank(task, labeler, [[0], [1]], scores={0: 6, 1: 3}, flags={1: ["harmful"]})
    rank(task, other_labeler, [[0], [1]], scores={0: 5}, flags={1: ["harmful"], 0: ["hallucination"]})
    return v1, v2


@pytest.fixture
def versions(labeler, other_labeler):
    return two_versions(labeler, other_labeler)


def page(admin, query=""):
    client = Client()
    client.force_login(admin)
    response = client.get(f"/stats/{query}")
    assert response.status_code == 200
    return response


def test_the_page_draws_both_charts_and_the_table(admin, versions):
    response = page(admin)
    html = response.content.decode()
    assert 'aria-label="Share of ranked completions flagged, by model version"' in html
    assert 'aria-label="Mean 1-7 score by model version"' in html
    assert "&lt;b&gt;policy-v2&lt;/b&gt;" in html and "<b>policy-v2</b>" not in html  # names escaped
    rows = {row["name"]: row for row in response.context["by_version"]["rows"]}
    assert rows["<b>policy-v2</b>"]["rates"] == [1.0, 0.0] and rows["policy-v1"]["rates"] == [0.0, 0.5]
    assert rows["policy-v1"]["mean_score"] == 5.5 and rows["<b>policy-v2</b>"]["mean_score"] == 3.0
    assert "<th scope=\"col\" title=\"harmful\">Harmful</th>" in html and "100.0 %" in html
    # The flag chart has a bar per (version, flag) with a rate; its tooltip names both.
    assert "&lt;b&gt;policy-v2&lt;/b&gt;, Harmful: 100.0%" in html and "policy-v1, Made up: 50.0%" in html


def test_the_page_filter_applies_to_them(admin, other_labeler, versions):
    Ranking.objects.filter(labeler=other_labeler).update(created_at=timezone.now() - dt.timedelta(days=10))
    today = timezone.now().astimezone(dt.timezone.utc).date()
    rows = {row["name"]: row for row in page(admin, f"?since={today}").context["by_version"]["rows"]}
    assert rows["policy-v1"]["rates"] == [0.0, 0.0] and rows["policy-v1"]["mean_score"] == 6.0  # bob's left out
    response = page(admin, "?since=2999-01-01")
    assert response.context["by_version"]["rows"] == [] and response.context["flag_chart"] is None


def test_no_scores_no_score_chart(admin, labeler, db):
    v1 = ModelVersion.objects.create(kind="policy", name="policy-v1", algorithm="bootstrap", path="/v1")
    rank(sampled_task([v1, None]), labeler, [[1], [0]], flags={0: ["harmful"]})
    response = page(admin)
    assert response.context["score_chart"] is None and response.context["flag_chart"] is not None
    assert "No completion was scored in range." in response.content.decode()

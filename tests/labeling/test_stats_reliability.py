"""The labeler table's reliability column: each labeler's eta from the newest reward model's metrics."""
from __future__ import annotations

import csv
import io

from django.urls import reverse

from labeling.models import ModelVersion
from labeling.selectors import stats as selectors
from tests.labeling.test_stats_views import _rank_all


def _reward(name: str, metrics: dict) -> ModelVersion:
    return ModelVersion.objects.create(kind=ModelVersion.Kind.REWARD, name=name, algorithm="reward", path="/x",
                                       metrics=metrics)


def test_reliability_comes_from_the_newest_reward_model_and_odd_values_are_ignored(db, task_factory, labeler):
    project = task_factory(k=2).prompt.project
    assert selectors.reward_model_reliability(project) == {}
    _reward("rm-1", {"reward/labeler_reliability": {"alice": 0.9}})
    _reward("rm-2", {"reward/labeler_reliability": {"alice": 0.85, "bob": 0.52, "cy": 1.7, "dee": "high",
                                                    "eve": True}})
    assert selectors.reward_model_reliability(project) == {"alice": 0.85, "bob": 0.52}
    _reward("rm-3", {"reward/labeler_reliability": ["alice", 0.9]})  # not an object: nothing
    assert selectors.reward_model_reliability(project) == {}


def test_the_column_shows_the_estimate_flags_a_random_clicker_and_is_in_the_csv(admin_client, labeler,
                                                                                 other_labeler, task_factory):
    _rank_all([task_factory(k=3)], [labeler, other_labeler])
    page = admin_client.get(reverse("stats")).content.decode()
    assert "Reliability (reward model)" in page and "85.0 %" not in page
    _reward("rm", {"reward/labeler_reliability": {"alice": 0.85, "bob": 0.52}})
    response = admin_client.get(reverse("stats"), {"sort": "reliability"})
    rows = response.context["rows"]
    assert [(r["name"], r["reliability"]) for r in rows] == [("bob", 0.52), ("alice", 0.85)]
    assert "reliability" in rows[0]["flags"] and "reliability" not in rows[1]["flags"]
    assert "85.0 %" in response.content.decode() and "52.0 %" in response.content.decode()
    table = list(csv.DictReader(io.StringIO(admin_client.get(reverse("stats-labelers-csv")).content.decode())))
    assert {row["name"]: row["reliability"] for row in table} == {"alice": "0.8500", "bob": "0.5200"}

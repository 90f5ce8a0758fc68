"""labeling/services/version_rollups.py: the daily roll-up of scores and flags by model version.

The page reads the roll-ups; the pass over rankings is the reference. On rankings of two projects,
two days, a round, an imported set and a ranking a reviewer rejected, both must give the same
figures under every filter the roll-ups carry, and the hand-counted ones."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from labeling.models import ModelVersion, Project, Prompt, Ranking, RankingTask, default_project_id
from labeling.selectors.rankings import RankingFilter
from labeling.selectors.version_labels import rollups_answer, stats_labels_by_version
from labeling.services.stats import stats_rebuild_all, stats_refresh, task_stats_rebuild
from labeling.stats_models import VersionLabelDay
from tests.factories import UserFactory
from tests.labeling.export_data import make_round, rank, sample_into_round
from tests.labeling.test_version_labels import FLAGS, by_name, sampled_task

TODAY = timezone.now().astimezone(dt.timezone.utc).date()


def with_flags(project: Project) -> Project:
    project.flags = FLAGS
    project.save(update_fields=["flags"])
    return project


@pytest.fixture
def world(labeler, other_labeler):
    home = with_flags(Project.objects.get(pk=default_project_id()))
    other = with_flags(Project.objects.create(slug="other", name="Other"))
    v1 = ModelVersion.objects.create(kind="policy", name="policy-v1", algorithm="bootstrap", path="/v1")
    v2 = ModelVersion.objects.create(kind="policy", name="policy-v2", algorithm="dpo", path="/v2", parent=v1)
    v3 = ModelVersion.objects.create(kind="policy", name="other-v1", algorithm="bootstrap", path="/o1", project=other)
    training_round = make_round()
    in_round = sample_into_round(sampled_task([v1, v2]), training_round)
    imported = sampled_task([v1, None])
    RankingTask.objects.filter(pk=imported.pk).update(task_set="import.jsonl")
    elsewhere = sampled_task([v3, None])
    Prompt.objects.filter(pk=elsewhere.prompt_id).update(project=other)
    rank(in_round, labeler, [[0], [1]], scores={0: 6, 1: 2}, flags={1: ["harmful"]})
    rejected = rank(in_round, other_labeler, [[1], [0]], scores={0: 1, 1: 7}, flags={0: ["harmful"], 1: ["harmful"]})
    Ranking.objects.filter(pk=rejected.pk).update(review_status="rejected")
    old = rank(imported, labeler, [[0], [1]], scores={0: 5, 1: 4}, flags={0: ["hallucination"]})
    Ranking.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    rank(imported, other_labeler, [[1], [0]], scores={0: 3}, flags={1: ["harmful", "hallucination"]})
    rank(elsewhere, labeler, [[0], [1]], scores={0: 2, 1: 6}, flags={0: ["harmful"]})
    assert stats_refresh() == 4  # the rejected ranking is not counted
    return {"home": home, "other": other, "round": training_round.pk, "in_round": in_round, "imported": imported}


def both(f: RankingFilter) -> dict:
    """The figures from the roll-ups, checked equal to the pass over rankings."""
    assert rollups_answer(f)
    from_rollups = stats_labels_by_version(f)
    assert from_rollups == stats_labels_by_version(f, from_rankings=True)
    return by_name(from_rollups)


def test_the_rollups_equal_the_pass_over_rankings_under_every_filter_they_carry(world):
    home = world["home"]
    rows = both(RankingFilter(project=home))
    # v1: ranked by labeler in the round and twice in the import (the rejected ranking left out): 6, 5, 3.
    assert rows["policy-v1"]["ranked"] == 3 and rows["policy-v1"]["mean_score"] == pytest.approx(14 / 3)
    assert rows["policy-v2"]["flag_counts"] == {"harmful": 1, "hallucination": 0}  # the rejected "harmful" not counted
    assert rows["imported"]["ranked"] == 2 and rows["imported"]["flag_counts"] == {"harmful": 1, "hallucination": 1}
    assert "other-v1" not in rows
    by_round = both(RankingFilter(project=home, rounds=(world["round"],)))
    assert set(by_round) == {"policy-v1", "policy-v2"} and by_round["policy-v1"]["mean_score"] == 6.0
    by_set = both(RankingFilter(project=home, task_sets=("import.jsonl",)))
    assert set(by_set) == {"imported", "policy-v1"} and by_set["policy-v1"]["ranked"] == 2
    today = both(RankingFilter(project=home, task_sets=("import.jsonl",), since=TODAY))
    assert today["policy-v1"]["ranked"] == 1 and today["policy-v1"]["scored"] == 1
    before = both(RankingFilter(project=home, until=TODAY - dt.timedelta(days=1)))
    assert before["policy-v1"]["flag_counts"]["hallucination"] == 1 and set(before) == {"imported", "policy-v1"}
    elsewhere = both(RankingFilter(project=world["other"]))
    assert set(elsewhere) == {"imported", "other-v1"} and elsewhere["other-v1"]["mean_score"] == 2.0


def test_rollups_are_keyed_like_the_others(world):
    keys = set(VersionLabelDay.objects.values_list("project__slug", "day", "task_set", "training_round",
                                                   "model_version__name"))
    earlier = TODAY - dt.timedelta(days=3)
    assert keys == {
        ("default", TODAY, f"round-{world['round']}", world["round"], "policy-v1"),
        ("default", TODAY, f"round-{world['round']}", world["round"], "policy-v2"),
        ("default", TODAY, "import.jsonl", None, "policy-v1"), ("default", TODAY, "import.jsonl", None, None),
        ("default", earlier, "import.jsonl", None, "policy-v1"), ("default", earlier, "import.jsonl", None, None),
        ("other", TODAY, "", None, "other-v1"), ("other", TODAY, "", None, None),
    }


def test_a_new_ranking_updates_them(world):
    home = RankingFilter(project=world["home"])
    rank(world["imported"], UserFactory(), [[0], [1]], scores={0: 7, 1: 1}, flags={0: ["harmful"]})
    assert stats_labels_by_version(home) != stats_labels_by_version(home, from_rankings=True)  # not counted yet
    assert stats_refresh() == 3  # its task recounted: its three rankings
    rows = both(home)
    assert rows["policy-v1"]["ranked"] == 4 and rows["policy-v1"]["mean_score"] == pytest.approx(21 / 4)
    assert rows["policy-v1"]["flag_counts"]["harmful"] == 1 and rows["imported"]["scored"] == 2


def test_a_review_decision_and_a_deleted_ranking_are_followed(world):
    home = RankingFilter(project=world["home"])
    Ranking.objects.filter(task=world["in_round"]).update(review_status="")  # the rejection withdrawn
    task_stats_rebuild(task_ids=[world["in_round"].pk])
    assert both(home)["policy-v2"]["flag_counts"]["harmful"] == 2
    Ranking.objects.filter(task=world["imported"]).delete()
    stats_rebuild_all()
    rows = both(home)
    assert set(rows) == {"policy-v1", "policy-v2"} and rows["policy-v1"]["ranked"] == 2
    assert not VersionLabelDay.objects.filter(task_set="import.jsonl").exists()


def test_a_filter_the_rollups_do_not_carry_reads_the_rankings(world, labeler):
    by_labeler = RankingFilter(project=world["home"], labelers=(labeler.username,))
    assert not rollups_answer(by_labeler)
    assert not rollups_answer(RankingFilter(project=world["home"], include_rejected=True))
    rows = by_name(stats_labels_by_version(by_labeler))
    assert rows["policy-v1"]["ranked"] == 2 and rows["policy-v1"]["mean_score"] == 5.5  # the labeler's 6 and 5
    with pytest.raises(ValueError):
        stats_labels_by_version(by_labeler, from_rankings=False)

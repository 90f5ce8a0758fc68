"""labeling/selectors/version_labels.py: flag rates and mean scores per policy version, exact on known rankings.

Each figure test runs twice (the ``read`` fixture): from the daily roll-ups, after the agreement
cache is recounted, and from the pass over rankings; both must give the figures worked out by hand."""
from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from labeling.models import Completion, ModelVersion, Project, Ranking, default_project_id
from labeling.selectors.rankings import RankingFilter
from labeling.selectors.version_labels import stats_labels_by_version
from labeling.services.stats import stats_rebuild_all
from tests.factories import UserFactory, make_task
from tests.labeling.export_data import make_round, rank, sample_into_round

FLAGS = [["harmful", "Harmful"], ["hallucination", "Made up"]]


def default_project() -> Project:
    return Project.objects.get(pk=default_project_id())


def sampled_task(versions: list[ModelVersion | None]) -> object:
    """A task whose completion i was sampled by ``versions[i]`` (None: imported)."""
    task = make_task(k=len(versions))
    for completion, version in zip(task.completions.order_by("pk"), versions):
        if version is not None:
            Completion.objects.filter(pk=completion.pk).update(model_version=version, source="model")
    return task


@pytest.fixture
def world(labeler, other_labeler):
    project = default_project()
    project.flags = FLAGS  # "other" is not offered: stored, but not charted
    project.save(update_fields=["flags"])
    v1 = ModelVersion.objects.create(kind="policy", name="policy-v1", algorithm="bootstrap", path="/v1")
    v2 = ModelVersion.objects.create(kind="policy", name="policy-v2", algorithm="dpo", path="/v2", parent=v1)
    first, second = sampled_task([v1, v2]), sampled_task([v1, v2, None])
    rank(first, labeler, [[0], [1]], scores={0: 6, 1: 2}, flags={1: ["harmful"]})
    bob = rank(first, other_labeler, [[0], [1]], scores={0: 4},
               flags={0: ["hallucination"], 1: ["hallucination", "harmful", "other"]})
    rank(second, labeler, [[2], [0], [1]], scores={0: 5, 1: 3, 2: 7}, flags={1: ["harmful"]})
    return {"v1": v1, "v2": v2, "bob": bob, "first": first, "second": second}


@pytest.fixture(params=["rollups", "rankings"])
def read(request):
    """stats_labels_by_version from the roll-ups (the cache recounted first) or from the rankings."""
    def figures(f: RankingFilter, **options) -> dict:
        if request.param == "rankings":
            return stats_labels_by_version(f, from_rankings=True, **options)
        stats_rebuild_all()
        return stats_labels_by_version(f, from_rankings=False, **options)
    return figures


def by_name(figures: dict) -> dict:
    return {row["name"]: row for row in figures["versions"]}


def test_flag_rates_and_mean_scores_per_version_are_exact(read, world):
    figures = read(RankingFilter(project=default_project()))
    assert figures["flags"] == [("harmful", "Harmful"), ("hallucination", "Made up")]
    assert [row["name"] for row in figures["versions"]] == ["imported", "policy-v1", "policy-v2"]
    rows = by_name(figures)
    # v1: ranked 3 times (first by two, second by one), scored 6, 4, 5; one hallucination flag.
    assert rows["policy-v1"] == {
        "version": world["v1"].pk, "name": "policy-v1", "ranked": 3, "scored": 3, "mean_score": 5.0,
        "flag_counts": {"harmful": 0, "hallucination": 1}, "flag_rates": {"harmful": 0.0, "hallucination": 1 / 3}}
    # v2: ranked 3 times, scored 2 and 3; harmful every time, hallucination once; "other" not offered.
    assert rows["policy-v2"]["mean_score"] == 2.5 and rows["policy-v2"]["scored"] == 2
    assert rows["policy-v2"]["flag_rates"] == {"harmful": 1.0, "hallucination": 1 / 3}
    assert rows["imported"] == {"version": None, "name": "imported", "ranked": 1, "scored": 1, "mean_score": 7.0,
                                "flag_counts": {"harmful": 0, "hallucination": 0},
                                "flag_rates": {"harmful": 0.0, "hallucination": 0.0}}


def test_versions_follow_creation_not_name_or_id_order(read, world):
    # A version made later but with an earlier name and created_at moved back in time comes first.
    Ranking.objects.all().delete()
    ModelVersion.objects.filter(pk=world["v2"].pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    rank(world["first"], UserFactory(), [[1], [0]])
    assert [r["name"] for r in read(RankingFilter(project=default_project()))["versions"]] == [
        "policy-v2", "policy-v1"]


def test_the_stats_filter_narrows_the_rankings_counted(read, world):
    project = default_project()
    Ranking.objects.filter(pk=world["bob"].pk).update(created_at=timezone.now() - dt.timedelta(days=10))
    today = timezone.now().astimezone(dt.timezone.utc).date()
    rows = by_name(read(RankingFilter(project=project, since=today)))
    assert rows["policy-v1"]["ranked"] == 2 and rows["policy-v1"]["mean_score"] == 5.5  # bob's 4 left out
    assert rows["policy-v2"]["flag_rates"]["hallucination"] == 0.0
    in_round = sample_into_round(world["second"], make_round())
    rows = by_name(read(RankingFilter(project=project, rounds=(in_round.source_run.training_round_id,))))
    assert {name: row["ranked"] for name, row in rows.items()} == {"imported": 1, "policy-v1": 1, "policy-v2": 1}


def test_values_the_submit_service_never_writes_are_passed_over(read, world):
    # The Django admin edits scores and flags as raw JSON: a text score or a flag that is not a list counts for nothing.
    bob = world["bob"]
    v1_id = str(world["first"].completions.order_by("pk").first().pk)
    Ranking.objects.filter(pk=bob.pk).update(scores={v1_id: "4"}, flags={v1_id: 3})
    rows = by_name(read(RankingFilter(project=default_project())))
    assert rows["policy-v1"]["scored"] == 2 and rows["policy-v1"]["mean_score"] == 5.5
    assert rows["policy-v1"]["flag_counts"]["hallucination"] == 0
    Ranking.objects.filter(pk=bob.pk).update(scores=[4], flags="harmful")
    assert by_name(read(RankingFilter(project=default_project())))["policy-v1"]["scored"] == 2


def test_a_ranking_a_reviewer_rejected_is_not_counted(read, world):
    Ranking.objects.filter(pk=world["bob"].pk).update(review_status="rejected")
    rows = by_name(read(RankingFilter(project=default_project())))
    assert rows["policy-v2"]["ranked"] == 2 and rows["policy-v2"]["flag_counts"]["hallucination"] == 0


def test_another_projects_rankings_and_an_empty_filter(read, world):
    other = Project.objects.create(slug="other", name="Other")
    figures = read(RankingFilter(project=other))
    assert figures["versions"] == [] and [key for key, _ in figures["flags"]][:3] == ["instruction", "hallucination",
                                                                                      "harmful"]


def test_reads_rankings_in_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    for _ in range(30):
        task = sampled_task([world["v1"], world["v2"]])
        rank(task, UserFactory(), [[0], [1]], scores={0: 3}, flags={1: ["harmful"]})
    everything = RankingFilter(project=default_project())
    with django_assert_max_num_queries(4):  # ranked per version, completions' versions, rankings, versions' names
        figures = stats_labels_by_version(everything, chunk_size=10, from_rankings=True)
    assert by_name(figures)["policy-v2"]["flag_counts"]["harmful"] == 3 + 30
    stats_rebuild_all()
    with django_assert_max_num_queries(2):  # the roll-ups, the versions' names
        assert stats_labels_by_version(everything) == figures

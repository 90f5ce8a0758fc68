"""Migration 0007 keys the agreement cache by project: it empties the cache, and the next refresh
recounts every ranking under its task's project."""
import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.labeling.test_migration_task_sets import back_to_the_latest_schema  # noqa: F401 (fixture)

BEFORE = [("labeling", "0006_project_settings_invites")]
AFTER = [("labeling", "0007_stats_by_project")]


@pytest.mark.django_db(transaction=True)
def test_cache_is_emptied_then_recounted_under_each_project(back_to_the_latest_schema):  # noqa: F811
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    get = lambda name: apps.get_model("labeling", name)  # noqa: E731
    user = apps.get_model(settings.AUTH_USER_MODEL).objects.create(username="alice")
    other = get("Project").objects.create(slug="other", name="Other")
    ranking_ids = []
    default, _ = get("Project").objects.get_or_create(slug="default", defaults={"name": "Default"})
    for project in (default, other):
        task = get("RankingTask").objects.create(prompt=get("Prompt").objects.create(text=project.slug, project=project))
        first, second = (get("Completion").objects.create(task=task, text=t) for t in ("a", "b"))
        ranking = get("Ranking").objects.create(task=task, labeler=user, tiers=[[first.pk], [second.pk]],
                                                display_order=[first.pk, second.pk], submission_id=project.slug)
        ranking_ids.append(ranking.pk)
        get("RankingStats").objects.create(ranking=ranking, task=task, labeler=user, created_at=ranking.created_at,
                                           day=ranking.created_at.date())
    # Before: one roll-up row summed both projects' rankings.
    get("LabelerDay").objects.create(day=ranking.created_at.date(), labeler=user, rankings=2, consensus_agree=0,
                                     consensus_compared=0, gold_agree=0, gold_compared=0,
                                     follows_display_order=2, first_shown_credit=0, first_shown_chance=1.0)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    for name in ("RankingStats", "LabelerDay"):
        assert not apps.get_model("labeling", name).objects.exists()

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    from labeling.models import LabelerDay, RankingStats
    from labeling.services.stats import stats_refresh

    assert stats_refresh() == 2
    assert dict(RankingStats.objects.values_list("ranking_id", "project__slug")) == dict(
        zip(ranking_ids, ["default", "other"]))
    assert sorted(LabelerDay.objects.values_list("project__slug", "rankings")) == [("default", 1), ("other", 1)]

"""Migration 0009 adds the by-version roll-up (VersionLabelDay): it empties the agreement cache, and
the next refresh recounts every ranking and fills the new roll-up too."""
import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.labeling.test_migration_task_sets import back_to_the_latest_schema  # noqa: F401 (fixture)

BEFORE = [("labeling", "0008_demonstrations_review_honeypots")]
AFTER = [("labeling", "0009_version_label_rollups")]


@pytest.mark.django_db(transaction=True)
def test_cache_is_emptied_then_recounted_with_the_version_rollup(back_to_the_latest_schema):  # noqa: F811
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    get = lambda name: apps.get_model("labeling", name)  # noqa: E731
    user = apps.get_model(settings.AUTH_USER_MODEL).objects.create(username="alice")
    project, _ = get("Project").objects.get_or_create(slug="default", defaults={"name": "Default"})
    version = get("ModelVersion").objects.create(kind="policy", name="policy-v1", algorithm="bootstrap", path="/v1",
                                                 project=project)
    task = get("RankingTask").objects.create(prompt=get("Prompt").objects.create(text="p", project=project))
    sampled = get("Completion").objects.create(task=task, text="a", source="model", model_version=version)
    seed = get("Completion").objects.create(task=task, text="b")
    ranking = get("Ranking").objects.create(task=task, labeler=user, tiers=[[sampled.pk], [seed.pk]],
                                            display_order=[sampled.pk, seed.pk], submission_id="s1",
                                            scores={str(sampled.pk): 6}, flags={str(seed.pk): ["harmful"]})
    # Counted before 0009: a refresh would find nothing new, and the new roll-up would stay empty.
    get("RankingStats").objects.create(ranking=ranking, task=task, labeler=user, project=project,
                                       created_at=ranking.created_at, day=ranking.created_at.date())

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    for name in ("RankingStats", "VersionLabelDay"):
        assert not apps.get_model("labeling", name).objects.exists()

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    from labeling.services.stats import stats_refresh
    from labeling.stats_models import VersionLabelDay

    assert stats_refresh() == 1
    assert sorted(VersionLabelDay.objects.values_list("model_version__name", "ranked", "scored", "score_sum",
                                                      "flag_counts"), key=str) == [
        ("policy-v1", 1, 1, 6, {}), (None, 1, 0, 0, {"harmful": 1})]

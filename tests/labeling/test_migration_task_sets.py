"""Migration 0002 gives tasks made before it their task set and source run, and empties the stale cache."""
import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("labeling", "0001_initial")]
AFTER = [("labeling", "0002_task_source_run_and_set")]


@pytest.fixture
def back_to_the_latest_schema():
    """Later tests in the same database need every migration applied again."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_existing_tasks_get_their_set_and_run_from_their_completions(back_to_the_latest_schema):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    get = lambda name: apps.get_model("labeling", name)  # noqa: E731
    User, Task, Completion = apps.get_model(settings.AUTH_USER_MODEL), get("RankingTask"), get("Completion")
    policy = get("ModelVersion").objects.create(kind="policy", name="p", algorithm="external", path="/p")
    training_round = get("TrainingRound").objects.create(algo="dpo", policy_in=policy, active=False)
    in_round = get("Run").objects.create(kind="sample", training_round=training_round)
    alone = get("Run").objects.create(kind="sample")
    sources = {"round": ("model", f"run {in_round.pk}"), "alone": ("model", f"run {alone.pk}"),
               "import": ("import", "data/batch-3.jsonl"), "demo": ("seed", "demo_tasks.jsonl"),
               "other": ("seed", "simulated")}
    tasks = {}
    for name, (source, detail) in sources.items():
        tasks[name] = Task.objects.create(prompt=get("Prompt").objects.create(text=name))
        for text in ("a", "b"):
            Completion.objects.create(task=tasks[name], text=text, source=source, source_detail=detail)
    user = User.objects.create(username="alice")
    ranking = get("Ranking").objects.create(task=tasks["round"], labeler=user, tiers=[], display_order=[],
                                            submission_id="s")
    get("RankingStats").objects.create(ranking=ranking, task=tasks["round"], labeler=user,
                                       created_at=ranking.created_at, day=ranking.created_at.date())

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    Task = apps.get_model("labeling", "RankingTask")
    got = {name: Task.objects.values_list("task_set", "source_run").get(pk=task.pk) for name, task in tasks.items()}
    assert got == {"round": (f"round-{training_round.pk}", in_round.pk), "alone": (f"run-{alone.pk}", alone.pk),
                   "import": ("batch-3.jsonl", None), "demo": ("demo", None), "other": ("", None)}
    assert not apps.get_model("labeling", "RankingStats").objects.exists()  # recounted by the next refresh

"""Migration 0005 puts everything made before projects into the ``default`` project, open to all."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.labeling.test_migration_task_sets import back_to_the_latest_schema  # noqa: F401 (fixture)

BEFORE = [("labeling", "0004_prompt_messages")]
AFTER = [("labeling", "0005_projects")]


@pytest.mark.django_db(transaction=True)
def test_existing_rows_go_into_the_default_project(back_to_the_latest_schema):  # noqa: F811
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    get = lambda name: apps.get_model("labeling", name)  # noqa: E731
    prompt = get("Prompt").objects.create(text="hello", external_id="p-1")
    policy = get("ModelVersion").objects.create(kind="policy", name="p", algorithm="external", path="/p")
    training_round = get("TrainingRound").objects.create(algo="dpo", policy_in=policy, active=False)
    run = get("Run").objects.create(kind="sample", training_round=training_round)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    get = lambda name: apps.get_model("labeling", name)  # noqa: E731
    default = get("Project").objects.get(slug="default")
    assert default.open_to_all and default.name == "Default"
    for model, pk in (("Prompt", prompt.pk), ("ModelVersion", policy.pk), ("TrainingRound", training_round.pk),
                      ("Run", run.pk)):
        assert get(model).objects.get(pk=pk).project_id == default.pk
    # an external id is unique per project now: another project may reuse it
    other = get("Project").objects.create(slug="other", name="Other")
    get("Prompt").objects.create(text="hello again", external_id="p-1", project=other)

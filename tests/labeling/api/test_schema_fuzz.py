"""A bounded schemathesis run against a live server: no endpoint answers 5xx, every answer fits the schema.

Each operation of /api/v1/schema/ gets a few generated requests (``MAX_EXAMPLES``) sent with an admin
token, so the staff endpoints run their real code. Data exists for them to read: a task with a live
lease, a ranking, a model version, a run and a round.
"""
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from labeling.models import ModelVersion, Run, TrainingRound
from labeling.services.assignment import task_assign_next
from labeling.services.ranking import ranking_submit
from tests.factories import make_task

MAX_EXAMPLES = 6
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _some_data(admin, labeler):
    policy = ModelVersion.objects.create(kind="policy", name="policy-v0", algorithm="external", path="/ckpt/p0")
    training_round = TrainingRound.objects.create(algo="dpo", policy_in=policy, active=False, status="failed")
    Run.objects.create(kind="dpo", status="failed", training_round=training_round, metrics=[{"step": 1, "dpo/loss": 1}])
    for _ in range(2):
        make_task(k=3)
    for user in (admin, labeler):
        assignment = task_assign_next(labeler=user)
        ranking_submit(labeler=user, assignment_id=assignment.pk, tiers=[assignment.display_order], submission_id="s")
    task_assign_next(labeler=admin)  # a live lease of the admin's, so a ranking can go through


def _fuzz(operation, *, base_url: str, headers: dict) -> set[int]:
    """Send MAX_EXAMPLES generated requests to one operation; the statuses it answered."""
    statuses = set()

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def call(case):
        statuses.add(case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS).status_code)

    call()
    return statuses


@pytest.mark.django_db(transaction=True)
def test_the_api_keeps_to_its_schema_under_generated_requests(live_server, admin, labeler):
    _some_data(admin, labeler)
    headers = {"Authorization": f"Token {Token.objects.create(user=admin).key}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 25
    statuses: dict[str, set[int]] = {}
    for operation in operations:
        statuses[operation.label] = _fuzz(operation, base_url=live_server.url, headers=headers)
    # The admin token got through: every list and figure endpoint answered 200 at least once.
    lists = [label for label in statuses if label.startswith("GET") and "{" not in label]
    assert len(lists) == 10 and all(200 in statuses[label] for label in lists), statuses

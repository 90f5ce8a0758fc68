"""Staff endpoints for model versions, runs (cancel) and training rounds (start, same refusals as the page)."""
import pytest

from labeling.models import ModelVersion, Run, TrainingRound
from tests.labeling.api.conftest import assert_error


@pytest.fixture
def policy(db, tmp_path):
    return ModelVersion.objects.create(kind="policy", name="policy-v0", algorithm="external", path=str(tmp_path))


def test_model_versions_list_and_detail_give_the_checkpoint_path(api, admin, policy):
    reward = ModelVersion.objects.create(kind="reward", name="reward-v0", algorithm="reward", path="/ckpt/rm",
                                         parent=policy, metrics={"reward/accuracy": 0.8})
    listed = api(admin).get("/api/v1/model-versions/").json()
    assert [v["name"] for v in listed["results"]] == ["reward-v0", "policy-v0"]
    detail = api(admin).get(f"/api/v1/model-versions/{reward.pk}/").json()
    assert detail["path"] == "/ckpt/rm" and detail["parent"] == policy.pk and detail["kind"] == "reward"
    assert detail["metrics"] == {"reward/accuracy": 0.8}
    assert_error(api(admin).get("/api/v1/model-versions/999999/"), 404, "id", "no such model version")
    assert_error(api(admin).get("/api/v1/runs/999999/"), 404, "id", "no such run")
    assert_error(api(admin).get("/api/v1/rounds/999999/"), 404, "id", "no such training round")


def test_runs_list_and_detail_give_progress_and_metrics(api, admin):
    metrics = [{"step": 1, "dpo/loss": 0.7}, {"step": 2, "dpo/loss": 0.5}]
    run = Run.objects.create(kind="dpo", status="running", progress=40, metrics=metrics, log_tail="step 2")
    row = api(admin).get("/api/v1/runs/").json()["results"][0]
    assert row["id"] == run.pk and row["progress"] == 40 and row["latest_metrics"] == metrics[-1]
    assert "metrics" not in row
    detail = api(admin).get(f"/api/v1/runs/{run.pk}/").json()
    assert detail["metrics"] == metrics and detail["log_tail"] == "step 2" and detail["status"] == "running"


def test_cancelling_runs(api, admin):
    queued = Run.objects.create(kind="sample")
    running = Run.objects.create(kind="dpo", status="running")
    done = Run.objects.create(kind="dpo", status="succeeded")
    response = api(admin).post(f"/api/v1/runs/{queued.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    response = api(admin).post(f"/api/v1/runs/{running.pk}/cancel/")
    assert response.status_code == 200 and response.json()["cancel_requested"] is True
    assert_error(api(admin).post(f"/api/v1/runs/{done.pk}/cancel/"), 409, "run", "already succeeded")
    assert_error(api(admin).post("/api/v1/runs/999999/cancel/"), 404, "run", "no such run")
    done.refresh_from_db()
    assert done.status == "succeeded" and not done.cancel_requested


def test_starting_a_round(api, admin, policy, settings, task_factory):
    settings.ROUND_MIN_NEW_RANKINGS = 0
    task_factory(k=2)
    response = api(admin).post("/api/v1/rounds/", {"algo": "dpo", "beta": 0.2, "k": 3}, format="json")
    training_round = TrainingRound.objects.get()
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] == training_round.pk and body["status"] == "running" and body["policy_in"] == policy.pk
    assert body["runs"] == [training_round.runs.get().pk] and training_round.runs.get().kind == "train_reward"
    assert training_round.config["dpo"]["beta"] == 0.2 and training_round.config["sample"]["k"] == 3
    assert training_round.created_by == admin
    assert api(admin).get(f"/api/v1/rounds/{training_round.pk}/").json() == body
    assert api(admin).get("/api/v1/rounds/").json()["results"] == [body]
    assert_error(api(admin).post("/api/v1/rounds/", {"algo": "ppo"}, format="json"), 409, "round", "still running")
    assert TrainingRound.objects.count() == 1


@pytest.mark.parametrize("body, status, field, words", [
    ({"algo": "grpo"}, 400, "algo", "valid choice"),
    ({"algo": "dpo", "k": 12}, 400, "k", "less than or equal to 9"),
    ({"algo": "dpo", "beta": "lots"}, 400, "beta", "number"),
    ({"algo": "dpo", "temperature": 2}, 400, "temperature", "unknown field"),
    (["dpo"], 400, "body", "json object"),
    ({"algo": "dpo"}, 409, "rankings", "new rankings since the last round"),
])
def test_a_refused_round_says_why_and_starts_nothing(api, admin, policy, body, status, field, words):
    assert_error(api(admin).post("/api/v1/rounds/", body, format="json"), status, field, words)
    assert not TrainingRound.objects.exists() and not Run.objects.exists()


def test_a_round_without_a_policy_is_refused(api, admin, settings):
    settings.ROUND_MIN_NEW_RANKINGS = 0
    assert_error(api(admin).post("/api/v1/rounds/", {"algo": "dpo"}, format="json"), 409, "policy", "no policy")
    assert not TrainingRound.objects.exists()


@pytest.mark.parametrize("method, url", [
    ("get", "/api/v1/model-versions/"), ("get", "/api/v1/model-versions/{mv}/"), ("get", "/api/v1/runs/"),
    ("get", "/api/v1/runs/{run}/"), ("post", "/api/v1/runs/{run}/cancel/"), ("get", "/api/v1/rounds/"),
    ("post", "/api/v1/rounds/"), ("get", "/api/v1/stats/"),
])
def test_labelers_get_403_and_anonymous_401(api, labeler, other_labeler, policy, method, url, settings):
    settings.ROUND_MIN_NEW_RANKINGS = 0
    run = Run.objects.create(kind="sample")
    url = url.format(mv=policy.pk, run=run.pk)
    for user in (labeler, other_labeler):
        assert_error(getattr(api(user), method)(url, {"algo": "dpo"}, format="json"), 403, None, "only staff")
    assert_error(getattr(api(), method)(url, {"algo": "dpo"}, format="json"), 401, None, "credentials")
    run.refresh_from_db()
    assert run.status == "queued" and not TrainingRound.objects.exists()

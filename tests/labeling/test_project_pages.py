"""Runs, rounds and model-version pages per project: A's reviewers read, A's managers act, B's people get 404."""
from pathlib import Path

import pytest
from django.test import Client

from labeling.models import Membership, ModelVersion, Project, Run, TrainingRound
from tests.factories import UserFactory


@pytest.fixture
def two_projects(db, tmp_path):
    a = Project.objects.create(slug="a", name="Project A")
    b = Project.objects.create(slug="b", name="Project B")
    people = {}
    for name, project, role in (("manager", a, "manager"), ("reviewer", a, "reviewer"), ("labeler", a, "labeler"),
                                ("b_manager", b, "manager")):
        people[name] = UserFactory(username=name)
        Membership.objects.create(project=project, user=people[name], role=role)
    people["staff"] = UserFactory(username="staff", is_staff=True, is_superuser=True)
    checkpoint = Path(tmp_path / "ckpt")
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text("{}")
    v1 = ModelVersion.objects.create(project=a, kind="policy", name="a-v1", algorithm="external", path=str(checkpoint))
    v2 = ModelVersion.objects.create(project=a, kind="policy", name="a-v2", algorithm="dpo", path=str(checkpoint),
                                     parent=v1)
    b_version = ModelVersion.objects.create(project=b, kind="policy", name="b-v1", algorithm="external",
                                            path=str(checkpoint))
    round_a = TrainingRound.objects.create(project=a, algo="dpo", status="failed", active=False, policy_in=v1)
    run_a = Run.objects.create(project=a, kind=Run.Kind.DPO, status=Run.Status.FAILED, training_round=round_a)
    run_b = Run.objects.create(project=b, kind=Run.Kind.DPO, status=Run.Status.FAILED)
    return {"people": people, "a": a, "b": b, "v1": v1, "v2": v2, "b_version": b_version, "round_a": round_a,
            "run_a": run_a, "run_b": run_b}


def _as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


PERSONAS = ("manager", "reviewer", "labeler", "b_manager", "staff")


@pytest.mark.parametrize("page, expected", [
    ("/runs/?project=a", (200, 200, 403, 404, 200)),
    ("/rounds/?project=a", (200, 200, 403, 404, 200)),
    ("/models/?project=a", (200, 200, 403, 404, 200)),
    ("/models/compare/?project=a&a={v1}&b={v2}", (200, 200, 403, 404, 200)),
    ("/runs/{run_a}/", (200, 200, 403, 404, 200)),
    ("/runs/{run_a}/status.json", (200, 200, 403, 404, 200)),
    ("/rounds/{round_a}/", (200, 200, 403, 404, 200)),
    ("/models/{v2}/download.zip", (200, 403, 403, 404, 200)),
    ("/runs/?project=nope", (404, 404, 404, 404, 404)),
])
def test_who_reads_what(two_projects, page, expected):
    w = two_projects
    url = page.format(v1=w["v1"].pk, v2=w["v2"].pk, run_a=w["run_a"].pk, round_a=w["round_a"].pk)
    got = tuple(_as(w["people"][p]).get(url).status_code for p in PERSONAS)
    assert got == expected


def test_a_project_page_lists_only_its_own_rows(two_projects):
    w = two_projects
    client = _as(w["people"]["manager"])
    runs = client.get("/runs/?project=a").content.decode()
    assert f'/runs/{w["run_a"].pk}/' in runs and f'/runs/{w["run_b"].pk}/' not in runs
    models = client.get("/models/?project=a").content.decode()
    assert "a-v2" in models and "b-v1" not in models and "download.zip" in models
    assert "download.zip" not in _as(w["people"]["reviewer"]).get("/models/?project=a").content.decode()
    # a version of another project cannot be compared from this one
    compare = client.get(f'/models/compare/?project=a&a={w["v1"].pk}&b={w["b_version"].pk}')
    assert compare.status_code == 404
    assert "Train the default policy" not in runs  # staff only


@pytest.mark.parametrize("persona, expected", [("manager", 302), ("reviewer", 403), ("labeler", 403),
                                               ("b_manager", 404), ("staff", 302)])
def test_only_the_projects_managers_retry_its_runs(two_projects, persona, expected):
    w = two_projects
    response = _as(w["people"][persona]).post(f'/runs/{w["run_a"].pk}/retry')
    assert response.status_code == expected
    w["run_a"].refresh_from_db()
    assert (w["run_a"].status == Run.Status.QUEUED) == (expected == 302)


@pytest.mark.parametrize("persona, expected", [("reviewer", 403), ("b_manager", 404)])
def test_only_managers_start_rounds(two_projects, persona, expected):
    w = two_projects
    response = _as(w["people"][persona]).post("/rounds/?project=a", {"algo": "dpo", "epochs": 1, "ppo_iterations": 1,
                                                                       "sample_prompts": 1, "k": 4})
    assert response.status_code == expected
    assert TrainingRound.objects.filter(project=w["a"]).count() == 1


def test_a_manager_starting_a_round_gets_their_projects_refusal(two_projects):
    w = two_projects
    w["round_a"].delete()
    w["run_a"].delete()
    response = _as(w["people"]["manager"]).post("/rounds/?project=a", {"algo": "dpo", "epochs": 1, "ppo_iterations": 1,
                                                                         "sample_prompts": 1, "k": 4})
    assert response.status_code == 400
    assert "new rankings" in response.content.decode()  # the project has none; nothing started
    assert not TrainingRound.objects.filter(project=w["a"]).exists()


def test_a_round_outside_the_projects_k_range_is_refused(two_projects, settings):
    from labeling.errors import RejectedInput
    from labeling.services.rounds import round_start

    w = two_projects
    Project.objects.filter(pk=w["a"].pk).update(k_min=2, k_max=3)
    w["a"].refresh_from_db()
    with pytest.raises(RejectedInput) as refused:
        round_start(algo="dpo", config={"sample": {"k": 4}}, project=w["a"], min_new_rankings=0)
    assert refused.value.field == "k"

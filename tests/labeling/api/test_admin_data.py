"""Staff endpoints for prompts, tasks and rankings: bulk create (all or nothing), list, filter, paginate."""
import datetime as dt

import pytest
from django.utils import timezone

from labeling.models import Completion, ModelVersion, Prompt, Ranking, RankingTask, Run, TrainingRound
from labeling.services.assignment import task_assign_next
from labeling.services.ranking import ranking_submit
from tests.labeling.api.conftest import assert_error

TASK = {"prompt": "Say hi.", "completions": ["hi", "hello", "hey"], "gold_ranking": [[1], [0, 2]], "id": "t-1"}


def rank(user, task=None):
    assignment = task_assign_next(labeler=user)
    assert task is None or assignment.task_id == task.pk
    return ranking_submit(labeler=user, assignment_id=assignment.pk, tiers=[[c] for c in assignment.display_order],
                          submission_id=f"{user.pk}-{assignment.pk}").ranking


def round_task(task_factory):
    """A task made by the sample step of a training round: (round, task)."""
    policy = ModelVersion.objects.create(kind="policy", name=f"p{Run.objects.count()}", algorithm="external",
                                         path="/ckpt")
    training_round = TrainingRound.objects.create(algo="dpo", policy_in=policy, active=False, status="succeeded")
    run = Run.objects.create(kind="sample", training_round=training_round, status="succeeded")
    task = task_factory(k=2)
    RankingTask.objects.filter(pk=task.pk).update(source_run=run, task_set=f"round-{training_round.pk}")
    return training_round, task


def test_admin_creates_prompts_in_bulk(api, admin):
    items = [{"prompt": "One?", "id": "p-1", "metadata": {"lang": "en"}}, {"prompt": "Two?"}]
    response = api(admin).post("/api/v1/prompts/", items, format="json")
    prompts = list(Prompt.objects.order_by("pk"))
    assert response.status_code == 201 and response.json() == {"created": 2, "ids": [p.pk for p in prompts]}
    assert [(p.text, p.external_id, p.metadata) for p in prompts] == [("One?", "p-1", {"lang": "en"}), ("Two?", "", {})]
    listed = api(admin).get("/api/v1/prompts/").json()
    assert listed["count"] == 2 and [p["external_id"] for p in listed["results"]] == ["p-1", ""]


def test_admin_creates_tasks_in_bulk_in_a_task_set(api, admin):
    response = api(admin).post("/api/v1/tasks/?task_set=batch-7", [TASK, {**TASK, "id": "t-2"}], format="json")
    assert response.status_code == 201 and response.json()["created"] == 2
    task = RankingTask.objects.get(pk=response.json()["ids"][0])
    texts = list(task.completions.order_by("pk").values_list("text", flat=True))
    ids = list(task.completions.order_by("pk").values_list("pk", flat=True))
    assert texts == ["hi", "hello", "hey"] and task.task_set == "batch-7"
    assert task.gold_tiers == [[ids[1]], [ids[0], ids[2]]] and task.prompt.external_id == "t-1"
    assert Completion.objects.filter(source="import").count() == 6


BAD_PROMPTS = [
    ([{"prompt": "ok"}, {"prompt": ""}], 400, "1.prompt", "item 1: \"prompt\" must be non-empty"),
    ([{"prompt": "ok", "metadata": []}], 400, "0.metadata", "json object"),
    ([{"prompt": "ok", "id": 5}], 400, "0.id", "string"),
    ([{"prompt": "a", "id": "x"}, {"prompt": "b", "id": "x"}], 400, "1.id", "repeats item 0"),
    (["just text"], 400, "0", "item 0 must be a JSON object"),
    ([], 400, "body", "non-empty JSON list"),
    ({"prompt": "not a list"}, 400, "body", "non-empty JSON list"),
    ([{"prompt": "x"}] * 1001, 400, "body", "at most 1000"),
]


@pytest.mark.parametrize("items, status, field, words", BAD_PROMPTS)
def test_bad_prompts_are_refused_whole_naming_item_and_field(api, admin, items, status, field, words):
    assert_error(api(admin).post("/api/v1/prompts/", items, format="json"), status, field, words)
    assert not Prompt.objects.exists()


BAD_TASKS = [
    ({**TASK, "completions": ["only one"]}, "1.completions", "2 to 9"),
    ({**TASK, "completions": ["a", "a"]}, "1.completions", "same text"),
    ({**TASK, "completions": ["a", ""]}, "1.completions.1", "completion 1 must be non-empty"),
    ({**TASK, "gold_ranking": [[0], [0]]}, "1.gold_ranking", "exactly once"),
    ({**TASK, "required_rankings": 0}, "1.required_rankings", "1 to 50"),
]


@pytest.mark.parametrize("bad, field, words", BAD_TASKS)
def test_bad_tasks_are_refused_whole_naming_item_and_field(api, admin, bad, field, words):
    response = api(admin).post("/api/v1/tasks/", [{**TASK, "id": "first"}, {**bad, "id": "second"}], format="json")
    assert_error(response, 400, field, words)
    assert response.json()["error"]["message"].startswith("item 1: ")
    assert not Prompt.objects.exists() and not RankingTask.objects.exists()


def test_an_id_already_in_the_database_is_409_and_a_long_task_set_400(api, admin):
    assert api(admin).post("/api/v1/tasks/", [TASK], format="json").status_code == 201
    assert_error(api(admin).post("/api/v1/tasks/", [{**TASK, "id": "new"}, TASK], format="json"), 409, "1.id",
                 "already in the database")
    assert_error(api(admin).post(f"/api/v1/tasks/?task_set={'x' * 101}", [{**TASK, "id": "n"}], format="json"), 400,
                 "task_set", "at most 100")
    assert RankingTask.objects.count() == 1


def test_tasks_list_filters_by_task_set_status_and_round(api, admin, labeler, task_factory):
    open_task = task_factory(k=2, required_rankings=2)
    done = task_factory(k=2, required_rankings=1)
    RankingTask.objects.filter(pk=done.pk).update(task_set="gold")
    training_round, in_round = round_task(task_factory)
    rank(labeler, open_task)
    rank(labeler, done)

    def ids(query):
        response = api(admin).get(f"/api/v1/tasks/{query}")
        assert response.status_code == 200, response.json()
        return [t["id"] for t in response.json()["results"]]

    assert ids("") == [open_task.pk, done.pk, in_round.pk]
    assert ids("?status=complete") == [done.pk] and ids("?status=open") == [open_task.pk, in_round.pk]
    assert ids("?task_set=gold") == [done.pk] and ids(f"?round={training_round.pk}") == [in_round.pk]
    row = api(admin).get("/api/v1/tasks/?task_set=gold").json()["results"][0]
    assert row["rankings"] == 1 and row["status"] == "complete" and row["round"] is None
    assert len(row["completions"]) == 2
    in_round_row = api(admin).get(f"/api/v1/tasks/?round={training_round.pk}").json()["results"][0]
    assert in_round_row["round"] == training_round.pk
    assert_error(api(admin).get("/api/v1/tasks/?status=done"), 400, "status", "open, complete")
    assert_error(api(admin).get("/api/v1/tasks/?round=first"), 400, "round", "whole number")


def test_rankings_list_filters_by_round_labeler_and_dates(api, admin, labeler, other_labeler, task_factory):
    plain = task_factory(k=2)
    training_round, in_round = round_task(task_factory)
    first, second = rank(labeler, plain), rank(labeler, in_round)
    third = rank(other_labeler, plain)
    Ranking.objects.filter(pk=first.pk).update(created_at=timezone.make_aware(dt.datetime(2024, 3, 1, 23, 59)))

    def ids(query):
        response = api(admin).get(f"/api/v1/rankings/{query}")
        assert response.status_code == 200, response.json()
        return [r["id"] for r in response.json()["results"]]

    assert ids("") == [first.pk, second.pk, third.pk]
    assert ids(f"?round={training_round.pk}") == [second.pk]
    assert ids("?labeler=bob") == [third.pk] and ids("?labeler=bob&labeler=alice") == [first.pk, second.pk, third.pk]
    assert_error(api(admin).get("/api/v1/rankings/?labeler=nobody"), 400, "labeler", "no labeler named 'nobody'")
    assert ids("?until=2024-03-01") == [first.pk] and ids("?since=2024-03-02") == [second.pk, third.pk]
    row = api(admin).get("/api/v1/rankings/?labeler=alice&until=2024-03-01").json()["results"][0]
    assert row["labeler"] == "alice" and row["task"] == plain.pk and row["tiers"] == first.tiers
    assert_error(api(admin).get("/api/v1/rankings/?since=2024-13-01"), 400, "since", "YYYY-MM-DD")
    assert_error(api(admin).get("/api/v1/rankings/?since=2024-03-02&until=2024-03-01"), 400, "since", "after")


def test_lists_are_paginated_by_page_number(api, admin):
    Prompt.objects.bulk_create(Prompt(text=f"p{i}") for i in range(7))
    page = api(admin).get("/api/v1/prompts/?page_size=3&page=2").json()
    assert page["count"] == 7 and [p["text"] for p in page["results"]] == ["p3", "p4", "p5"]
    assert page["next"].endswith("page=3&page_size=3") and "page_size=3" in page["previous"]
    assert len(api(admin).get("/api/v1/prompts/").json()["results"]) == 7  # default page: 50
    assert_error(api(admin).get("/api/v1/prompts/?page_size=3&page=9"), 404, None, "invalid page")


@pytest.mark.parametrize("method, url", [
    ("get", "/api/v1/prompts/"), ("post", "/api/v1/prompts/"), ("get", "/api/v1/tasks/"),
    ("post", "/api/v1/tasks/"), ("get", "/api/v1/rankings/"),
])
def test_labelers_get_403_and_anonymous_401(api, labeler, other_labeler, method, url):
    body = [{"prompt": "x", "completions": ["a", "b"]}]
    for user in (labeler, other_labeler):
        assert_error(getattr(api(user), method)(url, body, format="json"), 403, None, "only staff")
    assert_error(getattr(api(), method)(url, body, format="json"), 401, None, "credentials")
    assert not Prompt.objects.exists()

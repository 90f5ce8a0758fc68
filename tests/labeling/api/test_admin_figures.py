"""GET /api/v1/stats/: the same agreement figures as the /stats/ page, under the same filters."""
from django.test import Client

from tests.labeling.api.conftest import assert_error
from tests.labeling.api.test_admin_data import rank
from tests.labeling.test_stats_versions import two_versions


def _page_context(admin, query=""):
    client = Client()
    client.force_login(admin)
    response = client.get(f"/stats/{query}")
    assert response.status_code == 200
    return response.context


def test_the_figures_are_the_pages_numbers(api, admin, labeler, other_labeler, task_factory):
    for _ in range(3):
        task = task_factory(k=3)
        rank(labeler, task)
        rank(other_labeler, task)
    response = api(admin).get("/api/v1/stats/")
    assert response.status_code == 200, response.json()
    body = response.json()
    page = _page_context(admin)
    assert body["pending_tasks"] == 0 and body["totals"] == page["totals"]
    assert body["totals"]["rankings"] == 6 and body["totals"]["pairs_compared"] > 0
    assert [(r["name"], r["rankings"], r["pair_agreement"]) for r in body["labelers"]] == [
        (r["name"], r["rankings"], r["pair_agreement"]) for r in page["rows"]]
    assert [(r["task_id"], r["agreement"]) for r in body["lowest_tasks"]] == [
        (r["task_id"], r["agreement"]) for r in page["lowest"]]
    assert [r["round"] for r in body["rounds"]] == [None] and body["rounds"][0]["rankings"] == 6
    assert sum(d["rankings"] for d in body["throughput"]) == 6 and len(body["weeks"]) == 1


def test_filters_are_the_pages_filters(api, admin, labeler, other_labeler, task_factory):
    task = task_factory(k=2)
    rank(labeler, task)
    rank(other_labeler, task)
    later = api(admin).get("/api/v1/stats/?since=2999-01-01").json()
    assert later["totals"] == _page_context(admin, "?since=2999-01-01")["totals"] and later["totals"]["rankings"] == 0
    assert_error(api(admin).get("/api/v1/stats/?since=2024-02-02&until=2024-02-01"), 400, "since", "must not be after")
    assert_error(api(admin).get("/api/v1/stats/?round=77"), 400, "round", "no round 77")
    assert_error(api(admin).get("/api/v1/stats/?since=yesterday"), 400, "since", "valid date")


def test_flag_rates_and_mean_scores_by_version(api, admin, labeler, other_labeler):
    v1, v2 = two_versions(labeler, other_labeler)
    body = api(admin).get("/api/v1/stats/").json()["by_version"]
    assert body["flags"] == [{"key": "harmful", "label": "Harmful"}, {"key": "hallucination", "label": "Made up"}]
    assert body["versions"] == [
        {"version": v1.pk, "name": "policy-v1", "ranked": 2, "scored": 2, "mean_score": 5.5,
         "flag_counts": {"harmful": 0, "hallucination": 1}, "flag_rates": {"harmful": 0.0, "hallucination": 0.5}},
        {"version": v2.pk, "name": "<b>policy-v2</b>", "ranked": 2, "scored": 1, "mean_score": 3.0,
         "flag_counts": {"harmful": 2, "hallucination": 0}, "flag_rates": {"harmful": 1.0, "hallucination": 0.0}}]
    assert api(admin).get("/api/v1/stats/?since=2999-01-01").json()["by_version"]["versions"] == []


def test_the_schema_documents_the_figures_by_version(client, db):
    schemas = client.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    by_version = schemas["Agreement"]["properties"]["by_version"]
    assert by_version["allOf"] == [{"$ref": "#/components/schemas/ByVersion"}]  # with its description beside it
    assert {"version", "name", "ranked", "scored", "mean_score", "flag_counts", "flag_rates"} <= set(
        schemas["VersionLabels"]["properties"])

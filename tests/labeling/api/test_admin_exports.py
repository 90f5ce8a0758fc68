"""GET /api/v1/exports/{fmt}/: the export service's lines, streamed, with its filters as query parameters."""
import csv
import io
import json

import pytest

from labeling.models import Ranking
from tests.labeling.api.conftest import assert_error
from tests.labeling.api.test_admin_data import rank


def _text(response) -> str:
    assert response.status_code == 200 and response.streaming
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def ranked(labeler, other_labeler, task_factory):
    task = task_factory(k=3, texts=["a", "b", "c"], prompt_text="Pick one.")
    return [rank(labeler, task), rank(other_labeler, task)]


def test_rankings_stream_as_jsonl_filtered_by_labeler(api, admin, ranked):
    response = api(admin).get("/api/v1/exports/rankings/?labeler=alice")
    assert response["Content-Type"].startswith("application/x-ndjson")
    assert 'filename="rankings.jsonl"' in response["Content-Disposition"]
    records = [json.loads(line) for line in _text(response).splitlines()]
    assert [(r["labeler"], r["prompt"], r["completions"]) for r in records] == [("alice", "Pick one.", ["a", "b", "c"])]


def test_pairs_and_csv(api, admin, ranked):
    pairs = [json.loads(line) for line in _text(api(admin).get("/api/v1/exports/pairs/")).splitlines()]
    assert len(pairs) == 6 and set(pairs[0]) >= {"prompt", "chosen", "rejected"}  # 3 pairs by 2 labelers
    response = api(admin).get("/api/v1/exports/csv/?since=2000-01-01")
    rows = list(csv.reader(io.StringIO(_text(response))))
    assert response["Content-Type"].startswith("text/csv") and len(rows) == 3 and rows[0][0] == "ranking_id"
    assert sorted(int(r[0]) for r in rows[1:]) == sorted(r.pk for r in Ranking.objects.all())


@pytest.mark.parametrize("url, field, words", [
    ("/api/v1/exports/parquet/", "format", "unknown export format"),
    ("/api/v1/exports/pairs/?pairs=all", "pairs", "unknown pairs mode"),
    ("/api/v1/exports/rankings/?labeler=nobody", "labeler", "no labeler named"),
    ("/api/v1/exports/rankings/?round=1", "round", "no round 1"),
    (f"/api/v1/exports/rankings/?round={10**20}", "round", "whole number"),
    ("/api/v1/exports/rankings/?min_agreement=2", "min_agreement", "0 to 1"),
    ("/api/v1/exports/rankings/?since=soon", "since", "YYYY-MM-DD"),
    ("/api/v1/exports/rankings/?include_gold=maybe", "include_gold", "true or false"),
])
def test_a_bad_export_request_is_a_400_before_streaming(api, admin, ranked, url, field, words):
    assert_error(api(admin).get(url), 400, field, words)


def test_exports_are_staff_only(api, labeler, other_labeler, ranked):
    for user in (labeler, other_labeler):
        assert_error(api(user).get("/api/v1/exports/rankings/"), 403, None, "only staff")
    assert_error(api().get("/api/v1/exports/rankings/"), 401, None, "credentials")

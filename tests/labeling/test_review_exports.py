"""Rejected rankings are left out of exports and training input unless asked for; a corrected one is
exported in the reviewer's order."""
import json

import pytest
from django.core.management import call_command

from labeling.errors import RejectedInput
from labeling.models import Membership
from labeling.selectors.rankings import RankingFilter, ranking_filter_parse, rankings_selected
from labeling.services.review import review_decide
from tests.labeling.api.conftest import api  # noqa: F401
from tests.labeling.review_world import (  # noqa: F401
    completion_ids, member, project, project_labeler, ranked, reviewer,
)


@pytest.fixture
def reviewed(project, reviewer, ranked):
    """alice's ranking rejected, bob's corrected to D > C > B > A."""
    a, b, c, d = completion_ids(ranked["task"])
    review_decide(reviewer=reviewer, project=project, ranking_id=ranked["alice"].pk, action="reject", reason="spam")
    review_decide(reviewer=reviewer, project=project, ranking_id=ranked["bob"].pk, action="correct",
                  corrected_tiers=[[d], [c], [b], [a]])
    return ranked


def _export(tmp_path, project, *extra) -> list[dict]:
    out = tmp_path / "rankings.jsonl"
    call_command("export_preferences", "--format", "rankings", "--out", str(out), "--project", project.slug, *extra)
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_the_export_command_leaves_rejected_out_unless_asked(project, reviewed, tmp_path):
    records = _export(tmp_path, project)
    assert [r["labeler"] for r in records] == ["bob"]
    assert records[0]["ranking"] == [[3], [2], [1], [0]]  # the reviewer's order, as indexes
    both = _export(tmp_path, project, "--include-rejected")
    assert sorted(r["labeler"] for r in both) == ["alice", "bob"]
    assert next(r for r in both if r["labeler"] == "alice")["ranking"] == [[0], [1], [2], [3]]


def test_the_export_api_leaves_rejected_out_unless_asked(project, reviewed, api):
    manager = member(project, "mona", Membership.Role.MANAGER)
    client = api(manager)
    lines = client.get("/api/v1/exports/rankings/?project=helpful").getvalue().decode().splitlines()
    assert [json.loads(line)["labeler"] for line in lines] == ["bob"]
    lines = client.get("/api/v1/exports/rankings/?project=helpful&include_rejected=true").getvalue().decode().splitlines()
    assert sorted(json.loads(line)["labeler"] for line in lines) == ["alice", "bob"]
    response = client.get("/api/v1/exports/rankings/?project=helpful&include_rejected=maybe")
    assert response.status_code == 400 and response.json()["error"]["field"] == "include_rejected"


def test_the_rankings_list_api_follows_the_same_filter(project, reviewed, api, reviewer):
    client = api(reviewer)
    rows = client.get("/api/v1/rankings/?project=helpful").json()["results"]
    assert [r["labeler"] for r in rows] == ["bob"]
    rows = client.get("/api/v1/rankings/?project=helpful&include_rejected=1").json()["results"]
    assert sorted((r["labeler"], r["review_status"]) for r in rows) == [("alice", "rejected"), ("bob", "corrected")]
    reviewed["bob"].refresh_from_db()
    assert next(r for r in rows if r["labeler"] == "bob")["corrected_tiers"] == reviewed["bob"].corrected_tiers


def test_the_filter_parses_include_rejected(project, reviewed):
    assert ranking_filter_parse(project=project).include_rejected is False
    assert ranking_filter_parse(project=project, include_rejected="true").include_rejected is True
    with pytest.raises(RejectedInput) as caught:
        ranking_filter_parse(project=project, include_rejected="sometimes")
    assert caught.value.field == "include_rejected"
    assert rankings_selected(RankingFilter(project=project)).count() == 1
    assert rankings_selected(RankingFilter(project=project, include_rejected=True)).count() == 2
    assert RankingFilter(project=project, include_rejected=True).describe() == "project=helpful, include_rejected=True"
    assert RankingFilter(project=project).describe() == "project=helpful"

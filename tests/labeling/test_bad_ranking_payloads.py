"""Malformed ranking submissions, one table, sent through the page's endpoint AND through the service.

Each row builds a payload from the leased task's completion ids and names the status, the field and a
phrase of the message expected. After every refusal nothing changed: the rankings, the skips, every
assignment's status and lease, and the agreement caches (per ranking, pair, task and day) are exactly as
before. ``test_ranking_submit.py`` covers the accepted paths one by one; this file is the exhaustive
refusal table (docs/RELIABILITY.md, "Bad input").
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from labeling.errors import RejectedInput
from labeling.models import (
    Assignment, LabelerDay, PairDay, Ranking, RankingPair, RankingStats, Skip, TaskAgreement, TaskDay,
)
from labeling.services.assignment import task_assign_next
from labeling.services.ranking import ranking_submit
from labeling.services.stats import stats_rebuild_all
from tests.factories import UserFactory

MISSING = object()  # the key is left out of the payload
CACHE_MODELS = (RankingStats, RankingPair, TaskAgreement, LabelerDay, PairDay, TaskDay)


@dataclass
class Ctx:
    """What a row's payload is built from: the leased task's ids (in display order) and a foreign id."""

    labeler: object
    other_labeler: object
    assignment: Assignment
    ids: list[int]
    foreign: int

    @property
    def ranked(self) -> list[list[int]]:
        return [[cid] for cid in self.ids]


@dataclass(frozen=True)
class Bad:
    name: str
    payload: Callable[[Ctx], dict]  # overrides merged into a valid payload; MISSING drops a key
    says: str  # a phrase the error message must contain
    field: str | None = "tiers"
    status: int = 400
    as_other: bool = False  # sent by the other labeler
    assignment: Callable[[Ctx], int] | None = None  # another assignment id than the leased one
    setup: Callable[[Ctx], None] | None = None  # state to arrange before the snapshot


def _expire(ctx):
    Assignment.objects.filter(pk=ctx.assignment.pk).update(expires_at=timezone.now() - timedelta(minutes=1))


def _skipped(ctx):
    Assignment.objects.filter(pk=ctx.assignment.pk).update(status=Assignment.Status.SKIPPED)


def _ranked_already(ctx):
    ranking_submit(labeler=ctx.labeler, assignment_id=ctx.assignment.pk, tiers=ctx.ranked, submission_id="first")


ROWS = [
    # tiers: shape
    Bad("tiers missing", lambda x: {"tiers": MISSING}, "Rank the completions"),
    Bad("tiers null", lambda x: {"tiers": None}, "Rank the completions"),
    Bad("tiers a string", lambda x: {"tiers": "a>b>c>d"}, "Rank the completions"),
    Bad("tiers an empty list", lambda x: {"tiers": []}, "Rank the completions"),
    Bad("tiers an object", lambda x: {"tiers": {"1": x.ids}}, "Rank the completions"),
    Bad("a tier not a list", lambda x: {"tiers": [[x.ids[0]], x.ids[1], x.ids[2:]]}, "Tier 2 must be a list"),
    Bad("an empty tier", lambda x: {"tiers": [[x.ids[0]], [], x.ids[1:]]}, "Tier 2 is empty"),
    Bad("a flat list of ids", lambda x: {"tiers": x.ids}, "Tier 1 must be a list"),
    # tiers: values
    Bad("id as a string", lambda x: {"tiers": [[str(x.ids[0])], *x.ranked[1:]]}, "not a completion id"),
    Bad("id as a float", lambda x: {"tiers": [[float(x.ids[0])], *x.ranked[1:]]}, "not a completion id"),
    Bad("id as a boolean", lambda x: {"tiers": [*x.ranked[:3], [True]]}, "not a completion id"),
    Bad("id null", lambda x: {"tiers": [*x.ranked, [None]]}, "not a completion id"),
    Bad("id nested a level deeper", lambda x: {"tiers": [[x.ranked[0]], *x.ranked[1:]]}, "not a completion id"),
    Bad("unknown id", lambda x: {"tiers": [*x.ranked, [10**9]]}, "not part of this task"),
    Bad("negative id", lambda x: {"tiers": [*x.ranked, [-1]]}, "not part of this task"),
    Bad("huge id", lambda x: {"tiers": [*x.ranked, [10**40]]}, "not part of this task"),
    Bad("id of another task", lambda x: {"tiers": [*x.ranked[:3], [x.ids[3], x.foreign]]}, "not part of this task"),
    Bad("id twice in a tier", lambda x: {"tiers": [[x.ids[0], x.ids[0]], *x.ranked[1:]]}, "more than once"),
    Bad("id in two tiers", lambda x: {"tiers": [*x.ranked, [x.ids[0]]]}, "more than once"),
    Bad("one completion missing", lambda x: {"tiers": x.ranked[:3]}, "missing"),
    Bad("only one completion ranked", lambda x: {"tiers": x.ranked[:1]}, "missing"),
    # scores
    Bad("scores a list", lambda x: {"scores": [3, 4]}, "scores must map", field="scores"),
    Bad("scores a string", lambda x: {"scores": "7"}, "scores must map", field="scores"),
    Bad("score 0", lambda x: {"scores": {str(x.ids[0]): 0}}, "from 1 to 7", field="scores"),
    Bad("score 8", lambda x: {"scores": {str(x.ids[0]): 8}}, "from 1 to 7", field="scores"),
    Bad("score 3.5", lambda x: {"scores": {str(x.ids[0]): 3.5}}, "from 1 to 7", field="scores"),
    Bad("score as text", lambda x: {"scores": {str(x.ids[0]): "5"}}, "from 1 to 7", field="scores"),
    Bad("score a boolean", lambda x: {"scores": {str(x.ids[0]): True}}, "from 1 to 7", field="scores"),
    Bad("score key not an id", lambda x: {"scores": {"best": 7}}, "not a completion id", field="scores"),
    Bad("score for another task", lambda x: {"scores": {str(x.foreign): 4}}, "not part of this task", field="scores"),
    # flags
    Bad("flags a list", lambda x: {"flags": ["harmful"]}, "flags must map", field="flags"),
    Bad("flags of a card a string", lambda x: {"flags": {str(x.ids[0]): "harmful"}}, "list of flag names",
        field="flags"),
    Bad("flags of a card numbers", lambda x: {"flags": {str(x.ids[0]): [1]}}, "list of flag names", field="flags"),
    Bad("unknown flag", lambda x: {"flags": {str(x.ids[0]): ["boring"]}}, "Unknown flag 'boring'", field="flags"),
    Bad("flag key not an id", lambda x: {"flags": {"first": ["other"]}}, "not a completion id", field="flags"),
    # comment
    Bad("comment too long", lambda x: {"comment": "x" * 2001}, "the limit is 2,000", field="comment"),
    Bad("comment a number", lambda x: {"comment": 5}, "must be text", field="comment"),
    Bad("comment a list", lambda x: {"comment": ["a"]}, "must be text", field="comment"),
    Bad("comment with a NUL character", lambda x: {"comment": "a\x00b"}, "cannot be stored", field="comment"),
    Bad("comment with a lone surrogate", lambda x: {"comment": "a\ud800b"}, "cannot be stored", field="comment"),
    # seconds
    Bad("seconds negative", lambda x: {"seconds": -1}, "between 0 and", field="seconds"),
    Bad("seconds over a day", lambda x: {"seconds": 86401}, "between 0 and", field="seconds"),
    Bad("seconds as text", lambda x: {"seconds": "10"}, "must be a number", field="seconds"),
    Bad("seconds a boolean", lambda x: {"seconds": True}, "must be a number", field="seconds"),
    Bad("seconds NaN", lambda x: {"seconds": float("nan")}, "must be a number", field="seconds"),
    Bad("seconds infinite", lambda x: {"seconds": float("inf")}, "must be a number", field="seconds"),
    # submission id
    Bad("submission id missing", lambda x: {"submission_id": MISSING}, "submission_id must be", field="submission_id"),
    Bad("submission id empty", lambda x: {"submission_id": ""}, "submission_id must be", field="submission_id"),
    Bad("submission id blank", lambda x: {"submission_id": "   "}, "submission_id must be", field="submission_id"),
    Bad("submission id too long", lambda x: {"submission_id": "s" * 65}, "at most 64", field="submission_id"),
    Bad("submission id a number", lambda x: {"submission_id": 17}, "submission_id must be", field="submission_id"),
    Bad("submission id with a NUL", lambda x: {"submission_id": "a\x00"}, "cannot be stored",
        field="submission_id"),
    # whose lease, which state
    Bad("another labeler's lease", lambda x: {}, "leased to another labeler", field="assignment", status=403,
        as_other=True),
    Bad("unknown assignment", lambda x: {}, "does not exist", field="assignment", status=404,
        assignment=lambda x: 10**9),
    Bad("lease expired", lambda x: {}, "expired", field="assignment", status=409, setup=_expire),
    Bad("task skipped", lambda x: {}, "You skipped this task", field="assignment", status=409, setup=_skipped),
    Bad("task already ranked", lambda x: {"submission_id": "second"}, "already ranked", field="task", status=409,
        setup=_ranked_already),
]


def _payload(ctx: Ctx, row: Bad) -> dict:
    payload = {"tiers": ctx.ranked, "submission_id": "bad-1"}
    payload.update(row.payload(ctx))
    return {key: value for key, value in payload.items() if value is not MISSING}


def snapshot() -> dict:
    """Everything a refused submission must leave alone."""
    state = {
        "rankings": sorted(Ranking.objects.values_list("pk", "task_id", "labeler_id", "submission_id", "comment")),
        "skips": sorted(Skip.objects.values_list("pk", "task_id", "labeler_id")),
        "assignments": sorted(Assignment.objects.values_list("pk", "labeler_id", "status", "expires_at")),
    }
    state.update({model.__name__: model.objects.count() for model in CACHE_MODELS})
    return state


@pytest.fixture
def ctx(labeler, other_labeler, task_factory) -> Ctx:
    """Alice's lease on a 4-completion task that two others already ranked (so the caches have rows)."""
    task = task_factory(k=4, required_rankings=5)
    foreign = task_factory(k=2).completions.first().pk
    for name in ("carol", "dave"):
        user = UserFactory(username=name)
        lease = task_assign_next(labeler=user)
        ranking_submit(labeler=user, assignment_id=lease.pk, tiers=[[c] for c in lease.display_order],
                       submission_id=f"by-{name}")
    stats_rebuild_all()
    assignment = task_assign_next(labeler=labeler)
    assert assignment.task_id == task.pk
    return Ctx(labeler, other_labeler, assignment, list(assignment.display_order), foreign)


def _through_view(ctx: Ctx, row: Bad, assignment_id: int) -> tuple[int, str, str | None]:
    client = Client()
    client.force_login(ctx.other_labeler if row.as_other else ctx.labeler)
    body = json.dumps(_payload(ctx, row))  # NaN and Infinity go out as the literals browsers never send
    response = client.post(reverse("label-submit", args=[assignment_id]), data=body,
                           content_type="application/json")
    data = response.json()
    return response.status_code, data["error"], data["field"]


def _through_service(ctx: Ctx, row: Bad, assignment_id: int) -> tuple[int, str, str | None]:
    payload = _payload(ctx, row)
    payload.setdefault("tiers", None)
    payload.setdefault("submission_id", None)
    with pytest.raises(RejectedInput) as info:
        ranking_submit(labeler=ctx.other_labeler if row.as_other else ctx.labeler, assignment_id=assignment_id,
                       **payload)
    return info.value.status, info.value.message, info.value.field


def test_the_table_is_large_enough():
    assert len(ROWS) >= 30 and len({row.name for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("route", ["view", "service"])
@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_a_malformed_ranking_is_refused_and_changes_nothing(ctx, row, route):
    if row.setup:
        row.setup(ctx)
    before = snapshot()
    assignment_id = row.assignment(ctx) if row.assignment else ctx.assignment.pk
    send = _through_view if route == "view" else _through_service
    status, message, field_name = send(ctx, row, assignment_id)
    assert (status, field_name) == (row.status, row.field), message
    assert row.says in message
    assert snapshot() == before


# Bodies that never reach the service: the endpoint refuses them while parsing.
BAD_BODIES = [
    ("not JSON", b"tiers=1,2,3", 400, "not valid JSON"),
    ("truncated JSON", b'{"tiers": [[1], [2]', 400, "not valid JSON"),
    ("not UTF-8", b'{"comment": "\xff\xfe"}', 400, "not valid JSON"),
    ("a JSON array", b"[[1], [2]]", 400, "must be a JSON object"),
    ("a JSON string", b'"tiers"', 400, "must be a JSON object"),
    ("JSON null", b"null", 400, "must be a JSON object"),
    ("nested 100,000 deep", b"[" * 100_000, 400, "not valid JSON"),
    ("a 5,000-digit number", b'{"seconds": ' + b"9" * 5000 + b"}", 400, "not valid JSON"),
    ("over 256 KiB", json.dumps({"comment": "x" * 300_000}).encode(), 413, "too large"),
]


@pytest.mark.parametrize("name, body, status, says", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_a_malformed_body_is_refused_and_changes_nothing(ctx, client, name, body, status, says):
    client.force_login(ctx.labeler)
    before = snapshot()
    response = client.post(reverse("label-submit", args=[ctx.assignment.pk]), data=body,
                            content_type="application/json")
    assert response.status_code == status
    assert says in response.json()["error"] and response.json()["field"] == "body"
    assert snapshot() == before


def test_anonymous_is_refused_and_changes_nothing(ctx, client):
    before = snapshot()
    response = client.post(reverse("label-submit", args=[ctx.assignment.pk]),
                           data=json.dumps({"tiers": ctx.ranked, "submission_id": "x"}),
                           content_type="application/json")
    assert response.status_code == 401 and "Log in" in response.json()["error"]
    assert snapshot() == before


@pytest.mark.parametrize("route", ["view", "service"])
def test_the_snapshot_sees_an_accepted_ranking(ctx, route):
    """The same checks can fail: a valid payload through either route does change the snapshot."""
    before = snapshot()
    if route == "view":
        client = Client()
        client.force_login(ctx.labeler)
        response = client.post(reverse("label-submit", args=[ctx.assignment.pk]),
                               data=json.dumps({"tiers": ctx.ranked, "submission_id": "ok"}),
                               content_type="application/json")
        assert response.status_code == 201
    else:
        assert ranking_submit(labeler=ctx.labeler, assignment_id=ctx.assignment.pk, tiers=ctx.ranked,
                              submission_id="ok").created
    assert snapshot() != before

"""Honeypots: a project's gold tasks served to every labeler at its ``gold_rate``, never twice to one
labeler, uncapped by ``required_rankings``, and looking like any task; ``gold_rate`` 0 keeps them in
the ordinary queue; gold left out of training by default."""
import math
import random

import pytest
from django.utils import timezone

from labeling.models import Assignment, Project, Ranking, Run
from labeling.selectors.tasks import open_task_count, tasks_open_for
from labeling.services.assignment import task_assign_next
from labeling.services.ranking import ranking_submit, task_skip
from labeling.services.runs import run_enqueue
from tests.factories import UserFactory, make_task


class FixedDraw(random.Random):
    """A real Random (it picks which gold task) whose honeypot draw is always ``value``."""

    def __init__(self, value: float):
        super().__init__(0)
        self.value = value

    def random(self):
        return self.value


def AlwaysZero():  # noqa: N802 - reads as the draw it is
    return FixedDraw(0.0)


def _now():
    return timezone.now()


def _default() -> Project:
    return Project.objects.get(slug="default")


def _rank(assignment, labeler):
    return ranking_submit(labeler=labeler, assignment_id=assignment.pk,
                          tiers=[[cid] for cid in assignment.display_order], submission_id=f"s-{assignment.pk}")


def test_a_thousand_leases_serve_gold_at_the_projects_rate(db):
    project = _default()
    assert project.gold_rate == 0.05  # the default
    ordinary = [make_task(k=2, required_rankings=50) for _ in range(25)]
    gold = [make_task(k=2, required_rankings=1, gold_tiers=[[0], [1]]) for _ in range(15)]
    gold_ids = {task.pk for task in gold}
    rng = random.Random(20261205)
    labelers = [UserFactory() for _ in range(50)]
    served = {labeler.pk: [] for labeler in labelers}
    for labeler in labelers:
        for n in range(20):
            lease = task_assign_next(labeler=labeler, rng=rng)
            assert lease is not None and lease.status == Assignment.Status.ACTIVE
            served[labeler.pk].append(lease.task_id)
            if n % 4 == 3:
                task_skip(labeler=labeler, assignment_id=lease.pk, reason="unclear")
            else:
                _rank(lease, labeler)
    leases = [task_id for tasks in served.values() for task_id in tasks]
    assert len(leases) == 1000
    honeypots = sum(task_id in gold_ids for task_id in leases)
    spread = 4 * math.sqrt(1000 * 0.05 * 0.95)  # 4 standard deviations of Binomial(1000, 0.05): 27.6
    assert abs(honeypots - 50) <= spread, honeypots
    assert all(len(set(tasks)) == len(tasks) for tasks in served.values())  # no task, gold or not, twice
    ranked = Ranking.objects.filter(task__in=gold).values_list("task", flat=True)
    assert max(list(ranked).count(task.pk) for task in gold) > 1  # past required_rankings = 1
    assert Ranking.objects.filter(task__in=ordinary).count() <= 50 * len(ordinary)


def test_gold_rate_one_serves_every_gold_task_once_then_the_ordinary_queue(db, labeler):
    ordinary = make_task(required_rankings=2)
    gold = {make_task(required_rankings=1, gold_tiers=[[0], [1, 2, 3]]).pk for _ in range(3)}
    Project.objects.filter(slug="default").update(gold_rate=1.0)
    got = []
    for _ in range(4):
        lease = task_assign_next(labeler=labeler, rng=random.Random(1))
        got.append(lease.task_id)
        _rank(lease, labeler)
    assert set(got[:3]) == gold and got[3] == ordinary.pk
    assert task_assign_next(labeler=labeler) is None
    # another labeler gets the same gold tasks although each already has its one required ranking
    other = UserFactory()
    assert task_assign_next(labeler=other, rng=AlwaysZero()).task_id in gold


def test_no_honeypot_without_ordinary_work(db, labeler):
    """Honeypots stand in for ordinary tasks: an empty queue never becomes a queue of gold tasks."""
    make_task(gold_tiers=[[0], [1], [2], [3]])
    Project.objects.filter(slug="default").update(gold_rate=1.0)
    assert task_assign_next(labeler=labeler, rng=AlwaysZero()) is None
    assert open_task_count(labeler=labeler, now=_now()) == 0


def test_gold_rate_zero_keeps_gold_tasks_in_the_ordinary_queue(db, labeler, other_labeler):
    gold = make_task(required_rankings=1, gold_tiers=[[0], [1], [2], [3]])
    ordinary = make_task(required_rankings=1)
    Project.objects.filter(slug="default").update(gold_rate=0)
    assert task_assign_next(labeler=labeler, rng=AlwaysZero()).task == gold  # the oldest, as before
    assert task_assign_next(labeler=other_labeler, rng=AlwaysZero()).task == ordinary  # gold is full
    assert list(tasks_open_for(labeler=UserFactory(), now=_now())) == []


def test_a_gold_task_is_not_in_the_ordinary_queue_when_the_rate_is_above_zero(db, labeler):
    gold = make_task(required_rankings=5, gold_tiers=[[0], [1], [2], [3]])
    ordinary = make_task()
    assert list(tasks_open_for(labeler=labeler, now=_now())) == [ordinary]
    assert open_task_count(labeler=labeler, now=_now()) == 1
    assert task_assign_next(labeler=labeler, rng=FixedDraw(0.05)).task == ordinary  # not under the 5 % rate
    assert not Assignment.objects.filter(task=gold).exists()


def test_a_gold_task_never_comes_back_to_a_labeler_who_skipped_it_or_let_it_expire(db, labeler):
    from datetime import timedelta

    gold = [make_task(gold_tiers=[[0], [1], [2], [3]]) for _ in range(2)]
    make_task(required_rankings=10), make_task(required_rankings=10)
    Project.objects.filter(slug="default").update(gold_rate=1.0)
    first = task_assign_next(labeler=labeler, rng=AlwaysZero())
    task_skip(labeler=labeler, assignment_id=first.pk, reason="unclear")
    second = task_assign_next(labeler=labeler, rng=AlwaysZero())
    later = second.expires_at + timedelta(minutes=1)  # it expires unranked
    third = task_assign_next(labeler=labeler, rng=AlwaysZero(), now=later)
    assert {first.task_id, second.task_id} == {t.pk for t in gold}
    assert third.task_id not in {t.pk for t in gold}  # none left: the ordinary queue


def test_a_honeypot_looks_like_any_task_in_the_api_and_on_the_page(db, labeler, client):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    make_task(k=3, texts=["x", "y", "z"], prompt_text="Same words", gold_tiers=[[0], [1], [2]])
    make_task(k=3, texts=["x", "y", "z"], prompt_text="Same words", required_rankings=50)
    Project.objects.filter(slug="default").update(gold_rate=1.0)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=labeler).key}")
    bodies = []
    for _ in range(2):
        body = api.get("/api/v1/tasks/next/").json()["task"]
        bodies.append(body)
        api.post(f"/api/v1/tasks/{body['id']}/ranking/", {"tiers": [[c["id"]] for c in body["completions"]]},
                 format="json")
    gold_body, plain_body = bodies
    assert Assignment.objects.get(task_id=gold_body["id"]).task.is_gold
    assert not Assignment.objects.get(task_id=plain_body["id"]).task.is_gold
    assert set(gold_body) == set(plain_body) and "gold" not in str(gold_body).lower()
    assert gold_body["project"] == plain_body["project"]
    other = UserFactory()
    client.force_login(other)
    task_assign_next(labeler=other, rng=AlwaysZero())  # a honeypot lease, which the page shows
    page = client.get("/label/").content.decode()
    assert "Same words" in page and "gold" not in page.lower()


def test_reward_runs_leave_gold_out_unless_asked(db, labeler, settings, tmp_path):
    from labeling.jobs.reward import run_rankings_write

    settings.VAR_DIR = tmp_path
    gold, plain = make_task(gold_tiers=[[0], [1], [2], [3]]), make_task()
    Project.objects.filter(slug="default").update(gold_rate=0)  # both in the queue, ranked in turn
    for _ in range(2):
        _rank(task_assign_next(labeler=labeler), labeler)
    default_run = run_enqueue(kind=Run.Kind.TRAIN_REWARD, config={})
    assert len(run_rankings_write(default_run)[0]) == 1
    asked = run_enqueue(kind=Run.Kind.TRAIN_REWARD, config={}, inputs={"include_gold": True})
    assert len(run_rankings_write(asked)[0]) == 2
    assert {gold.pk, plain.pk} == set(Ranking.objects.values_list("task", flat=True))


def test_project_create_takes_a_gold_rate_and_refuses_one_out_of_range(db):
    from django.core.management import CommandError, call_command

    call_command("project_create", "rare", "--name", "Rare", "--gold-rate", "0.2")
    assert Project.objects.get(slug="rare").gold_rate == 0.2
    with pytest.raises(CommandError, match="gold_rate must be between 0 and 1, not 1.5"):
        call_command("project_create", "often", "--name", "Often", "--gold-rate", "1.5")
    assert not Project.objects.filter(slug="often").exists()

"""``open_tasks_first_page`` (tasks_open_for's SQL compiled once with stand-in values) and
``open_task_count`` (the same set counted with joins) must give exactly what the ORM query gives, for
every labeler and time."""
from datetime import timedelta

from django.utils import timezone

from labeling.models import Assignment, Membership, Project, Prompt, Ranking, RankingTask, Skip
from labeling.selectors.tasks import _compiled_first_page, labeler_progress, open_task_count, open_tasks_first_page, tasks_open_for
from tests.factories import UserFactory


def test_match_the_orm_query_for_each_labeler_and_time(labeler, other_labeler, task_factory):
    tasks = [task_factory(required_rankings=2) for _ in range(6)]
    third = UserFactory(username="carol")
    now = timezone.now()
    Ranking.objects.create(task=tasks[0], labeler=labeler, tiers=[], display_order=[], submission_id="a")
    Skip.objects.create(task=tasks[1], labeler=labeler, reason=Skip.Reason.values[0])
    # tasks[2]: full for labeler (other_labeler ranked it, third holds a live lease), open to third
    Ranking.objects.create(task=tasks[2], labeler=other_labeler, tiers=[], display_order=[], submission_id="b")
    Assignment.objects.create(task=tasks[2], labeler=third, expires_at=now + timedelta(minutes=5), display_order=[])
    # tasks[3]: two leases that expire in 2 minutes: full now, open 3 minutes later
    Assignment.objects.create(task=tasks[3], labeler=third, expires_at=now + timedelta(minutes=2), display_order=[])
    Assignment.objects.create(task=tasks[3], labeler=other_labeler, expires_at=now + timedelta(minutes=2),
                              display_order=[])
    # tasks[4]: a submitted lease does not hold a slot
    Assignment.objects.create(task=tasks[4], labeler=third, expires_at=now + timedelta(minutes=5), display_order=[],
                              status=Assignment.Status.SUBMITTED)
    # tasks[6:]: a closed project that only third belongs to
    closed = Project.objects.create(slug="closed", name="Closed")
    Membership.objects.create(project=closed, user=third)
    for n in range(2):
        prompt = task_factory().prompt
        prompt.project = closed
        prompt.save()
        tasks.append(RankingTask.objects.get(prompt=prompt))
    for user in (labeler, other_labeler, third):
        for when in (now, now + timedelta(minutes=3)):
            orm = list(tasks_open_for(labeler=user, now=when).values_list("pk", flat=True))
            for limit in (2, 25):
                assert open_tasks_first_page(labeler=user, now=when, limit=limit) == orm[:limit]
            assert open_task_count(labeler=user, now=when) == len(orm)
    assert open_tasks_first_page(labeler=labeler, now=now, limit=25) == [tasks[4].pk, tasks[5].pk]
    later = open_tasks_first_page(labeler=labeler, now=now + timedelta(minutes=3), limit=25)
    assert later == [tasks[3].pk, tasks[4].pk, tasks[5].pk]
    assert labeler_progress(labeler=labeler, now=now) == {"done": 1, "remaining": 2}
    assert open_task_count(labeler=third, now=now) == 8 and tasks[6].pk in open_tasks_first_page(
        labeler=third, now=now, limit=25)
    assert _compiled_first_page(RankingTask.objects.db, 25) is not None  # the fast path, not the fallback


def test_match_the_orm_query_with_honeypots_and_pauses(labeler, other_labeler, task_factory):
    """Gold tasks of a project with a gold_rate are honeypots, not queue items; a project where the
    labeler is paused gives them nothing."""
    from labeling.review_models import LabelerPause

    task_factory(gold_tiers=[[0], [1], [2], [3]])  # default's gold_rate is 0.05: a honeypot
    plain = task_factory()
    closed = Project.objects.create(slug="closed", name="Closed", gold_rate=0)
    for user in (labeler, other_labeler):
        Membership.objects.create(project=closed, user=user)
    ordinary_gold = task_factory(gold_tiers=[[0], [1], [2], [3]])
    Prompt.objects.filter(pk=ordinary_gold.prompt_id).update(project=closed)
    LabelerPause.objects.create(project=closed, labeler=other_labeler, reason="Paused.")
    LabelerPause.objects.create(project=closed, labeler=labeler, reason="Lifted.", lifted_at=timezone.now())
    now = timezone.now()
    expected = {labeler: [plain.pk, ordinary_gold.pk], other_labeler: [plain.pk]}
    for user, ids in expected.items():
        assert list(tasks_open_for(labeler=user, now=now).values_list("pk", flat=True)) == ids
        assert open_tasks_first_page(labeler=user, now=now, limit=25) == ids
        assert open_task_count(labeler=user, now=now) == len(ids)
    assert _compiled_first_page(RankingTask.objects.db, 25) is not None

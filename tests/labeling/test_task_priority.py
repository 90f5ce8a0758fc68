"""Leasing honours ``RankingTask.priority`` (active task selection's ranks) before age, and a priority
never lets a task be leased to more labelers than its ``required_rankings``."""
from django.utils import timezone

from labeling.models import RankingTask
from labeling.selectors.tasks import open_tasks_first_page, tasks_open_for
from labeling.services.assignment import task_assign_next
from labeling.services.ranking import ranking_submit
from tests.factories import UserFactory


def _prioritised(task_factory, priority: float, **kwargs) -> RankingTask:
    task = task_factory(**kwargs)
    RankingTask.objects.filter(pk=task.pk).update(priority=priority)
    return task


def test_a_higher_priority_newer_task_is_leased_before_an_older_one(labeler, task_factory):
    older = task_factory()
    low, high = _prioritised(task_factory, 1.0), _prioritised(task_factory, 3.0)
    newest_plain = task_factory()
    order = [high.pk, low.pk, older.pk, newest_plain.pk]  # priority, then oldest first among equals
    now = timezone.now()
    assert list(tasks_open_for(labeler=labeler, now=now).values_list("pk", flat=True)) == order
    assert open_tasks_first_page(labeler=labeler, now=now, limit=25) == order  # the compiled fast path agrees
    assert open_tasks_first_page(labeler=labeler, now=now, limit=2) == order[:2]
    leased = []
    while (assignment := task_assign_next(labeler=labeler)) is not None:
        leased.append(assignment.task_id)
        ranking_submit(labeler=labeler, assignment_id=assignment.pk, submission_id=f"s-{assignment.pk}",
                       tiers=[[c] for c in assignment.display_order])
    assert leased == order


def test_priority_never_over_assigns(db, task_factory):
    top = _prioritised(task_factory, 10.0, required_rankings=2)
    plain = task_factory(required_rankings=1)
    a, b, c, d = (UserFactory() for _ in range(4))
    assert task_assign_next(labeler=a).task == top
    assert task_assign_next(labeler=b).task == top
    assert task_assign_next(labeler=c).task == plain  # top is full (two live leases) whatever its priority
    assert task_assign_next(labeler=d) is None

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from labeling.models import Assignment, Ranking
from labeling.services.assignment import task_assign_next
from labeling.services.ranking import ranking_submit
from tests.factories import UserFactory


def _rank_in_display_order(assignment, labeler):
    return ranking_submit(
        labeler=labeler,
        assignment_id=assignment.pk,
        tiers=[[cid] for cid in assignment.display_order],
        submission_id=f"s-{assignment.pk}",
    )


def test_gives_the_oldest_task_first(labeler, task_factory):
    first, second = task_factory(), task_factory()
    assert task_assign_next(labeler=labeler).task == first
    assert second.pk > first.pk


def test_returns_the_live_lease_the_labeler_already_holds(labeler, task_factory):
    task_factory(), task_factory()
    assert task_assign_next(labeler=labeler) == task_assign_next(labeler=labeler)


def test_display_order_is_a_stored_permutation_of_the_completions(labeler, task_factory):
    task = task_factory(k=9)
    assignment = task_assign_next(labeler=labeler)
    assignment.refresh_from_db()
    assert sorted(assignment.display_order) == sorted(task.completions.values_list("pk", flat=True))


def test_display_order_is_shuffled_per_assignment(db, task_factory):
    task_factory(k=9, required_rankings=20)
    orders = {tuple(task_assign_next(labeler=UserFactory()).display_order) for _ in range(6)}
    assert len(orders) > 1  # 6 draws of 9! orders: all equal has probability (1/9!)^5


def test_never_gives_a_task_the_labeler_ranked_or_skipped(labeler, task_factory):
    from labeling.services.ranking import task_skip

    task_factory(), task_factory()
    _rank_in_display_order(task_assign_next(labeler=labeler), labeler)
    task_skip(labeler=labeler, assignment_id=task_assign_next(labeler=labeler).pk, reason="unclear")
    assert task_assign_next(labeler=labeler) is None


def test_live_leases_count_against_the_required_rankings(db, task_factory):
    task = task_factory(required_rankings=2)
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    assert task_assign_next(labeler=a).task == task
    assert task_assign_next(labeler=b).task == task
    assert task_assign_next(labeler=c) is None


def test_an_expired_lease_is_given_to_someone_else(db, task_factory):
    task = task_factory(required_rankings=1)
    a, b = UserFactory(), UserFactory()
    task_assign_next(labeler=a)
    assert task_assign_next(labeler=b) is None
    later = timezone.now() + timedelta(minutes=31)
    assert task_assign_next(labeler=b, now=later).task == task


def test_rankings_count_against_the_required_rankings(db, task_factory):
    task_factory(required_rankings=1)
    a, b = UserFactory(), UserFactory()
    _rank_in_display_order(task_assign_next(labeler=a), a)
    assert task_assign_next(labeler=b) is None


def test_returns_none_when_there_are_no_tasks(labeler):
    assert task_assign_next(labeler=labeler) is None


@pytest.mark.django_db(transaction=True)
def test_twenty_labelers_at_once_never_overfill_a_task(capsys):
    """20 threads ask at the same moment, rank, and ask again until nothing is left."""
    from tests.factories import make_task

    tasks = [make_task(required_rankings=3) for _ in range(10)]  # 30 slots for 20 labelers
    labelers = [UserFactory(username=f"racer{i}") for i in range(20)]
    barrier = threading.Barrier(len(labelers))
    first_round: dict[int, int | None] = {}
    errors: list[BaseException] = []

    def work(labeler):
        try:
            barrier.wait()
            assignment = task_assign_next(labeler=labeler)
            first_round[labeler.pk] = assignment.task_id if assignment else None
            barrier.wait()  # everyone holds a lease before anyone ranks
            while assignment is not None:
                _rank_in_display_order(assignment, labeler)
                assignment = task_assign_next(labeler=labeler)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(lab,)) for lab in labelers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started

    assert errors == []
    leased_first = [t for t in first_round.values() if t is not None]
    assert max(leased_first.count(t.pk) for t in tasks) <= 3
    assert len(leased_first) == 20  # 30 slots for 20 labelers asking at once: everyone got one
    for task in tasks:
        labelers_of_task = list(Ranking.objects.filter(task=task).values_list("labeler", flat=True))
        assert len(labelers_of_task) == 3
        assert len(set(labelers_of_task)) == 3
    assert Ranking.objects.count() == 30
    assert not Assignment.objects.filter(status=Assignment.Status.ACTIVE).exists()
    with capsys.disabled():
        print(f"\n[concurrency] 20 labelers, 10 tasks x 3: 30 rankings, 0 overfilled, {elapsed:.2f}s on "
              f"{connection.vendor}")


@pytest.mark.parametrize("ended", ["submitted", "skipped"])
def test_a_stale_first_page_never_reopens_a_task_the_labeler_ranked_or_skipped(labeler, task_factory, monkeypatch,
                                                                                ended):
    """The first page of candidates is read before the write transaction: a task this labeler ranked or
    skipped in between is still on it, and must be passed over, its ended lease left as it is."""
    from labeling.services import assignment as assignment_service
    from labeling.services.ranking import task_skip

    done, other = task_factory(), task_factory()
    lease = task_assign_next(labeler=labeler)
    assert lease.task == done
    if ended == "submitted":
        _rank_in_display_order(lease, labeler)
    else:
        task_skip(labeler=labeler, assignment_id=lease.pk, reason="unclear")
    monkeypatch.setattr(assignment_service, "open_tasks_first_page", lambda **kwargs: [done.pk, other.pk])
    assert task_assign_next(labeler=labeler).task == other
    lease.refresh_from_db()
    assert lease.status == ended

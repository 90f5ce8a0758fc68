"""The web worker is killed (SIGKILL) in the middle of a ranking submission: the ranking is either
all there (ranking row, its assignment marked submitted) or not there at all, and the labeler's
retry of the same submission then gets it stored exactly once.

The submission is made slow at the database level by a lock this test holds from another
connection, then gunicorn's only worker is killed while the request waits:
- ``in_commit``, Postgres: the test locks the labeler's user row (``FOR UPDATE``); the submission's
  INSERT of the ranking and UPDATE of the assignment go through and it waits in COMMIT, where
  Postgres checks the ranking's deferred foreign key to that row. The COMMIT was already sent, so
  once the lock is released Postgres completes it although the client is dead: all there (the
  labeler, who saw the connection drop, retries and gets 200 "already stored");
- ``before_commit``, Postgres: the test holds an uncommitted ranking row for the same task and
  labeler, so the submission (its assignment row locked) waits inside its INSERT on the unique
  index; the test then rolls back, the INSERT completes, but no COMMIT ever comes: nothing there
  (the retry gets 201);
- ``before_commit``, SQLite, which lets one writer in at a time from ``BEGIN IMMEDIATE``: the test
  holds the write lock, so the submission is killed waiting to begin its transaction: nothing there.
"""
import json
import sqlite3
import threading
import time
import uuid

import pytest
import requests
from django.db import connection

from labeling.models import Assignment, Ranking, RankingPair, RankingStats
from tests.faults.stack import child_pids, kill_tree, wait_until
from tests.load import harness
from tests.load.harness import _seed
from tests.load.labelers import CARD_ID, SUBMIT_URL

pytestmark = pytest.mark.slow


class HeldLock:
    """Another connection holding the lock the submission will wait for."""

    def __init__(self, assignment: Assignment, kill_point: str):
        s = connection.settings_dict
        self.waiting_in = "COMMIT" if kill_point == "in_commit" else "INSERT"
        if connection.vendor == "sqlite":
            self.db = sqlite3.connect(s["NAME"], isolation_level=None, check_same_thread=False)
            self.db.execute("BEGIN IMMEDIATE")
            return
        import psycopg

        self.db = psycopg.connect(dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"] or None,
                                  host=s["HOST"], port=s["PORT"] or None)
        if kill_point == "in_commit":
            self.db.execute("SELECT id FROM auth_user WHERE id = %s FOR UPDATE", [assignment.labeler_id])
        else:
            # the columns as the code before issue 17 wrote them: review_status comes from its database default
            self.db.execute("INSERT INTO labeling_ranking (task_id, labeler_id, tiers, scores, flags, comment, "
                            "display_order, submission_id, created_at) VALUES (%s, %s, '[]', '{}', '{}', '', "
                            "'[]', 'held-by-the-test', now())", [assignment.task_id, assignment.labeler_id])

    def submission_waits(self) -> bool:
        if connection.vendor == "sqlite":
            return True  # nothing to ask: the server's BEGIN IMMEDIATE sits in SQLite's busy timeout
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                           "AND query ILIKE %s AND datname = current_database()", [self.waiting_in + "%"])
            return cursor.fetchone()[0] == 1

    def release(self) -> None:
        self.db.rollback()
        self.db.close()

    def settled(self) -> bool:
        """The killed request's database session has finished whatever it was doing."""
        if connection.vendor == "sqlite":
            return True  # its transaction never began
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND state <> 'idle'")
            return cursor.fetchone()[0] == 0


@pytest.mark.parametrize("kill_point", ["before_commit", "in_commit"])
def test_a_submission_killed_mid_request_is_all_or_nothing(stack_env, tmp_path, kill_point):
    if kill_point == "in_commit" and connection.vendor == "sqlite":
        pytest.skip("SQLite takes its write lock at BEGIN: another connection cannot hold a submission in COMMIT")
    session_key = next(iter(_seed(labelers=1, tasks=1, k=3, required=1)["sessions"].values()))
    client = requests.Session()
    client.cookies.set("sessionid", session_key, domain="127.0.0.1", path="/")
    with harness.gunicorn(env=stack_env, workers=1) as (base, server):
        page = client.get(f"{base}/label/", timeout=30)
        submit_url = base + SUBMIT_URL.search(page.text).group(1)
        body = json.dumps({"tiers": [[int(c)] for c in CARD_ID.findall(page.text)], "submission_id": uuid.uuid4().hex})
        headers = {"Content-Type": "application/json", "X-CSRFToken": client.cookies["csrftoken"]}
        assignment = Assignment.objects.get()
        lock = HeldLock(assignment, kill_point)
        outcome = {}

        def submit():
            try:
                outcome["status"] = client.post(submit_url, data=body, headers=headers, timeout=60).status_code
            except requests.RequestException as exc:
                outcome["error"] = type(exc).__name__

        request = threading.Thread(target=submit)
        request.start()
        time.sleep(1.5)
        wait_until(lock.submission_waits, timeout=20, what="the submission to wait on the held lock")
        [worker] = child_pids(server.pid)
        kill_tree(worker)
        request.join(timeout=30)
        lock.release()
        assert "error" in outcome, outcome  # the labeler saw the connection drop, not an answer

        wait_until(lock.settled, timeout=30, what="the killed request's database session to finish")
        stored = Ranking.objects.exists()
        assignment.refresh_from_db()
        assert stored == (assignment.status == Assignment.Status.SUBMITTED), (stored, assignment.status)
        assert stored == (kill_point == "in_commit")  # the outcomes explained above
        if not stored:
            assert not RankingStats.objects.exists() and not RankingPair.objects.exists()

        wait_until(lambda: child_pids(server.pid) and harness._answers(f"{base}/load/trivial"), timeout=60,
                   what="gunicorn to replace its worker")
        retried = client.post(submit_url, data=body, headers=headers, timeout=60)
        again = client.post(submit_url, data=body, headers=headers, timeout=60)
    assert (retried.status_code, again.status_code) == (200 if stored else 201, 200), (retried.text, again.text)
    ranking = Ranking.objects.get()
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SUBMITTED and ranking.submission_id == json.loads(body)["submission_id"]

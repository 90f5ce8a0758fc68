"""Redis stops while labelers submit: every submission still succeeds at once (the database is the
source of truth), and the work they queued runs once Redis is back.

Real pieces: gunicorn serving the project, a redis-server killed with SIGKILL and started again on
the same port, a Celery worker with beat. The work queued by the submissions is the round
auto-start check (ROUND_AUTO_START_EVERY): its message is lost while Redis is down, and beat's
periodic check starts the round when Redis is back. A run whose message was lost (the row
``run_enqueue`` leaves queued when its publish fails) is sent again by the runs watchdog.
"""
import json
import time
import uuid
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from labeling.models import Ranking, Run, TrainingRound
from labeling.services.model_versions import model_version_register
from tests.faults.stack import wait_until
from tests.load import harness
from tests.load.harness import _seed
from tests.load.labelers import CARD_ID, SUBMIT_URL

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def rank_next(base: str, session_key: str) -> tuple[int, float] | None:
    """One labeler takes the next task and submits a ranking; returns (status, seconds) or None when done."""
    client = requests.Session()
    client.cookies.set("sessionid", session_key, domain="127.0.0.1", path="/")
    page = client.get(f"{base}/label/", timeout=30)
    assert page.status_code == 200, page.text[:300]
    match = SUBMIT_URL.search(page.text)
    if match is None:
        return None
    tiers = [[int(c)] for c in CARD_ID.findall(page.text)]
    started = time.perf_counter()
    response = client.post(base + match.group(1), data=json.dumps({"tiers": tiers, "submission_id": uuid.uuid4().hex}),
                           headers={"Content-Type": "application/json", "X-CSRFToken": client.cookies["csrftoken"]},
                           timeout=30)
    return response.status_code, time.perf_counter() - started


def test_submissions_succeed_while_redis_is_down_and_queued_work_runs_when_it_is_back(
        stack_env, redis_server, workers, tiny_bert_path, tiny_decoder_path):
    model_version_register(kind="policy", algorithm="external", path=tiny_decoder_path)  # rounds start from it
    sessions = _seed(labelers=2, tasks=4, k=3, required=2)["sessions"]
    env = {**stack_env, "ROUND_AUTO_START_EVERY": "6", "RLHF_REWARD_BASE_MODEL": tiny_bert_path,
           "RUNS_WATCHDOG_EVERY_SECONDS": "2", "RUN_REQUEUE_AFTER_SECONDS": "1", "ROUND_SAMPLE_PROMPTS": "2"}
    with harness.gunicorn(env=env, workers=1) as (base, _server):
        redis_server.kill()
        answers = []
        for session_key in sessions.values():
            while (answer := rank_next(base, session_key)) is not None:
                answers.append(answer)
    assert [status for status, _ in answers] == [201] * 8, answers
    assert max(seconds for _, seconds in answers) < 5, answers  # no waiting on the dead broker
    assert Ranking.objects.count() == 8 and not TrainingRound.objects.exists()
    lost = Run.objects.create(kind=Run.Kind.SAMPLE)  # enqueued while Redis was down: its message never left
    Run.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=1))

    redis_server.start()
    worker = workers(env, beat=True)
    training_round = wait_until(lambda: TrainingRound.objects.first(), timeout=120, what="beat's auto-start check")
    reward_run = wait_until(lambda: training_round.runs.exclude(status=Run.Status.QUEUED).first(), timeout=120,
                            what="the round's reward-model run to reach a worker")
    assert reward_run.kind == Run.Kind.TRAIN_REWARD and reward_run.attempts == 1, worker.log_path.read_text()[-3000:]
    lost = wait_until(lambda: Run.objects.exclude(status=Run.Status.QUEUED).filter(pk=lost.pk).first(), timeout=60,
                      what="the watchdog to send the lost run again")
    assert lost.attempts == 1  # a worker claimed it (it then fails: it was created without inputs)

"""The loop as an admin sees it: three labelers rank over HTTP, one click on /rounds/ starts a round,
the run page follows the job live (no reload) while a real Celery worker trains, and the new
policy's samples become tasks that a labeler is then given.

Real pieces: gunicorn serving the project, Redis, a Celery worker process, headless Chromium; tiny
models (the tiny GPT-2 policy and a tiny BERT reward base) so the round takes seconds.
"""
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from labeling.models import Completion, Ranking, RankingTask, Run, TrainingRound
from labeling.services.model_versions import model_version_register
from tests.conftest import PASSWORD
from tests.faults.conftest import redis_server, stack_env, workers  # noqa: F401 (fixtures)
from tests.faults.stack import wait_until
from tests.faults.test_redis_down import rank_next
from tests.load import harness
from tests.load.harness import _seed

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WAIT_S = 300  # a shared CI machine: the tiny round takes seconds, its worker's start longer


def test_three_labelers_then_one_click_give_a_new_policy_whose_samples_become_tasks(
        stack_env, workers, browser, tiny_bert_path, tiny_decoder_path):  # noqa: F811
    first = model_version_register(kind="policy", algorithm="external", path=tiny_decoder_path)
    sessions = _seed(labelers=3, tasks=4, k=3, required=3)["sessions"]
    # hashed with a hasher the server has (the test settings' fast one is not in its list)
    get_user_model().objects.create(username="boss", is_staff=True,
                                    password=PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt()))
    env = {**stack_env, "RLHF_REWARD_BASE_MODEL": tiny_bert_path, "ROUND_MIN_NEW_RANKINGS": "12"}
    with harness.gunicorn(env=env, workers=2) as (base, _server):
        for session_key in sessions.values():  # three labelers' worth of rankings, through the page's URLs
            while (answer := rank_next(base, session_key)) is not None:
                assert answer[0] == 201
        assert Ranking.objects.count() == 12

        browser.get(f"{base}/accounts/login/?next=/rounds/")
        browser.find_element(By.NAME, "username").send_keys("boss")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.NAME, "sample_prompts"),
                                         message=browser.page_source[:3000])
        for name, value in {"epochs": "1", "ppo_iterations": "1", "sample_prompts": "2", "k": "3"}.items():
            field = browser.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)
        browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()  # the one click
        # the POST redirects to /rounds/<id>/ (the form page itself is /rounds/: waiting on that passes at once)
        WebDriverWait(browser, 60).until(lambda d: re.search(r"/rounds/\d+/$", d.current_url),
                                         message=browser.page_source[:3000])
        training_round = TrainingRound.objects.get()
        reward_run = training_round.runs.get()
        assert reward_run.status == Run.Status.QUEUED  # no worker yet: the page is open before the job starts

        browser.get(f"{base}/runs/{reward_run.pk}/")
        assert browser.find_element(By.ID, "run-status").text == "queued"
        # The page polls the run and redraws it in place; when the run ends it reloads itself once (final
        # charts, retry button). What the live page showed at that moment is kept across the reload.
        browser.execute_script("""window.addEventListener("beforeunload", () => sessionStorage.setItem("shown",
            document.getElementById("run-status").textContent + " " +
            document.getElementById("run-progress-text").textContent));""")
        worker = workers(env)
        shown = WebDriverWait(browser, WAIT_S).until(
            lambda d: d.execute_script("return sessionStorage.getItem('shown');"),
            message=f"the run page never finished; worker log: {worker.log_path}")
        assert shown == "succeeded 100.0", worker.log_path.read_text()[-3000:]  # redrawn live, then reloaded
        WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "run-status").text == "succeeded")
        assert "rankings exported" in browser.find_element(By.ID, "run-log").text  # the log tail came along
        assert browser.find_elements(By.CSS_SELECTOR, "#run-charts svg")  # the loss and accuracy charts

        training_round = wait_until(
            lambda: TrainingRound.objects.filter(pk=training_round.pk, active=False).first(), timeout=WAIT_S,
            what="the round's DPO and sampling steps")
        assert training_round.status == TrainingRound.Status.SUCCEEDED, training_round.error
        new_policy = training_round.policy_out
        assert new_policy.parent_id == first.pk and new_policy.algorithm == "dpo"
        new_tasks = RankingTask.objects.filter(source_run__training_round=training_round)
        assert new_tasks.count() == 2
        assert set(Completion.objects.filter(task__in=new_tasks).values_list("model_version", flat=True)) == {
            new_policy.pk}
        assert rank_next(base, next(iter(sessions.values())))[0] == 201  # a labeler is given a new task
    assert Ranking.objects.filter(task__in=new_tasks).count() == 1

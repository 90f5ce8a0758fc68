"""Login rate limiting (labeling/login_throttle.py): N failures for a username from an address lock
that pair out with a 429 until the window passes, the right password included; other usernames and
addresses are unaffected; a success clears the count; the count is shared by processes."""
import subprocess
import sys
import time

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from labeling.login_throttle import login_failure_record, login_seconds_locked
from tests.conftest import PASSWORD
from tests.factories import UserFactory

FAILURES = 3


@pytest.fixture(autouse=True)
def throttle(settings, tmp_path):
    settings.LOGIN_THROTTLE_DIR = tmp_path / "throttle"
    settings.LOGIN_THROTTLE_FAILURES = FAILURES
    settings.LOGIN_THROTTLE_WINDOW_SECONDS = 60
    return settings


def attempt(username, password, *, ip="10.0.0.1", url=None):
    client = Client(REMOTE_ADDR=ip)
    response = client.post(url or reverse("login"), {"username": username, "password": password})
    return response, client.session.get("_auth_user_id")


def fail(username, times, **kwargs):
    return [attempt(username, "wrong", **kwargs)[0].status_code for _ in range(times)]


def test_n_failures_then_429_even_with_the_right_password(labeler):
    assert fail("alice", FAILURES) == [200] * FAILURES  # the form's "didn't match" each time
    response, user_id = attempt("alice", PASSWORD)
    assert response.status_code == 429 and user_id is None
    assert "Too many failed logins" in response.content.decode()
    assert 0 < int(response["Retry-After"]) <= 60


def test_one_failure_fewer_still_lets_the_right_password_in(labeler):
    fail("alice", FAILURES - 1)
    response, user_id = attempt("alice", PASSWORD)
    assert response.status_code == 302 and user_id == str(labeler.pk)


def test_another_username_and_another_address_are_unaffected(labeler, other_labeler):
    fail("alice", FAILURES)
    assert attempt("bob", PASSWORD)[1] == str(other_labeler.pk)
    assert attempt("alice", PASSWORD, ip="10.0.0.2")[1] == str(labeler.pk)
    assert attempt("alice", PASSWORD)[0].status_code == 429


def test_a_success_resets_the_count(labeler):
    fail("alice", FAILURES - 1)
    assert attempt("alice", PASSWORD)[1] == str(labeler.pk)
    assert fail("alice", FAILURES - 1) == [200] * (FAILURES - 1)
    assert attempt("alice", PASSWORD)[1] == str(labeler.pk)


def test_the_lock_ends_when_the_window_has_passed(throttle, labeler):
    throttle.LOGIN_THROTTLE_WINDOW_SECONDS = 1
    fail("alice", FAILURES)
    assert attempt("alice", PASSWORD)[0].status_code == 429
    time.sleep(1.1)
    assert attempt("alice", PASSWORD)[1] == str(labeler.pk)


def test_attempts_while_locked_do_not_extend_the_lock(db):
    start = 1_000_000.0
    for i in range(FAILURES):
        login_failure_record(username="x", ip="1.2.3.4", now=start + i)
    until = start + FAILURES - 1 + 60
    for i in range(10):
        login_failure_record(username="x", ip="1.2.3.4", now=start + 30 + i)
    assert login_seconds_locked(username="x", ip="1.2.3.4", now=until - 1) == 1
    assert login_seconds_locked(username="x", ip="1.2.3.4", now=until) == 0


def test_the_admin_login_counts_and_is_refused_too(admin):
    fail("root", FAILURES, url="/admin/login/")
    response, user_id = attempt("root", PASSWORD, url="/admin/login/")
    assert user_id is None and response.status_code == 200  # the admin's own form, refused
    assert attempt("root", PASSWORD)[0].status_code == 429


def test_the_username_is_matched_without_case(labeler):
    fail("ALICE", FAILURES)
    assert attempt("alice", PASSWORD)[0].status_code == 429


@pytest.mark.slow
def test_failures_recorded_by_separate_processes_add_up(throttle, tmp_path):
    """Three processes (as three gunicorn workers would) each record one failure: the pair is locked."""
    code = ("import django; django.setup(); from labeling.login_throttle import login_failure_record as r; "
            "r(username='alice', ip='10.9.9.9')")
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.test", "LOGIN_THROTTLE_DIR": str(tmp_path / "throttle"),
           "LOGIN_THROTTLE_FAILURES": str(FAILURES), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=django_settings.BASE_DIR, env=env)
             for _ in range(FAILURES)]
    assert [p.wait(timeout=120) for p in procs] == [0] * FAILURES
    assert login_seconds_locked(username="alice", ip="10.9.9.9") > 0


@pytest.mark.slow
def test_gunicorn_with_three_workers_locks_out_over_http(tmp_path):
    """The real server: failures on fresh connections land on any of the workers; the lock holds."""
    from tests.load import harness

    with harness.sqlite_database(tmp_path) as database_url:
        env = harness.server_env(database_url=database_url, var_dir=tmp_path, LOGIN_THROTTLE_FAILURES=str(FAILURES))
        harness.manage("migrate", "--noinput", env=env)
        harness.manage("shell", "-c", "from django.contrib.auth.models import User; "
                       "User.objects.create_user('alice', password='right-one')", env=env)
        with harness.gunicorn(env=env, workers=3) as (base, _server):
            def post(password):
                session = requests.Session()
                session.headers["Connection"] = "close"
                session.get(f"{base}/accounts/login/", timeout=30)
                return session.post(f"{base}/accounts/login/", timeout=30, allow_redirects=False, data={
                    "username": "alice", "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]})

            assert [post("wrong").status_code for _ in range(FAILURES)] == [200] * FAILURES
            locked = post("right-one")
            assert locked.status_code == 429 and "Too many failed logins" in locked.text
    assert len(list((tmp_path / "login-throttle").glob("*.json"))) == 1


@pytest.mark.parametrize("name", ["LOGIN_THROTTLE_FAILURES", "LOGIN_THROTTLE_WINDOW_SECONDS"])
def test_a_nonsensical_setting_is_refused_at_start_up(throttle, name):
    from labeling.checks import check_labeling_settings

    setattr(throttle, name, 0)
    assert [e.id for e in check_labeling_settings(None) if name in e.msg] == ["labeling.E001"]

"""Login rate limiting: after ``LOGIN_THROTTLE_FAILURES`` failed logins for one username from one IP
address within ``LOGIN_THROTTLE_WINDOW_SECONDS``, that pair is locked out for the same number of
seconds, the right password included. A successful login clears the pair's count.

Why a file per (username, IP) under ``LOGIN_THROTTLE_DIR`` rather than Django's cache: gunicorn runs
several worker processes, so a per-process LocMem cache would let an attacker multiply the limit by
the number of workers; Django's file and database caches do ``incr`` as a read then a write, which
loses counts under concurrent failures. Here each read-modify-write holds an exclusive ``flock`` on
the pair's file, so every process on the machine counts the same failures exactly. No migration or
cache table is needed; the directory lives beside the database under ``RLHF_VAR_DIR`` (a volume that
the compose file's web container shares between its gunicorn workers). Several web *machines* would
each count their own failures; put them behind one IP-hashing balancer or move this store to the
database.

Every path that checks a password goes through :func:`django.contrib.auth.authenticate`, so the
check sits there: :class:`LoginThrottleBackend`, first in ``AUTHENTICATION_BACKENDS``, refuses a
locked pair before any password is compared (the login page, the admin's login and DRF's session
login alike), and the ``user_login_failed`` / ``user_logged_in`` signals count and clear. The login
page (``labeling/views/login.py``) answers a locked pair with 429 and says how long to wait.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver


def client_ip(request) -> str:
    """The peer address. Behind a reverse proxy every client shares the proxy's address, which makes
    the key effectively per username (still a limit, never a bypass): X-Forwarded-For is not trusted,
    since any client can send one."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _pair_path(username: str, ip: str) -> Path:
    key = hashlib.sha256(f"{username.casefold()}\n{ip}".encode("utf-8", "surrogatepass")).hexdigest()
    return Path(settings.LOGIN_THROTTLE_DIR) / f"{key}.json"


@contextmanager
def _locked_state(username: str, ip: str):
    """The pair's ``{"failures": [t, ...], "locked_until": t}`` under an exclusive lock; written back."""
    path = _pair_path(username, ip)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        raw = handle.read()
        try:
            state = json.loads(raw) if raw else {}
        except ValueError:  # a torn file from a crash: start the count again
            state = {}
        state.setdefault("failures", [])
        state.setdefault("locked_until", 0.0)
        yield state
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(state))


def login_seconds_locked(*, username: str, ip: str, now: float | None = None) -> int:
    """Seconds until this username may try again from this address; 0 when it may now."""
    path = _pair_path(username, ip)
    if not path.exists():
        return 0
    now = time.time() if now is None else now
    with _locked_state(username, ip) as state:
        return max(0, math.ceil(state["locked_until"] - now))


def login_failure_record(*, username: str, ip: str, now: float | None = None) -> None:
    """Count a failed login; the N-th within the window locks the pair for the window's length.
    Attempts refused while locked are not counted, so the lockout ends on time."""
    now = time.time() if now is None else now
    window = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    with _locked_state(username, ip) as state:
        if state["locked_until"] > now:
            return
        state["failures"] = [t for t in state["failures"] if t > now - window] + [now]
        if len(state["failures"]) >= settings.LOGIN_THROTTLE_FAILURES:
            state["failures"], state["locked_until"] = [], now + window


def login_success_reset(*, username: str, ip: str) -> None:
    _pair_path(username, ip).unlink(missing_ok=True)


class LoginThrottleBackend:
    """First in AUTHENTICATION_BACKENDS: a locked pair stops ``authenticate`` before any password check."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and username and login_seconds_locked(username=username, ip=client_ip(request)):
            raise PermissionDenied("Too many failed logins.")
        return None  # no ``get_user``: sessions stay with ModelBackend (and force_login skips this one)


@receiver(user_login_failed, dispatch_uid="labeling.login_throttle.failed")
def _count_failure(sender, credentials, request=None, **kwargs):
    username = credentials.get("username")
    if request is not None and username:
        login_failure_record(username=username, ip=client_ip(request))


@receiver(user_logged_in, dispatch_uid="labeling.login_throttle.succeeded")
def _clear_on_success(sender, request, user, **kwargs):
    if request is not None:
        login_success_reset(username=user.get_username(), ip=client_ip(request))

"""Production settings refuse the development secret key and the public demo password, and pass
Django's deployment checks once real secrets are given. Each case starts a fresh interpreter, as a
gunicorn or Celery process would, with only the environment the case names."""
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in {"DJANGO_SECRET_KEY", "DEMO_PASSWORD", "DJANGO_SETTINGS_MODULE", "DATABASE_URL"}}
    return subprocess.run([sys.executable, *args], cwd=settings.BASE_DIR, capture_output=True, text=True,
                          timeout=120, env={**base, "DJANGO_SETTINGS_MODULE": "config.settings.production",
                                            "OMP_NUM_THREADS": "1", **env})


LOAD = ["-c", "import django; django.setup()"]
REAL_KEY = secrets.token_urlsafe(50)


@pytest.mark.parametrize("env, refusal", [
    ({}, "production refuses the development key"),
    ({"DJANGO_SECRET_KEY": "insecure-local-development-key-change-me"}, "production refuses the development key"),
    ({"DJANGO_SECRET_KEY": REAL_KEY}, "production refuses the public demo password"),
    ({"DJANGO_SECRET_KEY": REAL_KEY, "DEMO_PASSWORD": "rlhf-demo"}, "production refuses the public demo password"),
], ids=["no key", "the dev key", "no demo password", "the demo password"])
def test_production_refuses_to_start(env, refusal):
    result = run(*LOAD, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and refusal in result.stderr


def test_with_real_secrets_the_deploy_checks_pass():
    result = run("manage.py", "check", "--deploy", "--fail-level", "WARNING", DJANGO_SECRET_KEY=REAL_KEY,
                 DEMO_PASSWORD=secrets.token_urlsafe(12), DJANGO_HSTS_SECONDS="3600")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout

"""Settings of the load harness's ``localstack`` mode: what `make run` uses (config.settings.local, DEBUG
on unless DJANGO_DEBUG says otherwise) plus the same trivial view as tests.load.settings."""
from config.settings.local import *  # noqa: F401,F403

ROOT_URLCONF = "tests.load.urls"

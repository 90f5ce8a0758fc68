"""Settings of the load harness's ``localstack`` mode: what `make run` uses (config.settings.local, DEBUG
as DJANGO_DEBUG says: the stack turns it off unless set) plus the same trivial view as tests.load.settings."""
from config.settings.local import *  # noqa: F401,F403

ROOT_URLCONF = "tests.load.urls"

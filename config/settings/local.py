"""One machine, no Docker: SQLite under var/, Redis on loopback started by `make run`."""
from config.settings.base import *  # noqa: F401,F403
from config.settings.base import VAR_DIR
from config.settings.env import env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
VAR_DIR.mkdir(parents=True, exist_ok=True)

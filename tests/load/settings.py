"""Server settings for the load harness: the base settings (DEBUG off, database from DATABASE_URL)
plus one trivial view, served by the same gunicorn workers, that the labeling views are compared to."""
from config.settings.base import *  # noqa: F401,F403

ROOT_URLCONF = "tests.load.urls"

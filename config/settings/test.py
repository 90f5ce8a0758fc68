"""Settings for pytest: a file SQLite database (threads share it for real), fast password hashing."""
import os
import tempfile
from pathlib import Path

from config.settings.base import *  # noqa: F401,F403
from config.settings.base import BASE_DIR, DATABASES, VAR_DIR

VAR_DIR.mkdir(parents=True, exist_ok=True)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so concurrency tests with real threads see real SQLite locking.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEMO_PASSWORD = "rlhf-demo"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Login failures counted per test process, never carried over between runs (tests may set their own).
LOGIN_THROTTLE_DIR = Path(os.environ.get("LOGIN_THROTTLE_DIR") or tempfile.mkdtemp(prefix="rlhf-login-throttle-"))
# Mail goes to django.core.mail.outbox, where tests read it.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

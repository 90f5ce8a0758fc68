"""System checks refuse a nonsensical setting at start-up (labeling/checks.py)."""
import pytest


@pytest.mark.parametrize("name, value, error", [
    ("RLHF_TRAINING_PROCESSES", 0, "labeling.E001"),
    ("RLHF_TRAINING_ACCELERATE_CONFIG", "/nonexistent/accelerate.yaml", "labeling.E004"),
])
def test_nonsensical_training_process_settings_are_refused_at_start_up(settings, name, value, error):
    from labeling.checks import check_labeling_settings

    setattr(settings, name, value)
    assert [e.id for e in check_labeling_settings(None) if name in e.msg] == [error]


@pytest.mark.parametrize("name, value, error", [
    ("ROUND_AUTO_ALGO", "dop", "labeling.E005"),
    ("ROUND_AUTO_START_EVERY", -1, "labeling.E001"),
    ("ROUND_MIN_NEW_RANKINGS", "30", "labeling.E001"),
    ("RUN_HEARTBEAT_TIMEOUT_SECONDS", 0, "labeling.E001"),
    ("ROUND_SAMPLE_PROMPTS", 0, "labeling.E001"),
    ("RUN_REQUEUE_AFTER_SECONDS", 0, "labeling.E001"),
    ("RUNS_WATCHDOG_EVERY_SECONDS", 0, "labeling.E001"),
])
def test_nonsensical_round_and_run_settings_are_refused_at_start_up(settings, name, value, error):
    from labeling.checks import check_labeling_settings

    setattr(settings, name, value)
    assert [e.id for e in check_labeling_settings(None) if name in e.msg] == [error]


def test_the_shipped_settings_pass_the_checks(settings):
    from labeling.checks import check_labeling_settings

    assert check_labeling_settings(None) == []


@pytest.mark.parametrize("name, value", [
    ("EMAIL_PORT", "587"), ("EMAIL_PORT", 0), ("EMAIL_PORT", 70000), ("DEFAULT_FROM_EMAIL", "nobody"),
])
def test_nonsensical_mail_settings_are_refused_at_start_up(settings, name, value):
    from labeling.checks import check_labeling_settings

    setattr(settings, name, value)
    assert [e.id for e in check_labeling_settings(None) if name in e.msg] == ["labeling.E006"]


def test_starttls_and_implicit_tls_together_are_refused(settings):
    from labeling.checks import check_labeling_settings

    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = True
    assert [e.id for e in check_labeling_settings(None) if "EMAIL_USE_SSL" in e.msg] == ["labeling.E006"]


def test_a_misspelt_sampler_is_refused_at_start_up(settings):
    from labeling.checks import check_labeling_settings

    settings.RLHF_SAMPLER = "vlm"
    assert [e.id for e in check_labeling_settings(None) if "RLHF_SAMPLER" in e.msg] == ["labeling.E007"]

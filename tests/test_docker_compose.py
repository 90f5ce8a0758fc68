"""docker-compose.yml is for users' servers (no Docker engine here): validate it and its commands."""
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_matches_the_compose_specification():
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker if checker.exists() else shutil.which("check-jsonschema")),
         "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_services_run_commands_this_project_has():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    web = services["web"]["command"]
    assert web[:2] == ["gunicorn", "config.wsgi:application"] and (ROOT / "config" / "wsgi.py").exists()
    for name, queue in (("worker", "default"), ("training-worker", "training")):
        command = services[name]["command"]
        assert command[:4] == ["celery", "-A", "config", "worker"] and queue in command[command.index("-Q") + 1]
    assert (ROOT / "config" / "celery.py").exists() and (ROOT / "Dockerfile").exists()
    # the worker command really starts with this project's Celery app
    result = subprocess.run([sys.executable, "-m", "celery", "-A", "config", "inspect", "--help"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_image_installs_the_pinned_torch_from_the_chosen_index():
    """The Dockerfile takes torch's pin from requirements.txt (one line) and its index from TORCH_INDEX."""
    pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("torch==")]
    assert len(pins) == 1
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "ARG TORCH_INDEX=" in dockerfile and "$(grep '^torch==' requirements.txt)" in dockerfile
    assert "collectstatic" in dockerfile  # WhiteNoise serves what it gathers

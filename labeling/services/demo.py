"""The demo set: users and tasks that let someone try the labeler page straight after `make run`."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from labeling.import_formats import parse_tasks
from labeling.models import Completion
from labeling.services.imports import tasks_import

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo" / "demo_tasks.jsonl"
DEMO_LABELERS = ("labeler1", "labeler2", "labeler3")
DEMO_ADMIN = "admin"


def _demo_specs(path: Path):
    specs = parse_tasks(path.read_text(encoding="utf-8").splitlines())
    # Stable ids make seeding idempotent: a second run finds them and creates nothing.
    return [
        replace(spec, prompt=replace(spec.prompt, external_id=spec.prompt.external_id or f"demo-{number:03d}"))
        for number, spec in enumerate(specs, start=1)
    ]


def _ensure_user(username: str, password: str, *, staff: bool):
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"is_staff": staff, "is_superuser": staff})
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user, created


def demo_seed(*, password: str, path: Path = DEMO_FILE) -> dict:
    """Create the demo admin, three labelers and the demo tasks, skipping whatever exists already."""
    specs = _demo_specs(path)
    with transaction.atomic():
        users = [_ensure_user(DEMO_ADMIN, password, staff=True)]
        users += [_ensure_user(name, password, staff=False) for name in DEMO_LABELERS]
        tasks = tasks_import(
            specs=specs, source=Completion.Source.SEED, source_detail=path.name, skip_existing=True, task_set="demo"
        )
    return {"users_created": sum(created for _, created in users), "tasks_created": len(tasks)}

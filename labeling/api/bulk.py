"""Bulk-created prompts and tasks, validated item by item with the import files' own parser.

Each item goes through ``labeling.import_formats`` as if it were one line of an import file, so the
API accepts exactly what ``manage.py import_prompts`` / ``import_tasks`` accept. Errors name the item
by its 0-based index and, where the parser's message quotes it, the field: ``2.prompt``, or within a
conversation prompt ``2.prompt[1].role``.
"""
from __future__ import annotations

import json
import re

from labeling.errors import RejectedInput
from labeling.import_formats import PromptSpec, TaskSpec, parse_prompts, parse_tasks
from labeling.models import Project, Prompt

_LINE_PREFIX = re.compile(r"^line \d+: ")
_QUOTED_FIELD = re.compile(r'^"(\w+(?:\[\d+\])?(?:\.\w+)?)"')
_COMPLETION = re.compile(r"^completion (\d+) ")


def _field_named(message: str) -> str | None:
    if match := _QUOTED_FIELD.match(message):
        return match.group(1)
    if match := _COMPLETION.match(message):
        return f"completions.{match.group(1)}"
    return "completions" if "completions" in message else None


def _spec(index: int, item, parse):
    if not isinstance(item, dict):
        raise RejectedInput(f"item {index} must be a JSON object.", field=str(index))
    try:
        return parse([json.dumps(item)])[0]
    except RejectedInput as exc:
        message = _LINE_PREFIX.sub("", exc.message)
        field = _field_named(message)
        raise RejectedInput(f"item {index}: {message}", field=f"{index}.{field}" if field else str(index)) from None


def _check_ids(prompts: list[PromptSpec], project: Project) -> None:
    """Ids unique within the request and new to the project (the service checks again, atomically)."""
    first: dict[str, int] = {}
    for index, spec in enumerate(prompts):
        if spec.external_id and spec.external_id in first:
            raise RejectedInput(f'item {index}: "id" {spec.external_id!r} repeats item {first[spec.external_id]}',
                                field=f"{index}.id")
        first.setdefault(spec.external_id, index)
    taken = set(Prompt.objects.filter(project=project, external_id__in=[i for i in first if i])
                .values_list("external_id", flat=True))
    for index, spec in enumerate(prompts):
        if spec.external_id in taken:
            raise RejectedInput(f'item {index}: "id" {spec.external_id!r} is already in the database',
                                field=f"{index}.id", status=409)


def prompt_specs(items: list, *, project: Project) -> list[PromptSpec]:
    specs = [_spec(index, item, parse_prompts) for index, item in enumerate(items)]
    _check_ids(specs, project)
    return specs


def task_specs(items: list, *, project: Project) -> list[TaskSpec]:
    specs = [_spec(index, item, parse_tasks) for index, item in enumerate(items)]
    _check_ids([spec.prompt for spec in specs], project)
    return specs

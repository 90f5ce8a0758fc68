"""Writing imported prompts and tasks: all lines in one transaction, after all were validated."""
from __future__ import annotations

from pathlib import PurePath

from django.conf import settings
from django.db import transaction

from labeling.errors import RejectedInput
from labeling.import_formats import PromptSpec, TaskSpec
from labeling.models import TASK_SET_MAX_LENGTH, Completion, Prompt, RankingTask


def _existing_ids(specs: list[PromptSpec]) -> set[str]:
    ids = [s.external_id for s in specs if s.external_id]
    return set(Prompt.objects.filter(external_id__in=ids).values_list("external_id", flat=True))


def _refuse_existing(specs: list[PromptSpec], skip_existing: bool) -> set[str]:
    existing = _existing_ids(specs)
    if existing and not skip_existing:
        for spec in specs:
            if spec.external_id in existing:
                raise RejectedInput(f'id {spec.external_id!r} is already in the database', field="id")
    return existing


def prompts_import(*, specs: list[PromptSpec], skip_existing: bool = False) -> list[Prompt]:
    """Create the prompts; an ``id`` already present is an error unless ``skip_existing``."""
    with transaction.atomic():
        existing = _refuse_existing(specs, skip_existing)
        prompts = [
            Prompt(text=s.text, external_id=s.external_id, metadata=s.metadata)
            for s in specs
            if not (s.external_id and s.external_id in existing)
        ]
        for prompt in prompts:
            prompt.full_clean(validate_constraints=False)
        return Prompt.objects.bulk_create(prompts)


def tasks_import(
    *, specs: list[TaskSpec], source: str = Completion.Source.IMPORT, source_detail: str = "",
    skip_existing: bool = False, task_set: str | None = None,
) -> list[RankingTask]:
    """Create a prompt, a ranking task and its completions per spec; gold indexes become ids.

    The tasks form ``task_set``, by default the name of the file ``source_detail`` (its last path part).
    """
    if task_set is None:
        task_set = PurePath(source_detail.replace("\\", "/")).name
    task_set = task_set[:TASK_SET_MAX_LENGTH]
    created = []
    with transaction.atomic():
        existing = _refuse_existing([s.prompt for s in specs], skip_existing)
        for spec in specs:
            if spec.prompt.external_id and spec.prompt.external_id in existing:
                continue
            prompt = Prompt.objects.create(
                text=spec.prompt.text, external_id=spec.prompt.external_id, metadata=spec.prompt.metadata
            )
            task = RankingTask.objects.create(
                prompt=prompt,
                required_rankings=spec.required_rankings or settings.LABELING_DEFAULT_REQUIRED_RANKINGS,
                task_set=task_set,
            )
            completions = Completion.objects.bulk_create(
                Completion(task=task, text=text, source=source, source_detail=source_detail)
                for text in spec.completions
            )
            if spec.gold_ranking is not None:
                task.gold_tiers = [[completions[i].pk for i in tier] for tier in spec.gold_ranking]
                task.save(update_fields=["gold_tiers"])
            created.append(task)
    return created

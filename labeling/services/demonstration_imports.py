"""Writing an imported demonstrations file (:mod:`labeling.demonstration_formats`): all or nothing.

Each line's prompt becomes a prompt of the project and a write task for ``required`` labelers. A
line with a completion is a demonstration already written: it is stored as ``labeler``'s (an
existing user here: the person importing names whose work it is), accepted, and fills one of its
task's slots. Completions must fit the project's length limits, as on the page; an ``id`` already
in the project is refused, as for tasks.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from labeling.demonstration_formats import DemonstrationSpec
from labeling.errors import RejectedInput
from labeling.models import Demonstration, DemonstrationTask, Project, Prompt
from labeling.services.demonstrations import clean_demonstration_text, demonstration_tasks_create
from labeling.services.imports import _refuse_existing, _task_set_name
from labeling.services.prompts import prompt_fields


def _labeler(specs: list[DemonstrationSpec], username: str | None):
    written = [spec.line for spec in specs if spec.completion is not None]
    if not written:
        return None
    if not username:
        raise RejectedInput(f'line {written[0]}: has a "completion" but no --labeler was given to store it under',
                            field=f"line {written[0]}")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise RejectedInput(f"no user {username!r} here to store the written demonstrations under", field="labeler")
    return user


def _checked_texts(specs: list[DemonstrationSpec], project: Project) -> dict[int, str]:
    texts = {}
    for spec in specs:
        if spec.completion is not None:
            try:
                texts[spec.line] = clean_demonstration_text(spec.completion, project)
            except RejectedInput as refused:
                raise RejectedInput(f"line {spec.line}: {refused.message}", field=f"line {spec.line}") from None
    return texts


def demonstrations_import(*, specs: list[DemonstrationSpec], project: Project, labeler: str | None = None,
                          required: int | None = None, source_detail: str = "",
                          task_set: str | None = None) -> tuple[list[DemonstrationTask], int]:
    """The tasks made and how many demonstrations came with them."""
    user = _labeler(specs, labeler)
    texts = _checked_texts(specs, project)
    with transaction.atomic():
        _refuse_existing([spec.prompt for spec in specs], False, project)
        prompts = [Prompt(**prompt_fields(spec.prompt.value), project=project, external_id=spec.prompt.external_id,
                          metadata=spec.prompt.metadata) for spec in specs]
        for prompt in prompts:
            prompt.save()
        tasks = demonstration_tasks_create(project=project, prompts=prompts, required=required,
                                           task_set=_task_set_name(task_set, source_detail))
        demonstrations = [
            Demonstration(task=task, labeler=user, text=texts[spec.line], submission_id=f"import-{task.pk}",
                          review_status="accepted")
            for spec, task in zip(specs, tasks) if spec.line in texts]
        Demonstration.objects.bulk_create(demonstrations)
    return tasks, len(demonstrations)

"""Writing imported prompts, tasks and preference pairs: all lines in one transaction, after all were validated.

A prompt is stored through :func:`labeling.services.prompts.prompt_fields`: a conversation keeps its
messages, with its plain text in ``text``. Everything goes into one project (``default`` unless
given); an ``id`` is unique within its project, and a task's K must be in the project's range.
"""
from __future__ import annotations

from pathlib import PurePath

from django.contrib.auth import get_user_model
from django.db import transaction

from labeling import submission
from labeling.errors import RejectedInput
from labeling.import_formats import PairLabels, PreferenceSpec, PromptSpec, TaskSpec
from labeling.label_choices import label_choices
from labeling.models import TASK_SET_MAX_LENGTH, Completion, Project, Prompt, Ranking, RankingTask, default_project_id
from labeling.services.prompts import prompt_fields


def _project(project: Project | None) -> Project:
    return project if project is not None else Project.objects.get(pk=default_project_id())


def _existing_ids(specs: list[PromptSpec], project: Project) -> set[str]:
    ids = [s.external_id for s in specs if s.external_id]
    return set(Prompt.objects.filter(project=project, external_id__in=ids).values_list("external_id", flat=True))


def _refuse_k_outside(project: Project, sizes: list[int]) -> None:
    for number, k in enumerate(sizes, start=1):
        if not project.k_min <= k <= project.k_max:
            raise RejectedInput(f"task {number} has {k} completions; project {project.slug!r} takes "
                                f"{project.k_min} to {project.k_max}", field="completions")


def _refuse_existing(specs: list[PromptSpec], skip_existing: bool, project: Project) -> set[str]:
    existing = _existing_ids(specs, project)
    if existing and not skip_existing:
        for spec in specs:
            if spec.external_id in existing:
                raise RejectedInput(f'id {spec.external_id!r} is already in the database', field="id")
    return existing


def _task_set_name(task_set: str | None, source_detail: str) -> str:
    if task_set is None:  # the import file's name
        task_set = PurePath(source_detail.replace("\\", "/")).name
    return task_set[:TASK_SET_MAX_LENGTH]


def prompts_import(*, specs: list[PromptSpec], skip_existing: bool = False,
                   project: Project | None = None) -> list[Prompt]:
    """Create the prompts; an ``id`` already present is an error unless ``skip_existing``."""
    project = _project(project)
    with transaction.atomic():
        existing = _refuse_existing(specs, skip_existing, project)
        prompts = [
            Prompt(**prompt_fields(s.value), project=project, external_id=s.external_id, metadata=s.metadata)
            for s in specs
            if not (s.external_id and s.external_id in existing)
        ]
        for prompt in prompts:
            prompt.full_clean(validate_constraints=False)
        return Prompt.objects.bulk_create(prompts)


def tasks_import(
    *, specs: list[TaskSpec], source: str = Completion.Source.IMPORT, source_detail: str = "",
    skip_existing: bool = False, task_set: str | None = None, project: Project | None = None,
) -> list[RankingTask]:
    """Create a prompt, a ranking task and its completions per spec; gold indexes become ids.

    The tasks form ``task_set``, by default the name of the file ``source_detail`` (its last path part).
    """
    task_set = _task_set_name(task_set, source_detail)
    project = _project(project)
    _refuse_k_outside(project, [len(spec.completions) for spec in specs])
    created = []
    with transaction.atomic():
        existing = _refuse_existing([s.prompt for s in specs], skip_existing, project)
        for spec in specs:
            if spec.prompt.external_id and spec.prompt.external_id in existing:
                continue
            prompt = Prompt.objects.create(
                **prompt_fields(spec.prompt.value), project=project, external_id=spec.prompt.external_id,
                metadata=spec.prompt.metadata,
            )
            task = RankingTask.objects.create(
                prompt=prompt,
                required_rankings=spec.required_rankings or project.default_required_rankings,
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


def _external_labelers(names: set[str]) -> dict:
    """The users the imported rankings are by: created inactive, with no usable password, when missing.
    An active account is refused: its rankings would mix with what that person labels here."""
    users = {u.username: u for u in get_user_model().objects.filter(username__in=names)}
    active = sorted(name for name, user in users.items() if user.is_active)
    if active:
        raise RejectedInput(
            f"{', '.join(active)} {'is an active account' if len(active) == 1 else 'are active accounts'} here; "
            "imported rankings go to external labelers: name them differently (e.g. with a prefix).",
            field="labeler")
    for name in sorted(names - set(users)):
        user = get_user_model()(username=name, is_active=False)
        user.set_unusable_password()
        user.save()
        users[name] = user
    return users


def _scores_and_flags(said: PairLabels, chosen: int, rejected: int, project: Project) -> dict:
    """The line's scores and flags as a ranking stores them, checked as the labeler page checks
    them (the project's flags; scores only where it asks for them); RejectedInput names the line."""
    scores = {str(cid): score for cid, score in ((chosen, said.chosen_score), (rejected, said.rejected_score))
              if score is not None}
    if scores and not project.ask_scores:
        raise RejectedInput(f"line {said.line}: project {project.slug!r} does not ask for scores; leave "
                            '"chosen_score" and "rejected_score" out or null', field=f"line {said.line}")
    flags = {str(chosen): list(said.chosen_flags), str(rejected): list(said.rejected_flags)}
    try:
        flags = submission.clean_flags(flags, {chosen, rejected}, [key for key, _ in label_choices(project.flags)])
    except RejectedInput as exc:
        raise RejectedInput(f"line {said.line}: {exc.message}", field=f"line {said.line}") from None
    return {"scores": scores, "flags": flags}


def preferences_import(*, specs: list[PreferenceSpec], source_detail: str = "", task_set: str | None = None,
                       project: Project | None = None) -> list[RankingTask]:
    """One K=2 task per (prompt, pair of texts) with one ranking per labeler who judged it.

    Each task needs exactly the rankings it gets, so labelers here are not asked for more. The
    rankings are checked by the labeler page's own tier validation; the order they were shown in is
    unknown (``display_order`` empty), so they count for agreement and not for position bias. The
    scores, flags and comment a pairs export writes come back onto the ranking.
    """
    task_set = _task_set_name(task_set, source_detail)
    project = _project(project)
    _refuse_k_outside(project, [len(spec.completions) for spec in specs])
    created = []
    with transaction.atomic():
        users = _external_labelers({who for spec in specs for who, _ in spec.judgements})
        for spec in specs:
            prompt = Prompt.objects.create(**prompt_fields(spec.prompt), project=project)
            task = RankingTask.objects.create(prompt=prompt, required_rankings=min(len(spec.judgements), 50),
                                              task_set=task_set)
            completions = Completion.objects.bulk_create(
                Completion(task=task, text=text, source=Completion.Source.IMPORT, source_detail=source_detail)
                for text in spec.completions)
            ids = {c.text: c.pk for c in completions}
            for index, (who, chosen) in enumerate(spec.judgements):
                rejected = next(text for text in spec.completions if text != chosen)
                said = spec.labels[index] if spec.labels else PairLabels(line=0)
                ranking = Ranking(task=task, labeler=users[who], display_order=[],
                                  tiers=submission.clean_tiers([[ids[chosen]], [ids[rejected]]], set(ids.values())),
                                  submission_id=f"import-{task.pk}-{users[who].pk}", comment=said.comment,
                                  **_scores_and_flags(said, ids[chosen], ids[rejected], project))
                ranking.full_clean(exclude=["display_order"], validate_unique=False)
                ranking.save()
            created.append(task)
    return created

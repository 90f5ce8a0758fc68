"""Sample K completions per prompt with a policy version; each prompt becomes a new ranking task, or,
with active task selection (``labeling.jobs.sample_selection``), only the candidates it picks."""
from __future__ import annotations

from collections import defaultdict, deque

from django.conf import settings
from django.db import transaction

from labeling.models import Completion, ModelVersion, Prompt, RankingTask, Run
from labeling.services.guard import canaries_set_aside
from labeling.services.prompts import prompt_value
from labeling.jobs.reporter import RunReporter
from labeling.jobs.sample_selection import selection_picks

SAMPLING_KEYS = ("k", "temperature", "top_p", "max_new_tokens", "seed", "max_redraws", "redraw_heat",
                 "prompt_batch_size")


def job_sample(run: Run, reporter: RunReporter):
    """``inputs``: ``policy_version`` (id) and ``prompt_ids``; ``config``: sampling settings and
    ``required_rankings``, and ``backend`` (else ``RLHF_SAMPLER``: generate, vllm or auto). Prompts
    whose policy cannot produce two distinct texts are left out.
    The tasks record this run as their source and form the task set ``round-<id>`` (``run-<id>``
    for a run outside a round). A prompt is a string or a conversation; each group comes back with
    its prompt's value, which finds the row it belongs to."""
    from modeling.models.sampling import sample_checkpoint

    version = ModelVersion.objects.get(pk=run.inputs["policy_version"], kind=ModelVersion.Kind.POLICY)
    prompts = list(Prompt.objects.filter(pk__in=run.inputs["prompt_ids"]).order_by("pk"))
    options = {k: run.config[k] for k in SAMPLING_KEYS if k in run.config}
    backend = run.config.get("backend", settings.RLHF_SAMPLER)
    reporter.log(f"sampling {len(prompts)} prompts with {version.name} ({backend}): {options}")
    values = [prompt_value(p) for p in prompts]
    groups = sample_checkpoint(version.path, values, backend=backend, progress=lambda d, t: reporter(d, t),
                               **options)
    rows = defaultdict(deque)  # value -> its rows, in order (two rows may hold the same prompt)
    for value, prompt in zip(values, prompts):
        rows[value].append(prompt)
    group_prompts = []  # each group's row
    for group in groups:
        if not rows[group.prompt]:  # by value: a string and a conversation may share a text
            raise RuntimeError(f"sampling returned a prompt it was not given: {group.prompt!r:.200}")
        group_prompts.append(rows[group.prompt].popleft())
    required = run.config.get("required_rankings", run.project.default_required_rankings)
    task_set = f"round-{run.training_round_id}" if run.training_round_id else f"run-{run.pk}"
    selected = selection_picks(run, groups, group_prompts, reporter)  # None: every group becomes a task
    picks, selection_summary = selected if selected is not None else (None, None)

    def register() -> dict:
        task_ids, dropped = [], 0
        with transaction.atomic():
            for index, (group, prompt) in enumerate(zip(groups, group_prompts)):
                if len(group.completions) < 2:
                    dropped += 1
                    continue
                if picks is not None and index not in picks:  # a candidate active selection passed over
                    continue
                task = RankingTask.objects.create(prompt=prompt, required_rankings=required, source_run=run,
                                                  task_set=task_set, **(picks[index] if picks is not None else {}))
                Completion.objects.bulk_create(
                    Completion(task=task, text=text, source=Completion.Source.MODEL, model_version=version,
                               source_detail=f"run {run.pk}")
                    for text in group.completions
                )
                task_ids.append(task.pk)
            canaries = canaries_set_aside(run=run, task_ids=task_ids)  # issue 19's canaries: never trained on
        return {"tasks_created": len(task_ids), "task_ids": task_ids, "canaries": canaries, "prompts_dropped": dropped,
                "settings": groups[0].settings if groups else {},
                **({"selection": selection_summary} if selection_summary is not None else {})}

    return register

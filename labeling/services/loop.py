"""Starting the loop on a fresh install: bootstrap the default policy once, then let it sample tasks.

`make run` calls :func:`loop_bootstrap`; when the bootstrap run succeeds, :func:`loop_after_bootstrap`
(in the same transaction that marks it succeeded) adds generated instruction prompts and queues a
sample run whose completions become ranking tasks beside the demo set.
"""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction

from labeling.models import ModelVersion, Prompt, Run
from labeling.services.model_versions import model_version_register
from labeling.services.prompts import prompt_fields
from labeling.services.rounds import DEFAULT_CONFIG
from labeling.services.runs import run_enqueue

INITIAL_SAMPLE = {**DEFAULT_CONFIG["sample"], "seed": 0}  # the first tasks are sampled as a round samples
PROMPT_SEED = 2024


def loop_bootstrap(*, sample_prompts: int = 40, config: dict | None = None, policy_path: str = "") -> Run | None:
    """Queue the default-policy bootstrap unless a policy exists or a bootstrap is already in flight.

    With ``policy_path`` (or the ``RLHF_DEFAULT_POLICY`` setting) that checkpoint is registered as
    the first policy instead, and only the sampling of the first tasks is queued.
    """
    if ModelVersion.objects.filter(kind=ModelVersion.Kind.POLICY).exists():
        return None
    policy_path = policy_path or settings.RLHF_DEFAULT_POLICY
    if policy_path:
        with transaction.atomic():
            version = model_version_register(kind=ModelVersion.Kind.POLICY, algorithm="external",
                                             path=Path(policy_path), config={"path": policy_path})
            return _sample_generated_prompts(version, sample_prompts) if sample_prompts else None
    in_flight = Run.objects.filter(kind=Run.Kind.BOOTSTRAP, status__in=[Run.Status.QUEUED, Run.Status.RUNNING])
    return in_flight.first() or run_enqueue(kind=Run.Kind.BOOTSTRAP, config=config or {},
                                            inputs={"sample_prompts": sample_prompts})


def loop_after_bootstrap(*, run: Run, outputs: dict) -> Run | None:
    """Generated prompts (stable ids, so never twice) sampled K ways by the new default policy."""
    count = run.inputs.get("sample_prompts", 0)
    if run.kind != Run.Kind.BOOTSTRAP or not count:
        return None
    return _sample_generated_prompts(ModelVersion.objects.get(pk=outputs["model_version"]), count)


def _sample_generated_prompts(policy: ModelVersion, count: int) -> Run:
    from modeling.simulation.instructions import generate_prompts, instruction_type

    prompt_ids = []
    for number, text in enumerate(generate_prompts(count, seed=PROMPT_SEED)):
        prompt, _ = Prompt.objects.get_or_create(
            external_id=f"generated-{PROMPT_SEED}-{number:04d}",
            defaults={**prompt_fields(text), "metadata": {"type": instruction_type(text), "source": "generated"}},
        )
        prompt_ids.append(prompt.pk)
    return run_enqueue(kind=Run.Kind.SAMPLE, config=INITIAL_SAMPLE,
                       inputs={"policy_version": policy.pk, "prompt_ids": prompt_ids})

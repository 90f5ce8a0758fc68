"""Rankings written straight to the database for the export tests (the submit service is tested elsewhere)."""
from __future__ import annotations

import itertools

from labeling.models import ModelVersion, Project, Ranking, RankingTask, Run, TrainingRound, default_project_id
from labeling.selectors.rankings import RankingFilter, ranking_filter_parse

_ids = itertools.count()


def rank(task: RankingTask, user, tiers: list[list[int]], *, scores: dict | None = None,
         flags: dict | None = None, comment: str = "") -> Ranking:
    """``user``'s ranking of ``task``, tiers given as indexes into its completions in id order, and
    ``scores``/``flags`` as ``{index: ...}`` (stored, like the submit service stores them, by id)."""
    ids = list(task.completions.order_by("pk").values_list("pk", flat=True))
    return Ranking.objects.create(task=task, labeler=user, tiers=[[ids[i] for i in tier] for tier in tiers],
                                  display_order=ids, submission_id=f"sub-{next(_ids)}", comment=comment,
                                  scores={str(ids[i]): v for i, v in (scores or {}).items()},
                                  flags={str(ids[i]): v for i, v in (flags or {}).items()})


def export_filters(**inputs) -> RankingFilter:
    """An export's filter of the default project, as the command and the API build it (gold left out
    unless ``include_gold``)."""
    inputs.setdefault("include_gold", False)
    return ranking_filter_parse(project=Project.objects.get(pk=default_project_id()), **inputs)


def make_round() -> TrainingRound:
    n = next(_ids)
    policy = ModelVersion.objects.create(kind="policy", name=f"policy-test-{n}", algorithm="external", path="/nowhere")
    return TrainingRound.objects.create(algo="dpo", policy_in=policy, active=False, status="succeeded")


def sample_into_round(task: RankingTask, training_round: TrainingRound) -> RankingTask:
    run = Run.objects.create(kind=Run.Kind.SAMPLE, status=Run.Status.SUCCEEDED, training_round=training_round)
    task.source_run = run
    task.task_set = f"round-{training_round.pk}"
    task.save(update_fields=["source_run", "task_set"])
    return task

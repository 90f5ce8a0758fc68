"""Reads for the runs and model-version pages."""
from __future__ import annotations

from django.db.models import QuerySet

from labeling.charts_line import line_chart_svg, metric_series
from labeling.models import ModelVersion, Run
from labeling.selectors.guard import guard_charts, run_guard, step_markers

# Which metrics each kind of run draws, one chart per tuple of keys.
CHARTS: dict[str, list[tuple[str, list[str]]]] = {
    Run.Kind.BOOTSTRAP: [("Supervised fine-tuning loss", ["sft/loss"])],
    Run.Kind.TRAIN_REWARD: [
        ("Reward-model training loss", ["reward/train_loss"]),
        ("Held-out accuracy and margin", ["reward/accuracy", "reward/margin"]),
    ],
    Run.Kind.DPO: [("DPO loss", ["dpo/loss"]), ("DPO margin and accuracy", ["dpo/margin", "dpo/accuracy"])],
    Run.Kind.PPO: [("PPO reward", ["ppo/reward"]), ("KL to the reference", ["ppo/kl"]),
                   ("Entropy and clip fraction", ["ppo/entropy", "ppo/clipfrac"])],
    Run.Kind.SAMPLE: [],
    Run.Kind.SFT: [("Supervised fine-tuning loss", ["sft/loss"]),
                   ("Held-out loss (before and after)", ["sft/eval_loss"])],
}


def runs_recent(*, project, limit: int = 100) -> QuerySet[Run]:
    return Run.objects.filter(project=project).select_related("created_by").order_by("-created_at", "-id")[:limit]


def run_charts(*, run: Run) -> list[str]:
    """SVG strings, one per chart that has data for this run; a PPO run's reward-hacking guard charts first,
    and where its stop rule stopped marked (``labeling.selectors.guard``)."""
    guard = run_guard(run=run)
    charts = guard_charts(run=run, guard=guard)
    markers = step_markers(guard=guard) if run.kind == Run.Kind.DPO else []
    for title, keys in CHARTS.get(run.kind, []):
        series = metric_series(run.metrics, keys)
        if series:
            charts.append(line_chart_svg(series, title=title, markers=markers))
    return charts


def run_status(*, run: Run) -> dict:
    """What the run page polls: enough to redraw the progress bar, the log and the charts."""
    return {
        "id": run.pk,
        "status": run.status,
        "progress": round(run.progress, 1),
        "finished": run.status in {Run.Status.SUCCEEDED, Run.Status.FAILED, Run.Status.CANCELLED},
        "cancel_requested": run.cancel_requested,
        "error": run.error,
        "log_tail": run.log_tail,
        "heartbeat_at": run.heartbeat_at.isoformat() if run.heartbeat_at else None,
        "charts": run_charts(run=run),
    }


def model_versions_of(*, project) -> QuerySet[ModelVersion]:
    return (ModelVersion.objects.filter(project=project).select_related("parent", "run")
            .order_by("kind", "-created_at"))


def policies_to_compare(*, project) -> QuerySet[ModelVersion]:
    """The project's policy versions and the policies its rounds started from (a new project's first
    round improves ``default``'s first policy or the project's base policy)."""
    from django.db.models import Q

    started_from = project.rounds.values("policy_in")
    return (ModelVersion.objects.filter(kind=ModelVersion.Kind.POLICY)
            .filter(Q(project=project) | Q(pk__in=started_from)).order_by("-created_at"))


def rounds_recent(*, project, limit: int = 50):
    from labeling.models import TrainingRound

    return (TrainingRound.objects.filter(project=project)
            .select_related("policy_in", "policy_out", "reward", "created_by")[:limit])


def policy_comparison(*, version_a: ModelVersion, version_b: ModelVersion, limit: int = 50) -> list[dict]:
    """Prompts both policy versions sampled for, with each version's completions side by side."""
    from labeling.models import Completion

    rows: dict[int, dict] = {}
    completions = (Completion.objects.filter(model_version__in=[version_a, version_b])
                   .select_related("task__prompt").order_by("task__prompt_id", "pk"))
    for completion in completions:
        prompt = completion.task.prompt
        row = rows.setdefault(prompt.pk, {"prompt": prompt, "a": [], "b": []})
        row["a" if completion.model_version_id == version_a.pk else "b"].append(completion.text)
    both = [row for row in rows.values() if row["a"] and row["b"]]
    return both[:limit]


def prompts_with_fewest_tasks(*, count: int, project=None) -> list[int]:
    """Ids of the project's prompts (all, without one) with the fewest ranking tasks so far (new prompts
    first), oldest first."""
    from django.db.models import Count

    from labeling.models import Prompt

    prompts = Prompt.objects.filter(**({"project": project} if project is not None else {}))
    prompts = prompts.annotate(n_tasks=Count("tasks")).order_by("n_tasks", "pk")
    return list(prompts.values_list("pk", flat=True)[:count])


def policy_lineage_root(version: ModelVersion) -> ModelVersion:
    """The SFT policy ``version`` descends from: its nearest ancestor (itself included) made by an ``sft``
    run in the app, else the first policy of its lineage (the bootstrapped or external policy a loop
    started from). DPO's reference and PPO's KL anchor, as InstructGPT anchors to its SFT model."""
    seen = {version.pk}
    while version.algorithm != "sft" and version.parent_id is not None and version.parent_id not in seen:
        version = ModelVersion.objects.get(pk=version.parent_id)
        seen.add(version.pk)
    return version

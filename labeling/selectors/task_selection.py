"""How a round's tasks were chosen (active task selection, ``labeling.jobs.sample_selection``), for its page."""
from __future__ import annotations

from collections import Counter

from labeling.models import RankingTask, Run, TrainingRound


def round_selection_summary(*, training_round: TrainingRound) -> dict | None:
    """None before the round sampled; else ``{"selection"``: its sample step's summary (``requested``,
    ``method``, ``pool``, ``picked``, ``random_picks``, ``members``), None when it sampled plainly;
    ``"tasks"``: how many of its tasks each way was picked, as [(how, count)], most first``}``."""
    sample = (Run.objects.filter(training_round=training_round, kind=Run.Kind.SAMPLE, status=Run.Status.SUCCEEDED)
              .order_by("-pk").only("outputs").first())
    if sample is None:
        return None
    ways = Counter()
    for selection in RankingTask.objects.filter(source_run=sample).values_list("selection", flat=True):
        if selection is None:
            ways["by plain sampling"] += 1
        else:
            ways["at random (unbiased share)" if selection.get("random_pick") else f"by {selection['method']}"] += 1
    return {"selection": sample.outputs.get("selection"), "tasks": ways.most_common()}

"""Active task selection, the round's side: its settings, and the candidate prompts of its sample step.

Settings, in a round's ``sample`` section (defaults in ``labeling.services.rounds.DEFAULT_CONFIG``):

- ``selection``: ``random`` (the default: plain sampling, the round's prompts become its tasks),
  ``uncertainty`` or ``variance`` (``modeling.selection``). Informed selection wants an ensemble reward model
  (``reward.ensemble`` > 1): one network's uncertainty is 0 everywhere, and the sample step then falls back
  to random picks.
- ``pool_factor`` (>= 1): candidates = ceil(pool_factor x n), n the round's prompts (the tasks wanted).
- ``random_share`` (0 to 1) and ``diversity_penalty`` (>= 0): as ``modeling.selection.SelectionConfig``.

With a selection other than ``random`` and a reward version (an ``sft`` round has none: plain sampling),
the sample step samples the round's n prompts plus the prompts with the fewest tasks not among them
(``prompts_with_fewest_tasks``) up to the pool, and keeps as many tasks as plain sampling of the n would
have made (``labeling.jobs.sample_selection``): the ranking budget is the same whatever the selection.
"""
from __future__ import annotations

import math

from labeling.errors import RejectedInput, is_finite_number
from labeling.models import TrainingRound

METHODS = ("random", "uncertainty", "variance")  # modeling.selection.METHODS, without importing torch here


def selection_settings_check(sample: dict) -> None:
    """RejectedInput naming the first impossible selection setting of a ``sample`` section."""
    method = sample.get("selection", "random")
    if method not in METHODS:
        raise RejectedInput(f"Unknown task selection {method!r}: choose {', '.join(METHODS)}.", field="selection")
    if not (is_finite_number(sample.get("pool_factor", 1)) and sample.get("pool_factor", 1) >= 1):
        raise RejectedInput("The candidate pool factor must be a number of at least 1.", field="pool_factor")
    if not (is_finite_number(sample.get("random_share", 0)) and 0 <= sample.get("random_share", 0) <= 1):
        raise RejectedInput("The random share of selected tasks must be between 0 and 1.", field="random_share")
    if not (is_finite_number(sample.get("diversity_penalty", 0)) and sample.get("diversity_penalty", 0) >= 0):
        raise RejectedInput("The diversity penalty must be a number of at least 0.", field="diversity_penalty")


def sample_step_inputs(training_round: TrainingRound) -> dict:
    """Inputs of the round's sample step beyond its policy and prompts: {} for plain sampling, else the
    candidate ``prompt_ids`` (the round's first), ``tasks_wanted`` and the ``reward_version`` that scores them."""
    from labeling.selectors.runs import prompts_with_fewest_tasks

    sample = training_round.config.get("sample", {})
    if sample.get("selection", "random") == "random" or training_round.reward_id is None:
        return {}
    wanted = list(training_round.prompt_ids)
    pool = math.ceil(sample.get("pool_factor", 1) * len(wanted))
    chosen = set(wanted)
    fewest = prompts_with_fewest_tasks(count=pool + len(wanted), project=training_round.project)
    extra = [pk for pk in fewest if pk not in chosen][: pool - len(wanted)]
    return {"prompt_ids": wanted + extra, "tasks_wanted": len(wanted), "reward_version": training_round.reward_id}

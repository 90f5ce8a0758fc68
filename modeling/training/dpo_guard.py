"""A DPO round's stop rule on the implicit reward (``DPOConfig.stop_patience`` > 0).

DPO's implicit reward of a completion is ``beta * (log pi(y|x) - log pi_ref(y|x))``; a policy that
over-fits its rankings keeps widening the implicit-reward margin of the training pairs while the margin
stops generalising. With the rule on, a seeded ``heldout_fraction`` of the ranking groups (those with
pairs; at least one, never all; with fewer than 2 such groups the rule stays off) is set aside and not trained on. Every ``eval_every`` steps (0 = once per
epoch) the main loop evaluates the policy on them (:func:`modeling.training.dpo.evaluate`) and feeds
:func:`modeling.training.reward_guard.guard_step`:

- value: held-out implicit-reward accuracy (share of held-out pairs with a positive margin), ties broken
  by the held-out margin;
- proxy: the training margin, the mean of the per-batch ``dpo/margin`` over the steps since the last
  evaluation ("rising": above its value at the best evaluation).

Stop when the value has not improved for ``stop_patience`` evaluations while the training margin rose;
then the policy at the best evaluation (a CPU copy of its trainable state, adapters only under LoRA,
taken when it was evaluated) is published instead of the last. Resume checkpoints carry the rule's
state, the running margin and the best copy. Every process evaluates the same policy on the same groups,
so all reach the same decision without communicating.
"""
from __future__ import annotations

import random

from modeling.models import lora
from modeling.models.checkpoints import trained_state_copy
from modeling.training.reward_guard import GuardRule, GuardState, guard_step, restore_best


def stop_rule_error(config) -> str | None:
    """Why the config's stop-rule settings are no settings (flag spelling), or None."""
    if config.stop_patience < 0 or config.eval_every < 0:
        return "need --stop-patience >= 0 and --eval-every >= 0 (0 = off / once per epoch)"
    if config.stop_patience and not 0 < config.heldout_fraction < 1:
        return f"need 0 < --heldout-fraction < 1 with --stop-patience, not {config.heldout_fraction}"
    return None


def split_heldout(groups: list, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train indexes, held-out indexes) of ``groups``: a seeded ``fraction`` of the groups with pairs held
    out (at least one, and at least one with pairs left to train on); groups without pairs stay in train."""
    with_pairs = [i for i, g in enumerate(groups) if g.num_pairs]
    if len(with_pairs) < 2:
        raise ValueError("the DPO stop rule needs at least 2 ranking groups with pairs (one to hold out)")
    count = min(len(with_pairs) - 1, max(1, round(fraction * len(with_pairs))))
    heldout = set(random.Random(seed).sample(with_pairs, count))
    return [i for i in range(len(groups)) if i not in heldout], sorted(heldout)


class DPOGuard:
    """The stop rule's state for one round (module docstring)."""

    def __init__(self, config, heldout: tuple[list, list, list], steps_per_epoch: int):
        self.config, self.heldout = config, heldout  # (groups, prompt lengths, reference log-probs)
        self.every = config.eval_every or steps_per_epoch
        self.rule = GuardRule(patience=config.stop_patience, value_name="held-out accuracy",
                              proxy_name="training margin", unit="evaluations")
        self.state, self.best = GuardState(), None
        self.margin_sum, self.margin_steps = 0.0, 0

    def after_step(self, step: int, margin: float, model, pad_id, device) -> dict:
        """Record the step's training margin; at an evaluation step evaluate on the held-out groups and
        update the rule: the ``dpo/heldout/*`` and ``dpo/train_margin`` metrics, else {}."""
        from modeling.training.dpo import evaluate

        self.margin_sum, self.margin_steps = self.margin_sum + margin, self.margin_steps + 1
        if step % self.every:
            return {}
        groups, prompt_lengths, reference = self.heldout
        with lora.autocast(device, self.config.bf16):
            held = evaluate(model, groups, prompt_lengths, reference, self.config, pad_id, device)
        metrics = {key.replace("dpo/eval/", "dpo/heldout/"): value for key, value in held.items()}
        metrics["dpo/train_margin"] = self.margin_sum / self.margin_steps
        self.margin_sum, self.margin_steps = 0.0, 0
        self.state = guard_step(self.state, self.rule, step, metrics["dpo/heldout/accuracy"],
                                metrics["dpo/train_margin"], tie=metrics["dpo/heldout/margin"])
        if self.state.best_iteration == step:
            self.best = trained_state_copy(model)
        return metrics

    @property
    def stopped(self) -> bool:
        return self.state.stopped

    def restore_best(self, model) -> bool:
        return restore_best(self.state, self.best, model)

    def checkpoint_extra(self) -> dict:
        return {"guard": self.state.to_dict(), "guard_best": self.best, "guard_margin": [self.margin_sum,
                                                                                        self.margin_steps]}

    def restore(self, extra: dict) -> None:
        self.state = GuardState.from_dict(extra.get("guard"))
        self.best = extra.get("guard_best")
        self.margin_sum, self.margin_steps = extra.get("guard_margin", [0.0, 0])

    def metrics(self, published_best: bool) -> dict:
        return {**self.state.metrics(), "guard/published": "best" if published_best else "last",
                "dpo/heldout_groups": len(self.heldout[0])}


def no_guard_metrics(asked: bool = False) -> dict:
    """The ``guard/*`` metrics of a round without the rule (``asked``: on, but too few groups to hold one out)."""
    note = {"guard/note": "stop rule off: fewer than 2 ranking groups with pairs"} if asked else {}
    return {**GuardState().metrics(), "guard/published": "last", **note}


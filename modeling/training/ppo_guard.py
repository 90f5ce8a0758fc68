"""A PPO round's guard against reward hacking: conservative scores, the stop rule, the best policy.

The reward is a reward-model ensemble (or one model, a one-member ensemble). Each rollout batch's
member scores ``(B, M)`` are standardised per member by the members' mean and standard deviation on
the *first* rollout batch (the starting policy's samples, over every process), kept for the whole round
and saved in resume checkpoints, then aggregated (:mod:`modeling.models.conservative_reward`): PPO
optimises the conservative aggregate, and the proxy (members' mean) and spread are logged beside it.

The stop rule (:mod:`modeling.training.reward_guard`) sees each iteration's global means. Iteration i's
rollout is sampled by the policy after i - 1 updates, so "the policy of the best iteration" is the one
that sampled the best rollout: with the rule on, the main process keeps a CPU copy of the trainable state
(policy and value model; the adapters only under LoRA) before each iteration and holds on to it when
that iteration's rollout becomes the best. On a stop that copy is loaded back and published instead of
the last policy. Resume checkpoints carry the rule's state, the reward scale and the best copy.
"""
from __future__ import annotations

import torch

from modeling.models.checkpoints import trained_state_copy
from modeling.models.conservative_reward import GuardScores, guard_scores, member_scale
from modeling.training.distributed import Distributed
from modeling.training.reward_guard import GuardRule, GuardState, guard_step, restore_best


def global_member_scale(dist: Distributed, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per member mean and population std of ``scores`` (local B, M) over every process's rows."""
    if dist.world_size == 1:
        return member_scale(scores)
    sums = torch.cat([scores.sum(dim=0), (scores ** 2).sum(dim=0), scores.new_tensor([scores.shape[0]])])
    totals = dist.all_reduce_sum(sums.double().to(dist.device)).cpu()
    m = scores.shape[1]
    mean = totals[:m] / totals[-1]
    std = (totals[m : 2 * m] / totals[-1] - mean ** 2).clamp_min(0).sqrt()
    return mean.float(), std.float().clamp_min(1e-6)


class PPOGuard:
    """The guard's state for one round (module docstring)."""

    def __init__(self, config, dist: Distributed):
        self.aggregate, self.uwo_lambda, self.dist = config.reward_aggregate, config.uwo_lambda, dist
        self.rule = GuardRule(patience=config.stop_patience, spread_ratio=config.stop_spread_ratio)
        self.state = GuardState()
        self.scale: tuple[torch.Tensor, torch.Tensor] | None = None  # (mu (M,), sigma (M,)); None for one member
        self.best: dict | None = None  # CPU copy of the trainable state that sampled the best rollout
        self._candidate: dict | None = None
        self.members = 0  # reward-model members seen (1: a single reward model)

    def score(self, members: torch.Tensor) -> GuardScores:
        """(B,) or (B, M) raw member scores -> proxy, conservative and spread, (B,) each."""
        members = members.unsqueeze(1) if members.dim() == 1 else members
        self.members = members.shape[1]
        if self.scale is None and members.shape[1] > 1:
            self.scale = global_member_scale(self.dist, members.float())
        return guard_scores(members, self.aggregate, self.uwo_lambda, self.scale)

    def before_iteration(self, trained: torch.nn.Module) -> None:
        if self.rule.active and self.dist.is_main:
            self._candidate = trained_state_copy(trained)

    def after_iteration(self, iteration: int, metrics: dict) -> bool:
        """Update the rule with the iteration's metrics; True when the round must stop."""
        self.state = guard_step(self.state, self.rule, iteration, metrics["ppo/conservative_reward"],
                                metrics["ppo/proxy_reward"], metrics["ppo/spread"])
        if self.state.best_iteration == iteration and self._candidate is not None:
            self.best = self._candidate
        self._candidate = None
        return self.rule.active and self.state.stopped

    def restore_best(self, trained: torch.nn.Module) -> bool:
        """After a stop, load the best iteration's policy into ``trained``; False when there is none."""
        return restore_best(self.state, self.best, trained)

    def checkpoint_extra(self) -> dict:
        scale = None if self.scale is None else [t.tolist() for t in self.scale]
        return {"guard": self.state.to_dict(), "reward_scale": scale, "guard_best": self.best}

    def restore(self, extra: dict) -> None:
        self.state = GuardState.from_dict(extra.get("guard"))
        scale = extra.get("reward_scale")
        self.scale = None if scale is None else (torch.tensor(scale[0]), torch.tensor(scale[1]))
        self.best = extra.get("guard_best")

    def metrics(self, published_best: bool) -> dict:
        return {**self.state.metrics(), "guard/published": "best" if published_best else "last",
                "guard/reward_aggregate": self.aggregate,
                "guard/reward_members": self.members}

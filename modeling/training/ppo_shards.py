"""PPO under several processes: each process's prompt groups, its share of every global minibatch, and
the global statistics (means, whitening, gradients) that make the processes one rollout batch.

Rule (the one of :mod:`modeling.training.distributed`, for rollouts): an iteration's drawn prompts are
the batch's groups, and group ``j`` (its ``group_size`` responses, so the leave-one-out baseline sees the
whole group) is rolled out by process ``j % world_size``, as its ``j // world_size``-th local group.
Response ``g`` of the global batch is response ``g % group_size`` of group ``g // group_size``. Every
process draws the same permutation of the ``B`` global responses; each global minibatch is that
permutation's next ``minibatch_size`` responses, and each process trains on the ones it holds, with its
loss scaled by ``local tokens / minibatch tokens``. The losses are token means, so the *sum* of the
processes' gradients is the gradient of the global minibatch's loss: the same minibatches and the same
number of optimizer steps as one process.

With one process every function here is the one-process computation itself (no reduction, weight 1).
"""
from __future__ import annotations

import torch

from modeling.training.distributed import Distributed
from modeling.training.policy_losses import masked_mean


class RolloutShard:
    """This process's part of a rollout batch of ``num_groups`` prompt groups of ``group_size`` responses."""

    def __init__(self, dist: Distributed, num_groups: int, group_size: int):
        self.dist, self.num_groups, self.group_size = dist, num_groups, group_size
        self.size = num_groups * group_size  # B, the global batch
        group = torch.arange(self.size) // group_size  # (B,) the group of each global response
        self.owner = group % dist.world_size  # (B,) which process holds it
        self.local_row = (group // dist.world_size) * group_size + torch.arange(self.size) % group_size  # (B,)
        self.lengths = torch.ones(self.size)  # (B,) response tokens of every global response, see set_lengths

    def groups(self, items: list) -> list:
        """This process's groups of the batch's ``items`` (one per group), in local order."""
        return list(items[self.dist.rank :: self.dist.world_size])

    def set_lengths(self, response_mask: torch.Tensor) -> None:
        """Learn every global response's token count from each process's ``(local B, T)`` mask."""
        local = response_mask.sum(dim=1).float().cpu()  # (local B,)
        if self.dist.world_size == 1:
            self.lengths = local
            return
        lengths = torch.zeros(self.size)
        mine = self.owner == self.dist.rank
        lengths[mine] = local[self.local_row[mine]]
        self.lengths = self.dist.all_reduce_sum(lengths.to(self.dist.device)).cpu()

    @property
    def tokens(self) -> int:
        """Response tokens of the global batch."""
        return int(self.lengths.sum())

    def share(self, minibatch: torch.Tensor) -> tuple[torch.Tensor, float]:
        """``(local rows, loss weight)`` of the global responses ``minibatch``; weight ``local tokens /
        minibatch tokens`` (1 with one process, 0 with no rows here)."""
        if self.dist.world_size == 1:
            return minibatch, 1.0
        indexes = minibatch.cpu()
        mine = indexes[self.owner[indexes] == self.dist.rank]
        weight = float(self.lengths[mine].sum() / self.lengths[indexes].sum())
        return self.local_row[mine].to(minibatch.device), weight


def minibatch_order(dist: Distributed, size: int, generator: torch.Generator | None, device) -> torch.Tensor:
    """A permutation of the ``size`` global responses: from torch's global generator with one process (as
    always), else from ``generator``, seeded alike on every process so all draw the same minibatches."""
    if dist.world_size == 1:
        return torch.randperm(size, device=device)
    return torch.randperm(size, generator=generator).to(device)


def global_means(dist: Distributed, values: dict[str, torch.Tensor]) -> dict[str, float]:
    """The mean of each ``(local B,)`` tensor over every process's rows."""
    if dist.world_size == 1:
        return {key: float(value.mean()) for key, value in values.items()}
    device = next(iter(values.values())).device
    rows = next(iter(values.values())).numel()
    sums = torch.stack([value.float().sum() for value in values.values()] + [torch.tensor(float(rows), device=device)])
    totals = dist.all_reduce_sum(sums).tolist()
    return {key: total / totals[-1] for key, total in zip(values, totals)}


def global_masked_means(dist: Distributed, values: dict[str, torch.Tensor], mask: torch.Tensor) -> dict[str, float]:
    """:func:`masked_mean` of each ``(local B, T)`` tensor over every process's tokens."""
    if dist.world_size == 1:
        return {key: float(masked_mean(value, mask)) for key, value in values.items()}
    weights = mask.float()
    sums = torch.stack([(value.float() * weights).sum() for value in values.values()] + [weights.sum()])
    totals = dist.all_reduce_sum(sums).tolist()
    return {key: total / max(totals[-1], 1.0) for key, total in zip(values, totals)}


def global_whiten(dist: Distributed, values: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """:func:`modeling.training.gae.whiten` with the mean and variance of every process's tokens:

        mean = sum(x m) / sum(m),   var = sum((x - mean)^2 m) / sum(m)     (sums over all processes)
        out  = (x - mean) / sqrt(var + eps) * m
    """
    from modeling.training.gae import whiten

    if dist.world_size == 1:
        return whiten(values, mask, eps=eps)
    weights = mask.to(values.dtype)
    total, count = dist.all_reduce_sum(torch.stack([(values * weights).sum(), weights.sum()])).unbind()
    count = count.clamp(min=1)
    mean = total / count
    var = dist.all_reduce_sum(((values - mean) ** 2 * weights).sum()) / count
    return (values - mean) * torch.rsqrt(var + eps) * weights


def global_stat_means(dist: Distributed, sums: dict[str, float], count: int) -> dict[str, float]:
    """Per-minibatch statistics as global means: ``sums`` holds this process's ``weight * value`` summed over
    the iteration's ``count`` minibatches; the processes' sums add up to the global minibatches' values."""
    if dist.world_size == 1 or not sums:
        return {key: total / count for key, total in sums.items()}
    totals = dist.all_reduce_sum(torch.tensor(list(sums.values()), dtype=torch.float64, device=dist.device))
    return {key: total / count for key, total in zip(sums, totals.tolist())}


def sum_gradients(dist: Distributed, parameters: list[torch.nn.Parameter]) -> None:
    """Replace each parameter's gradient by its sum over the processes, in one all-reduce (fp32). A
    parameter that got no gradient on any process keeps none, so the optimizer skips it as with one process."""
    if dist.world_size == 1:
        return
    pieces = [p.grad.reshape(-1).float() if p.grad is not None else torch.zeros(p.numel(), device=dist.device)
              for p in parameters]
    got = torch.tensor([float(p.grad is not None) for p in parameters], device=dist.device)
    flat = dist.all_reduce_sum(torch.cat([piece.to(dist.device) for piece in pieces] + [got]))
    offset, summed_got = 0, flat[len(flat) - len(parameters):].tolist()
    for parameter, any_grad in zip(parameters, summed_got):
        piece = flat[offset : offset + parameter.numel()]
        offset += parameter.numel()
        parameter.grad = piece.view_as(parameter).to(parameter.dtype).clone() if any_grad else None

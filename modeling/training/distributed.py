"""More than one process through ``accelerate``: the same global batch, sharded by whole groups.

Every training command runs unchanged under ``accelerate launch`` (DDP; FSDP or DeepSpeed ZeRO through
an accelerate config file) or ``torchrun``. Started as a single process (no ``WORLD_SIZE`` above 1 in
the environment), nothing here touches accelerate and training is exactly the one-process path.

Sharding rule: a step's batch (a list of whole comparison groups or demonstrations, packed as for
one process) is split round-robin, ``items[rank::world_size]``, so the *global* batch, the number of
steps and the learning-rate schedule do not depend on the process count, and a run resumed with
another process count continues the same sequence of batches. The losses here are means over
groups, so each process scales its loss by ``world_size * local_groups / global_groups``: after
DDP averages the gradients, they are the gradients of the global batch's loss. A process whose
shard is empty (a step with fewer groups than processes) still runs a forward and backward pass on
the first item, with weight 0, because every DDP process must take part in every reduction.
``ppo`` applies the same rule to its rollouts by whole prompt groups and sums its gradients itself
(:mod:`modeling.training.ppo_shards`).

Only the main process writes checkpoints, logs, progress and the final metrics line; the others
wait for it (:meth:`Distributed.wait`). On a CPU-only machine accelerate 1.15 starts several
processes with ``accelerate launch --multi_gpu --num_processes N`` (its ``--cpu`` flag alone
starts one process unless MPI is set up); they talk over gloo.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import torch


class Distributed:
    """This process's place among ``world_size`` training processes (one, without a launcher)."""

    def __init__(self, device: str = ""):
        self.accelerator = None
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            from accelerate import Accelerator

            self.accelerator = Accelerator(cpu=device == "cpu" or not torch.cuda.is_available())
            self.device = self.accelerator.device
        else:
            self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))

    @property
    def world_size(self) -> int:
        return self.accelerator.num_processes if self.accelerator else 1

    @property
    def rank(self) -> int:
        return self.accelerator.process_index if self.accelerator else 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def prepare(self, model, optimizer):
        """Wrap model and optimizer for DDP/FSDP/DeepSpeed; the schedulers stay per process (one step each)."""
        if self.accelerator is None:
            return model, optimizer
        return self.accelerator.prepare(model, optimizer)

    def unwrap(self, model):
        return self.accelerator.unwrap_model(model) if self.accelerator else model

    def shard(self, items: Sequence) -> tuple[list, float]:
        """``(this process's items, loss weight)`` for one step's batch (rule in the module docstring)."""
        items = list(items)
        if self.accelerator is None:
            return items, 1.0
        mine = items[self.rank :: self.world_size]
        if not mine:
            return items[:1], 0.0
        return mine, self.world_size * len(mine) / len(items)

    def backward(self, loss: torch.Tensor) -> None:
        if self.accelerator is None:
            loss.backward()
        else:
            self.accelerator.backward(loss)

    def clip_grad_norm_(self, parameters, max_norm: float):
        if self.accelerator is None:
            return torch.nn.utils.clip_grad_norm_(parameters, max_norm)
        return self.accelerator.clip_grad_norm_(parameters, max_norm)

    def sum(self, value: float) -> float:
        """``value`` summed over the processes (a weighted loss sums to the global batch's loss)."""
        return self.global_metrics({"value": value}, self.world_size)["value"]

    def global_metrics(self, metrics: dict, weight: float) -> dict:
        """Each of this process's batch metrics (means over its groups) as the global batch's mean:
        ``sum over processes of weight / world_size * value``, reduced in one call."""
        if self.accelerator is None:
            return dict(metrics)
        local = torch.tensor([float(v) * weight / self.world_size for v in metrics.values()], device=self.device)
        summed = self.accelerator.reduce(local, reduction="sum").tolist()
        return dict(zip(metrics, summed))

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over the processes, in place on this process's device (itself with one)."""
        if self.accelerator is None:
            return tensor
        tensor = tensor.to(self.device)
        torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
        return tensor

    def broadcast_(self, tensors) -> None:
        """Overwrite each tensor with the main process's copy (as DDP does with the parameters at the start)."""
        if self.accelerator is not None:
            for tensor in tensors:
                torch.distributed.broadcast(tensor, src=0)

    def wait(self) -> None:
        if self.accelerator is not None:
            self.accelerator.wait_for_everyone()


def is_main_process() -> bool:
    """Whether this process prints and writes: rank 0 of a launch, or a process started on its own."""
    return int(os.environ.get("RANK", "0")) == 0


"""PPO's sharding by whole prompt groups: every process's share of a minibatch, and global whitening, means and
gradients that equal one process's over the whole batch (two real gloo processes)."""
import os
import socket

import pytest
import torch

from modeling.training.distributed import Distributed
from modeling.training.gae import whiten
from modeling.training.policy_losses import masked_mean
from modeling.training.ppo_shards import (RolloutShard, global_masked_means, global_means, global_stat_means,
                                          global_whiten, sum_gradients)

GROUPS, GROUP_SIZE, TOKENS = 5, 2, 4


class Process:
    """What RolloutShard asks of Distributed, for process ``rank`` of ``world_size``."""

    def __init__(self, rank, world_size):
        self.rank, self.world_size, self.device = rank, world_size, torch.device("cpu")


def whole_batch():
    """Advantages, masks and features of a rollout batch of GROUPS x GROUP_SIZE responses (global order)."""
    generator = torch.Generator().manual_seed(0)
    advantages = torch.randn(GROUPS * GROUP_SIZE, TOKENS, generator=generator)
    lengths = torch.tensor([1, 4, 2, 3, 4, 1, 2, 2, 3, 4])
    mask = (torch.arange(TOKENS).unsqueeze(0) < lengths.unsqueeze(1)).long()  # (B, T)
    features = torch.randn(GROUPS * GROUP_SIZE, TOKENS, 3, generator=generator)
    return advantages, mask, features


def local_rows(rank, world_size):
    """Global response index of each of ``rank``'s local rows: its groups rank, rank + W, ... in a row."""
    return [g * GROUP_SIZE + s for g in range(rank, GROUPS, world_size) for s in range(GROUP_SIZE)]


def test_groups_stay_whole_and_every_minibatch_is_shared_out_by_tokens():
    _, mask, _ = whole_batch()
    minibatch = torch.tensor([7, 0, 3, 9, 4])
    shares = []
    for rank in (0, 1):
        shard = RolloutShard(Process(rank, 2), GROUPS, GROUP_SIZE)
        assert shard.groups(list("abcde")) == (["a", "c", "e"] if rank == 0 else ["b", "d"])
        shard.lengths = mask.sum(dim=1).float()
        rows, weight = shard.share(minibatch)
        shares.append(([local_rows(rank, 2)[r] for r in rows.tolist()], weight))
    assert sorted(shares[0][0] + shares[1][0]) == sorted(minibatch.tolist())  # each response once, on its owner
    assert sorted(shares[0][0]) == [0, 4, 9] and sorted(shares[1][0]) == [3, 7]
    tokens = mask.sum(dim=1)
    assert shares[0][1] == pytest.approx(float(tokens[[0, 4, 9]].sum() / tokens[minibatch].sum()))
    assert shares[0][1] + shares[1][1] == pytest.approx(1.0)


def test_one_process_is_the_plain_computation():
    dist = Distributed("cpu")
    advantages, mask, _ = whole_batch()
    assert torch.equal(global_whiten(dist, advantages, mask), whiten(advantages, mask))
    assert global_means(dist, {"x": advantages[:, 0]}) == {"x": float(advantages[:, 0].mean())}
    assert global_masked_means(dist, {"x": advantages}, mask) == {"x": float(masked_mean(advantages, mask))}
    shard = RolloutShard(dist, GROUPS, GROUP_SIZE)
    minibatch = torch.tensor([3, 1])
    assert shard.share(minibatch) == (minibatch, 1.0) and shard.groups([1, 2]) == [1, 2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_one_batch(rank: int, port: int) -> None:
    """Process ``rank`` of 2 holds its groups only; what it computes must be the whole batch's."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", LOCAL_WORLD_SIZE="2",
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
    dist = Distributed("cpu")
    assert dist.world_size == 2
    advantages, mask, features = whole_batch()
    mine = local_rows(rank, 2)
    torch.testing.assert_close(global_whiten(dist, advantages[mine], mask[mine]), whiten(advantages, mask)[mine])
    means = global_means(dist, {"first": advantages[mine, 0]})
    assert means["first"] == pytest.approx(float(advantages[:, 0].mean()), abs=1e-6)
    masked = global_masked_means(dist, {"x": advantages[mine]}, mask[mine])
    assert masked["x"] == pytest.approx(float(masked_mean(advantages, mask)), abs=1e-6)

    shard = RolloutShard(dist, GROUPS, GROUP_SIZE)
    shard.set_lengths(mask[mine])
    assert shard.tokens == int(mask.sum())
    torch.manual_seed(0)
    model, whole = torch.nn.Linear(3, 1), torch.nn.Linear(3, 1)
    whole.load_state_dict(model.state_dict())
    loss_of = lambda net, rows: masked_mean(net(features[rows]).squeeze(-1) ** 2, mask[rows])  # noqa: E731
    for minibatch in (torch.tensor([7, 0, 3, 9, 4]), torch.tensor([1, 5])):  # the second: nothing on process 0
        rows, weight = shard.share(minibatch)
        model.zero_grad(set_to_none=True)
        if len(rows):
            (loss_of(model, [mine[r] for r in rows.tolist()]) * weight).backward()
        sum_gradients(dist, list(model.parameters()))
        whole.zero_grad(set_to_none=True)
        loss_of(whole, minibatch.tolist()).backward()
        for ours, theirs in zip(model.parameters(), whole.parameters()):
            torch.testing.assert_close(ours.grad, theirs.grad)
    stats = global_stat_means(dist, {"loss": 0.25 * (rank + 1)}, 2)
    assert stats["loss"] == pytest.approx(0.375)
    # Passed: leave the group and end at once, as `python -m modeling` does (modeling/cli.py): a gloo
    # thread still joinable at interpreter teardown aborts the process (SIGABRT) now and then.
    torch.distributed.destroy_process_group()
    os._exit(0)


@pytest.mark.slow
def test_two_processes_whiten_average_and_sum_gradients_as_one_batch():
    torch.multiprocessing.spawn(_as_one_batch, args=(_free_port(),), nprocs=2, join=True)

"""The guard's member scale over two real gloo processes equals one process's over the whole rollout batch."""
import os
import socket

import pytest
import torch

from modeling.models.conservative_reward import member_scale
from modeling.training.distributed import Distributed
from modeling.training.ppo_guard import global_member_scale


def whole_scores():
    return torch.randn(10, 3, generator=torch.Generator().manual_seed(0)) * torch.tensor([1.0, 10.0, 0.1])


def test_one_process_is_the_plain_scale():
    dist = Distributed("cpu")
    for ours, theirs in zip(global_member_scale(dist, whole_scores()), member_scale(whole_scores())):
        torch.testing.assert_close(ours, theirs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scale_as_one_batch(rank: int, port: int) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", LOCAL_WORLD_SIZE="2",
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
    dist = Distributed("cpu")
    scores = whole_scores()
    mine = scores[:6] if rank == 0 else scores[6:]  # unequal shares
    mu, sigma = global_member_scale(dist, mine)
    expected_mu, expected_sigma = member_scale(scores)
    torch.testing.assert_close(mu, expected_mu, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(sigma, expected_sigma, atol=1e-5, rtol=1e-5)
    torch.distributed.destroy_process_group()
    os._exit(0)  # as test_ppo_shards: a joinable gloo thread at teardown may abort the process


@pytest.mark.slow
def test_two_processes_share_one_member_scale():
    torch.multiprocessing.spawn(_scale_as_one_batch, args=(_free_port(),), nprocs=2, join=True)

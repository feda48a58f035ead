"""Runs launched by torchrun or `accelerate launch`: each rank takes a disjoint share of the pairs.

The run store is the only state: ranks never talk except for a final barrier and a count of
what each one wrote, so a rank that dies leaves nothing another rank would take as done.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Launch:
    rank: int
    world_size: int
    local_rank: int

    @property
    def shard(self) -> tuple[int, int]:
        return self.rank, self.world_size


def launch_info() -> Launch | None:
    """This process's place in a multi-process launch, or None for a plain single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    rank = int(os.environ.get("RANK", "0"))
    return Launch(rank=rank, world_size=world, local_rank=int(os.environ.get("LOCAL_RANK", rank)))


def default_device(launch: Launch | None) -> str | None:
    """The GPU a rank should use (its local rank), or None when there is no GPU or no launcher."""
    import torch

    if launch is None or not torch.cuda.is_available():
        return None
    return f"cuda:{launch.local_rank % torch.cuda.device_count()}"


@contextmanager
def process_group(launch: Launch | None) -> Iterator[None]:
    """A gloo process group for the launch (when the launcher set MASTER_ADDR), torn down after."""
    import torch.distributed as dist

    if launch is None or "MASTER_ADDR" not in os.environ or dist.is_initialized():
        yield
        return
    dist.init_process_group(backend="gloo", rank=launch.rank, world_size=launch.world_size)
    try:
        yield
    finally:
        dist.destroy_process_group()


def total_over_ranks(*counts: int) -> list[int]:
    """Sum each count over all ranks (identity without a process group); also a barrier."""
    import torch
    import torch.distributed as dist

    values = torch.tensor(counts, dtype=torch.long)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(values)
    return values.tolist()

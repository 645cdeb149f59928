"""Several processes training one network: this process's place in a ``torchrun`` job.

``torchrun --nproc_per_node=N -m alexnet_lib.train ...`` starts N copies of the trainer and
describes the job in environment variables (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``).
:func:`start` joins them into one process group; every process then takes its share of
each batch, PyTorch's ``DistributedDataParallel`` averages the gradients, and
:func:`sum_over_processes` adds up what each one measured. Started plainly, a run is rank 0
of a world of 1 and nothing here does anything.

:func:`main_first` lets the first process prepare what all of them need (a download, an
unpacked archive, the pre-decoded images) while the others wait, so that N processes do
not download and write the same files at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["Distributed", "barrier", "end", "main_first", "start", "sum_over_processes"]


@dataclass(frozen=True)
class Distributed:
    """This process's place in a ``torchrun`` job (rank 0 of 1 when run plainly)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this is the first process, the one that prints and writes files."""
        return self.rank == 0


def start(device_name: str) -> Distributed:
    """Join the process group that ``torchrun`` describes in the environment, if any (NCCL for
    CUDA GPUs, gloo for CPUs)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    place = Distributed(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    use_cuda = device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())
    if use_cuda:
        torch.cuda.set_device(place.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return place


def end(place: Distributed) -> None:
    """Leave the process group (nothing to do for a plain run)."""
    if place.world > 1 and dist.is_initialized():
        dist.destroy_process_group()


def barrier(place: Distributed) -> None:
    """Wait until every process has come this far."""
    if place.world > 1:
        dist.barrier()


@contextmanager
def main_first(place: Distributed) -> Iterator[None]:
    """Run the block in the first process, then in the others: the first one prepares files
    (downloads, unpacks, decodes) and the others find them ready."""
    if not place.main:
        barrier(place)
    yield
    if place.main:
        barrier(place)


def sum_over_processes(values: list[float], place: Distributed) -> list[float]:
    """Each number added up over all processes (the same list comes back in every one)."""
    if place.world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()

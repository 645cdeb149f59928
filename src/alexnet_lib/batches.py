"""Batches for training and evaluation: the order of the images, and the loaders that fetch them.

:class:`EpochBatches` decides which images make up each batch of an epoch, from the seed
and the epoch number alone, so that a resumed run sees exactly the images an uninterrupted
one would have seen. :func:`batch_loader` fetches them (with worker processes, pinned
memory for a GPU, and a pre-decoded dataset handing over a whole batch as one slice);
:func:`evaluation_loader` goes through a validation or test set in order, each process
taking its share.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler, SequentialSampler, Subset

from .data import predecoded
from .distributed import Distributed

__all__ = ["EpochBatches", "batch_loader", "evaluation_loader"]


class EpochBatches(Sampler[list[int]]):
    """Batches in a fresh random order each epoch, derived from (seed, epoch) alone.

    Because the order depends on nothing else, a resumed run sees the same images in the
    same order as an uninterrupted one; ``set_epoch(epoch, skip)`` starts after ``skip``
    batches. With ``world`` processes, each global batch of ``batch_size`` images is cut
    into ``world`` nearly equal parts and process ``rank`` gets its part; a last batch
    with fewer images than processes is dropped (by every process alike).
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1) -> None:
        self.n, self.batch_size, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip

    def global_batches(self) -> int:
        """Batches per epoch (the same number in every process)."""
        full, rest = divmod(self.n, self.batch_size)
        return full + (rest >= self.world if rest else 0)

    def global_size(self, index: int) -> int:
        """The number of images in global batch ``index``, summed over the processes."""
        return min(self.batch_size, self.n - index * self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.n, generator=generator)
        for index in range(self.skip, self.global_batches()):
            batch = order[index * self.batch_size:(index + 1) * self.batch_size]
            yield torch.tensor_split(batch, self.world)[self.rank].tolist()

    def __len__(self) -> int:
        return self.global_batches() - self.skip


def batch_loader(dataset: Dataset, batches: Sampler[list[int]], *, workers: int = 0, device: torch.device,
                 seed: int = 0, rank: int = 0) -> DataLoader:
    """A ``DataLoader`` giving the batches that ``batches`` lists, with ``workers`` worker processes
    (kept alive between epochs) and pinned memory for a CUDA device. A pre-decoded dataset hands
    over each batch as one slice of its array: no per-image work, no collating."""
    # Loaders draw their workers' seeds from this generator: their own (one per process), which
    # keeps them off PyTorch's global one, which dropout uses and checkpoints restore.
    args = dict(num_workers=workers, pin_memory=device.type == "cuda", persistent_workers=workers > 0,
                generator=torch.Generator().manual_seed(seed + 1_000_003 * rank))
    if predecoded(dataset) is not None:
        return DataLoader(dataset, sampler=batches, batch_size=None, **args)
    return DataLoader(dataset, batch_sampler=batches, **args)


def evaluation_loader(dataset: Dataset, batch_size: int, place: Distributed, *, workers: int = 0,
                      device: torch.device, seed: int = 0) -> DataLoader:
    """This process's share of ``dataset`` (every ``world``-th image), in order, in batches."""
    share = Subset(dataset, range(place.rank, len(dataset), place.world))
    batches = BatchSampler(SequentialSampler(share), max(batch_size // place.world, 1), drop_last=False)
    return batch_loader(share, batches, workers=workers, device=device, seed=seed, rank=place.rank)

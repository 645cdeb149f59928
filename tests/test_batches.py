"""alexnet_lib.batches: each process its share of every global batch, its own loader seeds."""

from __future__ import annotations

import torch

from alexnet_lib.batches import EpochBatches, batch_loader


def test_sampler_splits_global_batches_between_processes():
    single = EpochBatches(10, 4, seed=1)
    parts = [EpochBatches(10, 4, seed=1, rank=r, world=2) for r in (0, 1)]
    whole = list(single)
    assert [len(b) for b in whole] == [4, 4, 2] and single.global_batches() == 3
    for k, (a, b) in enumerate(zip(*parts)):
        assert a + b == whole[k] and len(a) == len(b)
    single.set_epoch(1, skip=1)
    assert len(list(single)) == 2 and single.global_size(2) == 2
    # A last batch of one image cannot be split between two processes: both drop it.
    assert EpochBatches(9, 4, seed=1, world=2).global_batches() == 2
    assert EpochBatches(9, 4, seed=1).global_batches() == 3


def test_each_process_seeds_its_own_loader_workers():
    dataset = torch.utils.data.TensorDataset(torch.zeros(8, 1), torch.zeros(8, dtype=torch.long))
    batches = EpochBatches(8, 4, seed=0)
    seeds = {rank: batch_loader(dataset, batches, device=torch.device("cpu"), seed=7, rank=rank).generator.initial_seed()
             for rank in (0, 1)}
    assert seeds[0] == 7 and seeds[1] != seeds[0]

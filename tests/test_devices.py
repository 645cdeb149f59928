"""alexnet_lib.devices: the device, mixed precision and loader workers that a run uses."""

from __future__ import annotations

import pytest
import torch

from alexnet_lib import devices, train
from alexnet_lib.config import TrainError


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_asked_but_absent():
    with pytest.raises(TrainError, match="no CUDA GPU here.*--device cpu"):
        train.pick_device("cuda")


def test_mixed_precision_and_workers_follow_the_machine():
    assert devices.mixed_precision("cpu") == "off"
    assert 0 <= devices.default_workers() <= 8
    with pytest.raises(TrainError, match="not a device"):
        devices.pick_device("tpu:0")

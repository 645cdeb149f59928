"""Where a run computes: choosing the device, mixed precision on it, and how many loader workers.

- :func:`pick_device`: ``"auto"`` takes a CUDA GPU, else Apple's MPS, else the CPU; asking
  for a device that is not there is a clear error.
- :func:`mixed_precision`: which 16-bit format suits a device. bfloat16 where the hardware
  computes in it (NVIDIA GPUs of compute capability 8.0 and newer: A100, RTX 30xx, H100...),
  float16 with loss scaling on older GPUs such as Colab's T4 (7.5), which reports bfloat16
  as supported but only emulates it, and cuDNN has no bfloat16 convolutions there; none
  on a CPU, where 16-bit matrix products are slow without special instructions.
- :func:`autocast`: the context in which the forward pass runs in that precision.
- :func:`default_workers`: loader worker processes, from the CPUs this process may use.
"""

from __future__ import annotations

import os

import torch

from .config import TrainError
from .distributed import Distributed

__all__ = ["autocast", "default_workers", "mixed_precision", "pick_device"]


def pick_device(name: str, place: Distributed = Distributed()) -> torch.device:
    """The device called ``name`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``); under ``torchrun``
    each process takes the GPU of its local rank."""
    if place.world > 1 and (name == "cuda" or (name == "auto" and torch.cuda.is_available())):
        return torch.device("cuda", place.local_rank)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainError("--device cuda was asked for, but PyTorch sees no CUDA GPU here "
                         "(torch.cuda.is_available() is False). Use --device cpu, or install a CUDA build of PyTorch.")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise TrainError("--device mps was asked for, but this PyTorch has no Apple MPS device. Use --device cpu.")
    try:
        return torch.device(name)
    except RuntimeError as err:
        raise TrainError(f"--device {name!r} is not a device: use auto, cpu, cuda, cuda:N or mps") from err


def mixed_precision(device: str | torch.device) -> str:
    """``"bf16"``, ``"fp16"`` or ``"off"``: the 16-bit format that speeds up training on ``device``.

    bfloat16 only on CUDA GPUs of compute capability 8.0 or more; float16 (with loss scaling)
    on older CUDA GPUs; off elsewhere. ``torch.cuda.is_bf16_supported()`` is not the test:
    it says yes on a T4, which emulates bfloat16 slowly.
    """
    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return "off"
    major, _ = torch.cuda.get_device_capability(device)
    return "bf16" if major >= 8 else "fp16"


def autocast(device: torch.device, amp: str):
    """The forward pass's precision: ``"off"`` (float32), ``"bf16"`` or ``"fp16"``."""
    if amp == "off":
        return torch.autocast(device.type, enabled=False)
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


def default_workers(limit: int = 8) -> int:
    """Loader worker processes for this machine: one fewer than the CPUs this process may use
    (the main process trains), at least 0 and at most ``limit``; 1 on Colab's 2 vCPUs."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(0, min(limit, cpus - 1))

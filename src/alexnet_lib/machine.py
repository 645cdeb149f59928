"""The machine a measurement ran on, in the same words for every recorded result.

Every number the book shows says its conditions; :func:`describe` is the machine part of
them: the processor, its cores and the threads PyTorch used, the versions of Python, numpy
and PyTorch, the GPU if one was used, and the date.
"""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import numpy as np
import torch

__all__ = ["cpu_name", "describe"]


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo on Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(threads: int | None = None, device: str | torch.device | None = None) -> dict[str, Any]:
    """The machine as a dict: processor, CPU count, PyTorch threads, versions, the GPU on ``device``
    (when it is a CUDA device) and today's date."""
    info: dict[str, Any] = {
        "processor": cpu_name(),
        "cpu_count": os.cpu_count(),
        "threads": threads if threads is not None else torch.get_num_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }
    if device is not None and torch.device(device).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info

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

__all__ = ["benchmark_threads", "cpu_name", "describe"]


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


def benchmark_threads() -> int:
    """The threads a benchmark uses unless it is told: ``OMP_NUM_THREADS`` where it is set to a
    positive number (the limit given to every OpenMP program, PyTorch's and numpy's included),
    else every CPU. The tests set it to 1, so that a benchmark run beside other work does not
    spin threads on cores that are busy."""
    try:
        limit = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        limit = 0
    return limit if limit > 0 else os.cpu_count() or 1


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

"""Timing two ways of doing the same thing fairly: interleaved runs, medians, a rest between runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

__all__ = ["median_interleaved"]


def median_interleaved(
    fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1, settle: float = 0.2
) -> dict[str, float]:
    """Median seconds of each function, running them in turn so that drift hits all alike.

    Before each timed run the machine rests for ``settle`` seconds: numpy's and PyTorch's
    thread pools keep spinning for a while after their work, and a run that starts while
    the other library's threads still spin is slowed down by them (measured here: a small
    PyTorch convolution took 15 times longer right after a numpy matrix product).
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            time.sleep(settle)
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}

"""Timing two ways of doing the same thing fairly: interleaved runs, medians, a rest between runs."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable

__all__ = ["best_time", "median_interleaved", "stage_times"]


def best_time(fn: Callable[..., object], *args: object,
              repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs of ``fn(*args)``, in seconds:
    the run that the rest of the machine disturbed least (Chapter 1
    times its loops with it)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


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


def stage_times(run: Callable[[Callable[[str], None]], object], repeats: int, warmup: int = 1,
                settle: float = 0.2) -> dict[str, float]:
    """Median seconds of each stage of ``run``, and of the whole, over ``repeats`` runs.

    ``run(mark)`` does the work and calls ``mark(name)`` as each stage ends (the library's
    convolutions take it as ``stages=``); a stage's time is the time since the previous
    mark. The stages keep the order of the first run; ``"whole"`` is the whole run.
    """
    samples: dict[str, list[float]] = defaultdict(list)
    for index in range(warmup + repeats):
        time.sleep(settle)
        clock = _StageClock()
        run(clock.mark)
        if index >= warmup:
            for name, seconds in clock.seconds.items():
                samples[name].append(seconds)
            samples["whole"].append(time.perf_counter() - clock.start)
    return {name: statistics.median(values) for name, values in samples.items()}


class _StageClock:
    """Seconds per named stage of one run: ``mark(name)`` ends a stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.start = self.last = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] += now - self.last
        self.last = now

"""Benchmarks that print numbers: ``python -m alexnet_lib.bench conv|stages|data|train|browser [--json]``.

Speed targets are checked here, by measuring, not by timed tests. Each benchmark is a
module of its own:

- :mod:`~alexnet_lib.bench.conv` (Chapter 2): the library's numpy convolutions against
  PyTorch's on AlexNet's five layers, and where one 3x3 layer's time goes, stage by stage;
- :mod:`~alexnet_lib.bench.data` (Chapter 5): the data pipeline against PyTorch's ImageNet
  example;
- :mod:`~alexnet_lib.bench.train` (Chapter 7): training steps of the trainer against a
  classic loop;
- :mod:`~alexnet_lib.bench.browser` (the page "Try it"): the book's network in headless
  Chromium, what the page downloads and how fast it answers;
- :mod:`~alexnet_lib.bench.timing`: the fair timing they share; :mod:`~alexnet_lib.bench.cli`:
  the command line.
"""

from __future__ import annotations

from .browser import BROWSER_TARGETS, bench_browser, format_browser
from .cli import main
from .conv import (
    ALEXNET_CONV_LAYERS,
    SMALL_LAYER,
    ConvLayer,
    bench_conv,
    bench_stages,
    format_conv,
    format_stages,
)
from .data import bench_data, find_sample_images, format_data
from .timing import median_interleaved, stage_times
from .train import TRAIN_MODES, TRAIN_TARGETS, bench_train, format_train

__all__ = ["ALEXNET_CONV_LAYERS", "BROWSER_TARGETS", "SMALL_LAYER", "TRAIN_MODES", "TRAIN_TARGETS", "ConvLayer",
           "bench_browser", "bench_conv", "bench_data", "bench_stages", "bench_train", "find_sample_images",
           "format_browser", "format_conv", "format_data", "format_stages", "format_train", "main",
           "median_interleaved", "stage_times"]

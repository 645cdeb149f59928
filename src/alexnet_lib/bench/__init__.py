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

from ..lazy import lazy_names

# Each name comes from its module when first asked for (PEP 562), so that a chapter which times a
# convolution does not import the data and training benchmarks, and with them torchvision (about
# 1.3 s of every kernel's start on a 2-core machine, for Chapters 1, 2 and 4).
_WHERE = {
    "BROWSER_TARGETS": "browser", "bench_browser": "browser", "format_browser": "browser",
    "main": "cli",
    "ALEXNET_CONV_LAYERS": "conv", "SMALL_LAYER": "conv", "ConvLayer": "conv", "bench_conv": "conv",
    "bench_stages": "conv", "format_conv": "conv", "format_stages": "conv",
    "bench_data": "data", "find_sample_images": "data", "format_data": "data",
    "median_interleaved": "timing", "stage_times": "timing",
    "TRAIN_MODES": "train", "TRAIN_TARGETS": "train", "bench_train": "train", "format_train": "train",
}

__all__ = ["ALEXNET_CONV_LAYERS", "BROWSER_TARGETS", "SMALL_LAYER", "TRAIN_MODES", "TRAIN_TARGETS", "ConvLayer",
           "bench_browser", "bench_conv", "bench_data", "bench_stages", "bench_train", "find_sample_images",
           "format_browser", "format_conv", "format_data", "format_stages", "format_train", "main",
           "median_interleaved", "stage_times"]

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

"""alexnet_lib: the library that the book *AlexNet, built up from a single convolution* builds.

Each module holds one idea that a chapter teaches first and later chapters import. The map,
by layer: a module imports only modules of its own layer and of the layers before it (a test
checks it).

**Foundations**

- :mod:`~alexnet_lib.version` -- the library's version, in one place
- :mod:`~alexnet_lib.profiles` -- the execution profiles (``smoke``, ``cpu``, ``gpu``) and ``setup()``
- :mod:`~alexnet_lib.machine` -- the machine a measurement ran on
- :mod:`~alexnet_lib.paper` -- the paper's numbers, each with where it is printed
- :mod:`~alexnet_lib.recorded` -- results recorded with the library (``results/``)
- :mod:`~alexnet_lib.shapes` -- the size of a sliding window's output
- :mod:`~alexnet_lib.display` -- showing source, images and arrays in notebooks
- :mod:`~alexnet_lib.distributed` -- this process's place among several (``torchrun``)
- :mod:`~alexnet_lib.lazy` -- a package's names imported when first asked for

**Layers by hand, in numpy** (Chapters 1-4)

- :mod:`~alexnet_lib.conv` -- convolution with loops, then fast (im2col, Winograd, FFT), and its backward pass
- :mod:`~alexnet_lib.layers` -- ReLU, pooling, LRN, dropout, softmax and cross-entropy, forward and backward
- :mod:`~alexnet_lib.gradcheck` -- numerical gradients, to check the backward passes
- :mod:`~alexnet_lib.tinycnn` -- a small CNN made of those layers
- :mod:`~alexnet_lib.filters`, :mod:`~alexnet_lib.images` -- classic filters and the photographs they run on

**Data**

- :mod:`~alexnet_lib.datasets` -- datasets by source: where data is looked for (``policy``), ``downloads``,
  ``cifar``, ``imagenette``, ``imagenet`` (its validation folder, Tiny ImageNet, sample photographs),
  ``generated``
- :mod:`~alexnet_lib.data` -- images by job: ``decoding`` (files and ImageNet-style folders), the paper's
  ``transforms`` and PCA lighting, the predecoded ``cache``, and batch preparation (``prepare``)
- :mod:`~alexnet_lib.batches` -- the order of the images and the loaders

**The model**

- :mod:`~alexnet_lib.lrn` -- local response normalisation in PyTorch, within towers
- :mod:`~alexnet_lib.models` -- AlexNet as a ``torch.nn.Module`` (the paper's and torchvision's)
- :mod:`~alexnet_lib.summary`, :mod:`~alexnet_lib.figure2` -- a network layer by layer; the paper's Figure 2
- :mod:`~alexnet_lib.parallel` -- the two towers on two devices

**Training**

- :mod:`~alexnet_lib.config`, :mod:`~alexnet_lib.cli` -- a run's settings and the command line made of them
- :mod:`~alexnet_lib.devices` -- where a run computes, in what precision, with how many loader workers
- :mod:`~alexnet_lib.run_data` -- a run's three splits (training, held-out validation, test)
- :mod:`~alexnet_lib.schedule` -- the learning rate over a run
- :mod:`~alexnet_lib.checkpoints` -- a run's folder: checkpoint, metrics, test result
- :mod:`~alexnet_lib.metrics` -- top-k error, per-class error, the confusion matrix
- :mod:`~alexnet_lib.train` -- the training step, an epoch, a run (``alexnet-train``)
- :mod:`~alexnet_lib.curves` -- training curves

**The trained network**

- :mod:`~alexnet_lib.pretrained` -- the book's network, shipped, and torchvision's
- :mod:`~alexnet_lib.evaluate` -- ten-patch testing and ``alexnet-eval``
- :mod:`~alexnet_lib.viz` -- kernels, nearest neighbours, occlusion maps

**Studies** (the book's recorded and live runs)

- :mod:`~alexnet_lib.experiments` -- the chapters' shared runs and their cache
- :mod:`~alexnet_lib.figure1` -- the paper's Figure 1 (ReLU against tanh)
- :mod:`~alexnet_lib.budget` -- how much AlexNet a CPU trains in a few minutes
- :mod:`~alexnet_lib.full_run` -- the recorded full-width run on Imagenette
- :mod:`~alexnet_lib.ablations` -- Chapter 10's experiments
- :mod:`~alexnet_lib.bench` -- benchmarks that print numbers (``python -m alexnet_lib.bench``)

**Book helpers**

- :mod:`~alexnet_lib.checks` -- self-checks that explain what is wrong in a reader's code
- :mod:`~alexnet_lib.onnx_export` -- the book's network for the page that runs it in the browser
- :mod:`~alexnet_lib.widgets` -- explorers whose logic runs in JavaScript, live in the static book
"""

from __future__ import annotations

from .profiles import Profile, current_profile, setup
from .version import __version__

__all__ = ["Profile", "__version__", "current_profile", "setup"]

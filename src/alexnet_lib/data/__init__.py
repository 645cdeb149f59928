"""Images for AlexNet, one module per job, from a file on disk to the model's input.

- :mod:`~alexnet_lib.data.decoding`: :func:`read_image` decodes any JPEG/PNG/... to an RGB
  ``uint8`` tensor ``(3, H, W)`` and raises :class:`BadImage` naming the file and the fix when
  it cannot; :func:`imagenet_folder` reads the ``train/<wnid>/*.JPEG`` layout (ImageNet,
  Imagenette) with clear errors; :func:`find_unreadable` finds broken files before a run.
- :mod:`~alexnet_lib.data.transforms`: :func:`paper_transform` is the paper's pipeline
  (sections 2 and 4.1: shorter side to 256, central 256x256, random 224x224 crops and
  horizontal flips for training, then mean subtraction), all in ``uint8`` until the last
  step; :class:`PCALighting` is the paper's second augmentation, "altering the intensities
  of the RGB channels", with :func:`rgb_pca` computing its eigenvalues and eigenvectors.
- :mod:`~alexnet_lib.data.cache`: :func:`predecode` decodes a folder once into one ``uint8``
  array of 256x256 squares (:class:`PreDecoded`), the squares the paper cut its patches from; and the
  one function that looks through ``Subset`` wrappers (:func:`innermost`) and the one that
  decides whether a dataset is pre-decoded (:func:`predecoded`).
- :mod:`~alexnet_lib.data.prepare`: :class:`BatchPreparer` turns a ``uint8`` batch into the
  model's input on its device (:func:`crop_batch`, :func:`to_float_batch`).

Each module lists its public names in ``__all__``; every one of them is importable from
``alexnet_lib.data`` as well (a test checks it).
"""

from __future__ import annotations

from . import cache, decoding, prepare, transforms
from .cache import *  # noqa: F403 (each module's __all__ is the list)
from .decoding import *  # noqa: F403
from .prepare import *  # noqa: F403
from .transforms import *  # noqa: F403

__all__ = sorted({*decoding.__all__, *transforms.__all__, *cache.__all__, *prepare.__all__})

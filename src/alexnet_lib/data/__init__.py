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
  array of 256x256 squares (:class:`PreDecoded`), as the paper stored its images; and the
  one function that looks through ``Subset`` wrappers (:func:`innermost`).
- :mod:`~alexnet_lib.data.prepare`: :class:`BatchPreparer` turns a ``uint8`` batch into the
  model's input on its device (:func:`crop_batch`, :func:`to_float_batch`).

Every name below is importable from ``alexnet_lib.data`` as well as from its module.
"""

from __future__ import annotations

from .cache import (
    PreDecoded,
    file_list_key,
    images_and_labels,
    innermost,
    normalisation,
    predecode,
    predecoded,
)
from .decoding import BadImage, ImageFolderDataset, find_unreadable, imagenet_folder, read_image
from .prepare import BatchPreparer, crop_batch, fast_loader, to_float_batch
from .transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PCALighting,
    SubtractMeanImage,
    classic_transform,
    image_statistics,
    paper_transform,
    rgb_pca,
    square_steps,
    uint8_transform,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "BadImage",
    "BatchPreparer",
    "ImageFolderDataset",
    "PCALighting",
    "PreDecoded",
    "SubtractMeanImage",
    "classic_transform",
    "crop_batch",
    "fast_loader",
    "file_list_key",
    "find_unreadable",
    "image_statistics",
    "imagenet_folder",
    "images_and_labels",
    "innermost",
    "normalisation",
    "paper_transform",
    "predecode",
    "predecoded",
    "read_image",
    "rgb_pca",
    "square_steps",
    "to_float_batch",
    "uint8_transform",
]

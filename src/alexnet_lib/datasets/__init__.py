"""Datasets, found by the book's data policy, one module per source.

Where a dataset is looked for, in order:

1. the folder given by ``ALEXNET_DATA_DIR`` (or an explicit ``root``);
2. the book's cache, ``data/`` in a checkout of the repository
   (``~/.cache/alexnet-book`` for a pip-installed library);
3. a download, verified by SHA-256 before it is used, into that cache;
4. otherwise :class:`DataNotFound`, whose message names the fix.

Embedded datasets (no network): scikit-learn's digits and a generated dataset
(:func:`synthetic_images`) that tests and the ``smoke`` profile use. A notebook
that falls back to embedded data says so in its output: every loader returns an
:class:`ArrayDataset` whose ``source`` says what was loaded.

The modules, each importable on its own; every name below is also importable from here:

- :mod:`~alexnet_lib.datasets.policy`: where data is looked for (:func:`search_roots`,
  :func:`cache_dir`), the errors that name what is missing, :class:`ArrayDataset`;
- :mod:`~alexnet_lib.datasets.downloads`: :func:`download` checked by SHA-256, archives
  unpacked atomically, and the file locks that keep two processes apart;
- :mod:`~alexnet_lib.datasets.cifar`: CIFAR-10 (:func:`load_cifar10`);
- :mod:`~alexnet_lib.datasets.imagenette`: Imagenette and Tiny ImageNet, image folders
  (:func:`load_imagenette`, :func:`find_imagenette`, :func:`load_tiny_imagenet`);
- :mod:`~alexnet_lib.datasets.imagenet`: ImageNet's validation folder sorted
  (:func:`sort_imagenet_val`) and sample photographs (:func:`load_imagenet_samples`);
- :mod:`~alexnet_lib.datasets.generated`: :func:`load_digits` and :func:`synthetic_images`.
"""

from __future__ import annotations

from .cifar import CIFAR10_CLASSES, CIFAR10_SHA256, CIFAR10_URL, cifar10_location, load_cifar10
from .downloads import download, file_sha256, lock_file, unlock_file
from .generated import load_digits, synthetic_images
from .imagenet import PhotoSet, load_imagenet_samples, sort_imagenet_val
from .imagenette import (
    IMAGENETTE,
    IMAGENETTE_224,
    IMAGENETTE_CLASSES,
    find_imagenette,
    load_imagenette,
    load_tiny_imagenet,
    readable,
)
from .policy import (
    CACHE_VAR,
    CHECKOUT_DATA,
    ENV_VAR,
    TEST_DOWNLOADS_VAR,
    ArrayDataset,
    ChecksumMismatch,
    DataDamaged,
    DataError,
    DataNotFound,
    DownloadFailed,
    UnsafeArchive,
    cache_dir,
    describe_folder,
    search_roots,
)

__all__ = [
    "CACHE_VAR",
    "CHECKOUT_DATA",
    "CIFAR10_CLASSES",
    "CIFAR10_SHA256",
    "CIFAR10_URL",
    "ENV_VAR",
    "IMAGENETTE",
    "IMAGENETTE_224",
    "IMAGENETTE_CLASSES",
    "TEST_DOWNLOADS_VAR",
    "ArrayDataset",
    "ChecksumMismatch",
    "DataDamaged",
    "DataError",
    "DataNotFound",
    "DownloadFailed",
    "PhotoSet",
    "UnsafeArchive",
    "cache_dir",
    "cifar10_location",
    "describe_folder",
    "download",
    "file_sha256",
    "find_imagenette",
    "load_cifar10",
    "load_digits",
    "load_imagenet_samples",
    "load_imagenette",
    "load_tiny_imagenet",
    "lock_file",
    "readable",
    "search_roots",
    "sort_imagenet_val",
    "synthetic_images",
    "unlock_file",
]

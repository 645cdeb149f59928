"""Datasets, found by the book's data policy, one module per source.

Where a dataset is looked for, in order:

1. the folder given by ``ALEXNET_DATA_DIR`` (or an explicit ``root``);
2. the book's cache, ``data/`` in a checkout of the repository
   (``~/.cache/alexnet-book`` for a pip-installed library);
3. a download, verified by SHA-256 before it is used, into that cache;
4. otherwise :class:`DataNotFound`, whose message names the fix.

Embedded datasets (no network): scikit-learn's digits and a generated dataset
(:func:`synthetic_images`) that tests and the ``smoke`` profile use. A notebook
that falls back to embedded data says so in its output: the array loaders return an
:class:`ArrayDataset` and the photograph loader a :class:`PhotoSet`, whose ``source``
says what was loaded; the image-folder loaders return the folder.

The modules; each lists its public names in ``__all__``, and every one of them is importable
from here as well (a test checks it):

- :mod:`~alexnet_lib.datasets.policy`: where data is looked for (:func:`search_roots`,
  :func:`cache_dir`), the errors that name what is missing, :class:`ArrayDataset`;
- :mod:`~alexnet_lib.datasets.downloads`: :func:`download` checked by SHA-256, archives
  unpacked atomically, image-folder releases found or fetched, and the file locks that keep
  two processes apart;
- :mod:`~alexnet_lib.datasets.cifar`: CIFAR-10 (:func:`load_cifar10`);
- :mod:`~alexnet_lib.datasets.imagenette`: Imagenette, image folders (:func:`load_imagenette`,
  :func:`find_imagenette`);
- :mod:`~alexnet_lib.datasets.imagenet`: ImageNet's validation folder sorted
  (:func:`sort_imagenet_val`), Tiny ImageNet (:func:`load_tiny_imagenet`) and sample
  photographs (:func:`load_imagenet_samples`);
- :mod:`~alexnet_lib.datasets.generated`: :func:`load_digits` and :func:`synthetic_images`.
"""

from __future__ import annotations

from . import cifar, downloads, generated, imagenet, imagenette, policy
from .cifar import *  # noqa: F403 (each module's __all__ is the list)
from .downloads import *  # noqa: F403
from .generated import *  # noqa: F403
from .imagenet import *  # noqa: F403
from .imagenette import *  # noqa: F403
from .policy import *  # noqa: F403

__all__ = sorted({*policy.__all__, *downloads.__all__, *cifar.__all__, *imagenette.__all__, *imagenet.__all__,
                  *generated.__all__})

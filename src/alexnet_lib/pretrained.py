"""torchvision's AlexNet weights trained on ImageNet, found or downloaded and verified.

The file is looked for, in order, in the data folders of the book's data policy
(``ALEXNET_DATA_DIR``, then ``data/``; each may hold it directly or under
``weights/``) and in PyTorch's hub cache, where ``torchvision`` itself keeps it. If it
is nowhere, it is downloaded into ``data/weights/`` (233 MB). torchvision names the
file after the first 8 hex digits of its SHA-256 (``alexnet-owt-7be5be79.pth``) and
publishes nothing longer, so that prefix is what every copy is checked against before
``torch.load(..., weights_only=True)`` reads it.

The 1000 ImageNet class names come with torchvision and need no download
(:func:`imagenet_classes`).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from . import datasets
from .models import AlexNet

__all__ = ["TORCHVISION_FILE", "TORCHVISION_SHA256_PREFIX", "TORCHVISION_URL", "find_torchvision_weights",
           "imagenet_classes", "load_torchvision_alexnet"]

TORCHVISION_FILE = "alexnet-owt-7be5be79.pth"
TORCHVISION_URL = "https://download.pytorch.org/models/" + TORCHVISION_FILE
TORCHVISION_SHA256_PREFIX = "7be5be79"


def _candidates(root: str | os.PathLike[str] | None) -> list[Path]:
    places = []
    for folder in datasets.search_roots(root):
        places += [folder / TORCHVISION_FILE, folder / "weights" / TORCHVISION_FILE]
    places.append(Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE)
    return places


def find_torchvision_weights(root: str | os.PathLike[str] | None = None, *, download: bool = True,
                             progress: bool = True) -> Path:
    """The path of a verified copy of torchvision's AlexNet weights.

    Raises:
        datasets.ChecksumMismatch: a copy was found but is corrupt (its path is named).
        datasets.DataNotFound: no copy, and ``download=False`` or the download failed;
            the message says where to put the file.
    """
    for path in _candidates(root):
        if path.is_file():
            if not datasets.file_sha256(path).startswith(TORCHVISION_SHA256_PREFIX):
                raise datasets.ChecksumMismatch(
                    f"{path} is not torchvision's AlexNet weight file (its SHA-256 does not start with "
                    f"{TORCHVISION_SHA256_PREFIX}); it may be truncated. Delete it and try again."
                )
            return path
    dest = datasets.cache_dir() / "weights" / TORCHVISION_FILE
    fix = (f"Download {TORCHVISION_URL} on a machine with a network and put it in {datasets.describe_folder(dest.parent)} "
           f"(or in the folder that {datasets.ENV_VAR} names).")
    if not download:
        raise datasets.DataNotFound(f"torchvision's AlexNet weights are not on this machine. {fix}")
    try:
        return datasets.download(TORCHVISION_URL, dest, TORCHVISION_SHA256_PREFIX, progress=progress)
    except datasets.DownloadFailed as err:
        raise datasets.DataNotFound(f"torchvision's AlexNet weights could not be downloaded ({err}). {fix}") from err


def load_torchvision_alexnet(root: str | os.PathLike[str] | None = None, *, download: bool = True,
                             progress: bool = True) -> AlexNet:
    """``AlexNet(variant="torchvision")`` with torchvision's ImageNet weights, in eval mode.

    Its inputs are 224x224 RGB images scaled to [0, 1] and normalised with ImageNet's
    per-channel mean (0.485, 0.456, 0.406) and standard deviation (0.229, 0.224, 0.225).
    """
    path = find_torchvision_weights(root, download=download, progress=progress)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = AlexNet(num_classes=1000, variant="torchvision")
    model.load_state_dict(state, strict=True)
    return model.eval()


def imagenet_classes() -> list[str]:
    """The 1000 ILSVRC-2012 class names, in the order of the network's outputs (from torchvision)."""
    from torchvision.models import AlexNet_Weights

    return list(AlexNet_Weights.IMAGENET1K_V1.meta["categories"])

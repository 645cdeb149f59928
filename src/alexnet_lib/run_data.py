"""The data of a training run: three splits, found by the data policy and prepared once.

Every run has three sets of images, each with its own job:

- **train**: the images the network learns from (the training images, less those held out);
- **validation**: ``val_split`` of the training images, held out and never trained on.
  Every choice made during a run is made on it: the plateau rule, a learning-rate search,
  which of several runs is best;
- **test**: the dataset's own test or validation images (CIFAR-10's test batch, the
  ``val/`` folder of ImageNet or Imagenette), evaluated once, when the run ends, and
  reported, never used to choose anything.

The held-out images are the same for every run on the same data (drawn per class with a
fixed seed, :func:`holdout_split`), so runs with different seeds or settings are compared
on the same validation images.

Images stay ``uint8`` where they can (:class:`~alexnet_lib.data.PreDecoded`), and the
random patches, flips and normalisation happen on whole batches
(:class:`~alexnet_lib.data.BatchPreparer`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Subset, TensorDataset

from . import data, datasets
from .config import Config, TrainError

__all__ = ["RunData", "build_data", "crop_size", "data_identity", "dataset_labels", "holdout_split", "image_folder_root",
           "square_size"]

SPLIT_SEED = 20120101  # one fixed draw of the held-out images, whatever the run's seed


@dataclass
class RunData:
    """A run's three splits, its number of classes and a description of the data (print it), and
    the classes' names in the order of the network's outputs (kept in its checkpoints)."""

    train: Dataset
    val: Dataset
    test: Dataset
    classes: int
    source: str
    class_names: tuple[str, ...] = ()


def holdout_split(labels: np.ndarray, fraction: float, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, held_out)``: ``fraction`` of each class's examples held out, drawn with ``seed``.

    Every class keeps at least one training example and, when it has two or more, gives
    at least one to the held-out part. Both index arrays are sorted.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"the held-out fraction must be between 0 and 1, got {fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        take = min(max(int(round(fraction * len(members))), 1), len(members) - 1)
        held.append(rng.permutation(members)[:take])
    held_out = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=np.int64)
    train = np.setdiff1d(np.arange(len(labels)), held_out)
    return train, held_out


def dataset_labels(dataset: Dataset) -> np.ndarray:
    """The class of every example of a dataset the trainer builds (without reading any image)."""
    base, indices = data.innermost(dataset)
    if data.predecoded(base) is not None:
        labels = base.labels
    elif isinstance(base, TensorDataset):
        labels = base.tensors[1].numpy()
    else:
        labels = getattr(base, "targets", None)
        if labels is None:
            raise TypeError(f"cannot read the labels of {type(base).__name__} without reading its images")
    return np.asarray(labels)[indices]


def crop_size(cfg: Config) -> int:
    """The side of the patches the network sees: ``--image-size``, else 227 (paper) or 224."""
    return cfg.image_size or (227 if cfg.model == "paper" else 224)


def square_size(crop: int) -> int:
    """The square the patches are cut from: 256 for the paper's 224 (and 227); in proportion below that."""
    return 256 if crop >= 224 else round(crop * 256 / 224)


def _arrays(train: datasets.ArrayDataset, test: datasets.ArrayDataset, cfg: Config,
            crops: bool) -> tuple[Dataset, Dataset, Dataset]:
    """Images in memory as (train, validation, test) datasets, normalised with the training part's
    channel statistics. ``crops``: kept as ``uint8`` for random patches of ``--image-size``
    (:class:`~alexnet_lib.data.PreDecoded`); else standardised float tensors, used whole."""
    keep, held = holdout_split(train.labels, cfg.val_split)
    parts = [(train.images[keep], train.labels[keep]), (train.images[held], train.labels[held]),
             (test.images, test.labels)]
    if crops:
        return tuple(data.PreDecoded.from_arrays(x, y, train.class_names, stats_from=parts[0][0])
                     for x, y in parts)  # type: ignore[return-value]
    floats = [torch.as_tensor(x).permute(0, 3, 1, 2).float().div_(255) for x, _ in parts]
    mean = floats[0].mean(dim=(0, 2, 3), keepdim=True)
    # at least one grey level: a channel that never changes (blank images) must not divide by 0
    std = floats[0].std(dim=(0, 2, 3), keepdim=True).nan_to_num(0).clamp_(min=1 / 255)
    return tuple(TensorDataset((x - mean) / std, torch.as_tensor(y))
                 for x, (_, y) in zip(floats, parts))  # type: ignore[return-value]


def build_data(cfg: Config) -> RunData:
    """The three splits for ``cfg.dataset``, found by the data policy (downloaded where allowed).

    CIFAR-10 and generated images are 32x32; an ``--image-size`` below that trains on random
    patches of that size with flips, as the paper did with 224 of 256 (validation and test:
    the central patch), and uses the images whole otherwise.
    """
    if cfg.dataset == "synthetic":
        if cfg.model == "paper" and cfg.image_size is not None:  # squares to cut the patches from, as with photos
            crops, size = True, square_size(cfg.image_size)
        else:
            crops = cfg.image_size is not None and cfg.image_size < 32 and cfg.model != "paper"
            size = 32 if crops else cfg.image_size or (227 if cfg.model == "paper" else 32)
        classes = cfg.num_classes or 10
        train = datasets.synthetic_images(cfg.synthetic_size, size, classes, seed=cfg.seed)
        test = datasets.synthetic_images(max(cfg.synthetic_size // 4, 1), size, classes, seed=cfg.seed + 1)
        return RunData(*_arrays(train, test, cfg, crops), len(train.class_names), train.source, train.class_names)
    if cfg.dataset == "cifar10":
        with _data_errors():
            train = datasets.load_cifar10("train", root=cfg.data, download_ok=cfg.download, progress=cfg.progress)
            test = datasets.load_cifar10("test", root=cfg.data, download_ok=cfg.download, progress=cfg.progress)
        if cfg.image_size is not None and cfg.image_size > 32:
            raise TrainError(f"--image-size {cfg.image_size}: CIFAR-10 images are 32x32; use 32 or less")
        if train.class_names != test.class_names:
            raise TrainError(f"CIFAR-10's training and test images name different classes ({train.source}): "
                             "replace the data file")
        crops = cfg.image_size is not None and cfg.image_size < 32
        return RunData(*_arrays(train, test, cfg, crops), len(train.class_names), train.source, train.class_names)
    if cfg.dataset in ("imagefolder", "imagenette", "tiny-imagenet"):
        return _image_folders(cfg)
    raise TrainError(f"unknown dataset {cfg.dataset!r}: use one of imagefolder, imagenette, tiny-imagenet, "
                     "cifar10, synthetic")


@contextmanager
def _data_errors() -> Iterator[None]:
    """The data policy's errors (missing, damaged, not downloaded, a wrong checksum) as the run's errors."""
    try:
        yield
    except datasets.DataNotFound as err:
        raise TrainError(f"no data: {err}") from err
    except datasets.DataError as err:
        raise TrainError(f"data: {err}") from err


def image_folder_root(cfg: Config) -> Path:
    """The folder holding ``train/`` and ``val/`` for an image-folder dataset (found or downloaded)."""
    with _data_errors():
        if cfg.dataset == "imagenette":
            return datasets.find_imagenette(cfg.imagenette, root=cfg.data, download_ok=cfg.download,
                                            progress=cfg.progress)
        if cfg.dataset == "tiny-imagenet":
            return datasets.load_tiny_imagenet(root=cfg.data, download_ok=cfg.download, progress=cfg.progress)
    if cfg.data is None:
        raise TrainError("--dataset imagefolder needs --data ROOT, a folder with train/<class>/ and val/<class>/")
    return Path(cfg.data).expanduser()


def _refuse_unreadable(folders: Any, root: Path, progress: bool) -> None:
    """Read every file's header (and decode the doubtful ones) before training: an unreadable image
    would otherwise stop the run in the middle of an epoch, or after its last one (``val/``).
    A folder found whole is remembered (by its files' names, sizes and times) in the cache's
    ``checked/``, so that it is not read again until a file changes."""
    bad = []
    for folder in folders:
        marker = datasets.cache_dir() / "checked" / f"{Path(folder.root).parent.name}-{Path(folder.root).name}-" \
                                                    f"{data.file_list_key(folder)}"
        if marker.exists():
            continue
        found = data.find_unreadable(folder, progress=progress)
        bad += found
        if not found:
            try:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()
            except OSError:  # a cache that cannot be written: check again next time
                pass
    if bad:
        listed = "; ".join(f"{path} ({why})" for path, why in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise TrainError(f"{len(bad)} file(s) under {root} cannot be read as images: {listed}{more}. Replace them, "
                         "or move them out of the folder; nothing has been trained yet.")


def _image_folders(cfg: Config) -> RunData:
    """ImageNet-style ``train/<class>/*.JPEG`` and ``val/<class>/*.JPEG``: the held-out validation
    images come from ``train/``, the test images are ``val/``. Read with the paper's crops and flips
    (:func:`alexnet_lib.data.paper_transform`), or decoded once into ``uint8`` squares with
    ``--predecode`` (:func:`alexnet_lib.data.predecode`; crops and flips on whole batches)."""
    root = image_folder_root(cfg)
    crop = crop_size(cfg)
    scale = square_size(crop)
    try:
        with _data_errors():
            folders = data.imagenet_folder(root, "train"), data.imagenet_folder(root, "val")  # the layout's errors
            if folders[0].classes != folders[1].classes:
                raise TrainError(f"train/ and val/ of {root} must have the same class folders: train/ has "
                                 f"{len(folders[0].classes)} ({', '.join(folders[0].classes[:5])}...), val/ has "
                                 f"{len(folders[1].classes)} ({', '.join(folders[1].classes[:5])}...)")
            _refuse_unreadable(folders, root, cfg.progress)
            if cfg.predecode:
                full, test = (data.predecode(root / split, cfg.cache_dir, scale=scale, workers=max(cfg.workers, 1),
                                             progress=cfg.progress) for split in ("train", "val"))
                seen: Any = full
            else:
                full = data.imagenet_folder(root, "train", transform=data.paper_transform(True, crop, scale=scale))
                seen = data.imagenet_folder(root, "train", transform=data.paper_transform(False, crop, scale=scale))
                test = data.imagenet_folder(root, "val", transform=data.paper_transform(False, crop, scale=scale))
    except data.BadImage as err:
        raise TrainError(f"no data: {err}") from err
    if full.classes != test.classes:
        raise TrainError(f"train/ has {len(full.classes)} classes and val/ has {len(test.classes)}; they must match")
    keep, held = holdout_split(dataset_labels(full), cfg.val_split)
    source = (f"image folders {root.name}/: {len(keep):,} training images, {len(held):,} held out for "
              f"validation, {len(test):,} test images (val/)")
    return RunData(Subset(full, keep.tolist()), Subset(seen, held.tolist()), test, len(full.classes), source,
                   tuple(full.classes))


@functools.lru_cache(maxsize=16)
def _content_sha256(path: Path, mtime_ns: int) -> str:  # read once per file and version of it
    return datasets.file_sha256(path)


def data_identity(cfg: Config) -> str:
    """Which data a run with ``cfg`` reads, in a few words, without reading or downloading it.

    A single-file copy found on this machine is named by its content's SHA-256 (a CIFAR-10
    subset is not the whole of CIFAR-10, and a copy of the same file made again, with a new
    modification time, is the same data); an official release by its published SHA-256,
    wherever it lies or will be downloaded to. The book's run cache puts this in its keys,
    so that a run trained on other data is not taken for this one.
    """
    if cfg.dataset == "synthetic":
        return "generated"
    if cfg.dataset == "cifar10":
        found = datasets.cifar10_location(cfg.data)
        if found is None or found.name.endswith(".tar.gz") or found.is_dir():
            return f"cifar-10-python {datasets.CIFAR10_SHA256}"
        return f"{found.name} sha256:{_content_sha256(found.resolve(), found.stat().st_mtime_ns)}"
    if cfg.dataset == "imagenette" and cfg.imagenette in datasets.IMAGENETTE:
        return f"imagenette {datasets.IMAGENETTE[cfg.imagenette][1]}"
    if cfg.dataset == "tiny-imagenet":
        return f"tiny-imagenet {datasets.TINY_IMAGENET_SHA256}"
    try:
        root = image_folder_root(cfg) if cfg.dataset != "imagenette" or cfg.imagenette != "auto" else \
            datasets.find_imagenette("auto", root=cfg.data, download_ok=False)
    except (TrainError, datasets.DataNotFound):
        return f"{cfg.dataset} (not on this machine: {datasets.IMAGENETTE['320'][1]})"
    files = sum(1 for split in ("train", "val") for _ in (root / split).rglob("*") if _.is_file())
    return f"{Path(root).resolve()} {files} files"

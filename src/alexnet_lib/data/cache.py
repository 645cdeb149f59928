"""The predecoded cache: every image decoded once into ``uint8`` squares in one array.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from torchvision.transforms import v2
from tqdm.auto import tqdm

from ..datasets import DataDamaged, DataNotFound, lock_file, unlock_file
from ..datasets import cache_dir as default_cache
from ..profiles import progress_bars_off
from .decoding import BadImage, ImageFolderDataset
from .transforms import IMAGENET_MEAN, IMAGENET_STD, square_steps

__all__ = [
    "PreDecoded",
    "file_list_key",
    "images_and_labels",
    "innermost",
    "normalisation",
    "predecode",
    "predecoded",
]

# --- decoded once -----------------------------------------------------------------------


class PreDecoded(torch.utils.data.Dataset):
    """Images decoded once into the paper's ``scale x scale`` squares, all in one ``uint8`` array.

    The paper brought every image to 256x256 first (section 2) and took its crops from those
    squares (section 4.1). No JPEG is decoded during training; a batch is a slice of one array
    (a memory-mapped ``.npy`` file, so it need not fit in memory), and the random crops and
    flips run on whole batches with :func:`~alexnet_lib.data.prepare.crop_batch`, on the GPU
    when there is one.

    Index it with a list of indices to get a whole batch at once,
    ``(uint8 (N, 3, S, S), int64 (N,))``; an integer gives one image and its label.
    ``mean`` and ``std`` are the per-channel statistics (in [0, 1]) that normalise its
    images (:func:`~alexnet_lib.data.prepare.to_float_batch`): ImageNet's unless given. Build one with
    :func:`predecode`, or from arrays already in memory (:meth:`from_arrays`).
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, classes: Iterable[str],
                 mean: Iterable[float] = IMAGENET_MEAN, std: Iterable[float] = IMAGENET_STD,
                 paths: list[str] | None = None) -> None:
        if images.ndim != 4 or images.shape[1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"expected uint8 images (N, 3, S, S), got {images.dtype} {images.shape}")
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels, self.classes = images, labels, list(classes)
        self.mean, self.std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
        self.paths = paths  # the file each image was decoded from, where known

    @classmethod
    def from_arrays(cls, images: np.ndarray, labels: np.ndarray, classes: Iterable[str],
                    stats_from: np.ndarray | None = None) -> PreDecoded:
        """``uint8`` images ``(N, H, W, 3)`` in memory (CIFAR-10, say), normalised with the channel
        statistics of ``stats_from`` (the training images; default: ``images`` themselves)."""
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"expected uint8 images (N, H, W, 3), got {images.dtype} {images.shape}")
        source = images if stats_from is None else stats_from
        mean = [float(source[..., c].mean(dtype=np.float64)) / 255 for c in range(3)]
        # at least one grey level: a channel that never changes (a constant image) must not divide by 0
        std = [max(float(np.sqrt(max((source[..., c].astype(np.float32) ** 2).mean(dtype=np.float64) / 255**2 - m**2,
                                     0.0))), 1 / 255)
               for c, m in zip(range(3), mean)]
        return cls(np.ascontiguousarray(images.transpose(0, 3, 1, 2)), np.asarray(labels, dtype=np.int64),
                   classes, mean, std)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return torch.from_numpy(np.array(self.images[index])), int(self.labels[index])
        order = np.asarray(index, dtype=np.int64)
        return torch.from_numpy(self.images[order]), torch.from_numpy(self.labels[order].astype(np.int64))


def innermost(dataset) -> tuple[torch.utils.data.Dataset, np.ndarray]:
    """The dataset inside any ``Subset`` wrappers, and the indices into it that ``dataset`` covers,
    in ``dataset``'s order: the one place that looks through ``Subset``."""
    if isinstance(dataset, torch.utils.data.Subset):
        base, indices = innermost(dataset.dataset)
        return base, indices[np.asarray(dataset.indices, dtype=np.int64)]
    return dataset, np.arange(len(dataset))


def predecoded(dataset) -> PreDecoded | None:
    """The :class:`PreDecoded` inside ``dataset`` (under any ``Subset`` wrappers), or ``None``:
    the one place that decides whether a dataset's batches are slices of one ``uint8`` array."""
    base, _ = innermost(dataset)
    return base if isinstance(base, PreDecoded) else None


def images_and_labels(dataset) -> tuple[np.ndarray, np.ndarray]:
    """The ``uint8`` images ``(N, 3, S, S)`` and labels of a :class:`PreDecoded` dataset, or of a
    ``Subset`` of one (a run's training images, say), in the dataset's order."""
    inner, indices = innermost(dataset)
    base = predecoded(inner)
    if base is None:
        raise TypeError(f"{type(dataset).__name__} is not a PreDecoded dataset (or a Subset of one)")
    whole = len(indices) == len(base) and bool(np.all(indices == np.arange(len(base))))
    return (np.asarray(base.images) if whole else base.images[indices]), np.asarray(base.labels)[indices]


def normalisation(dataset) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The (mean, std) that normalise ``dataset``'s ``uint8`` batches (inside ``Subset`` wrappers too)."""
    base = predecoded(dataset)
    return (base.mean, base.std) if base is not None else (IMAGENET_MEAN, IMAGENET_STD)


def file_list_key(dataset: ImageFolderDataset, scale: int = 0) -> str:
    """A short hash of the files (path, size, modification time), their labels and the scale:
    it changes when any file of the folder does."""
    h = hashlib.sha256(f"{scale}\n".encode())
    for path, label in dataset.samples:
        st = os.stat(path)
        h.update(f"{path}\t{label}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def predecode(folder: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None, *,
              scale: int = 256, workers: int = 2, on_error: str = "raise", progress: bool = True) -> PreDecoded:
    """Decode every image of an ``ImageFolder``-style ``folder`` once, to ``uint8`` ``scale x scale`` squares.

    Each image gets the paper's first two steps (shorter side to ``scale``, central square)
    and goes into a ``.npy`` file under ``cache_dir`` (default: the book's data cache,
    ``data/predecoded``), named by a hash of the file list, sizes, modification times and
    ``scale``: a later call with the same files opens it without decoding anything, and a
    changed folder gets a new file. The file is written under a temporary name and renamed
    when complete, so an interrupted run leaves nothing that looks finished.
    A dataset of N images takes ``N * 3 * scale**2`` bytes of disk (ImageNet's training set:
    about 250 GB at 256 px; Imagenette: 2.5 GB).
    """
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive number of pixels (the paper: 256), got {scale!r}")
    if not Path(folder).is_dir():
        raise DataNotFound(f"{folder} is not a folder: predecode reads a folder of class folders (train/ or val/)")
    dataset = ImageFolderDataset(folder, transform=v2.Compose(square_steps(scale)), on_error=on_error)
    folder = Path(folder)
    out = Path(cache_dir) if cache_dir is not None else default_cache() / "predecoded"
    stem = f"{folder.parent.name}-{folder.name}-{scale}px-{file_list_key(dataset, scale)}"
    images_path, labels_path = out / f"{stem}.images.npy", out / f"{stem}.labels.npy"
    labels = np.array([label for _, label in dataset.samples], dtype=np.int64)
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = lock_file(out / f"{stem}.lock")  # another process decoding the same folder: wait for it
    except OSError as err:
        raise DataNotFound(f"cannot write the decoded images to {out} ({err.strerror or err}): choose a folder "
                           "you can write to (--cache-dir, or ALEXNET_CACHE_DIR for the book's cache)") from err
    try:
        if not images_path.exists():
            _decode_into(dataset, images_path, scale, workers, progress, f"decoding {folder} once")
        try:
            same = np.array_equal(np.load(labels_path, allow_pickle=False), labels)
        except (OSError, ValueError, EOFError):  # missing or damaged: the images are what counts
            same = False
        if not same:
            _write_atomically(labels_path, lambda tmp: np.save(tmp, labels))
        try:
            images = np.load(images_path, mmap_mode="c")
        except (OSError, ValueError) as err:
            raise DataDamaged(f"{images_path} cannot be read ({err}); delete it and run again to decode the "
                              "images anew") from err
        if images.shape != (len(labels), 3, scale, scale) or images.dtype != np.uint8:
            raise DataDamaged(f"{images_path} holds {images.dtype} {images.shape}, not the {len(labels)} images of "
                              f"{folder}; delete it and run again")
    finally:
        unlock_file(out / f"{stem}.lock", lock)
    # copy-on-write: pages are read from the file as needed and shared, and the array is
    # writable (torch.from_numpy takes it without a warning) while the file stays as it is
    return PreDecoded(images, labels, dataset.classes, paths=[path for path, _ in dataset.samples])


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(path.name + ".tmp.npy")
    write(tmp)
    os.replace(tmp, path)


def _decode_into(dataset: ImageFolderDataset, images_path: Path, scale: int, workers: int, progress: bool,
                 what: str) -> None:
    """Decode every image of ``dataset`` into the ``.npy`` file ``images_path``, written under a
    temporary name and renamed when complete; a full disk is said before decoding starts."""
    needed = len(dataset) * 3 * scale * scale
    free = shutil.disk_usage(images_path.parent).free
    if needed > free:
        raise DataNotFound(f"the decoded images need {needed / 1e9:.1f} GB and {images_path.parent} has "
                           f"{free / 1e9:.1f} GB free: free some space or choose another cache folder")
    tmp = images_path.with_name(images_path.name + ".tmp")
    try:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(dataset), 3, scale, scale))
        # its own generator: decoding must not move PyTorch's global random state
        loader = DataLoader(dataset, batch_size=64, num_workers=workers, shuffle=False, generator=torch.Generator())
        start = 0
        try:
            for x, _ in tqdm(loader, desc=what, unit="batch", disable=not progress or progress_bars_off()):
                array[start:start + len(x)] = x.numpy()
                start += len(x)
        except BadImage as err:  # from a worker process, its message is wrapped in a traceback
            message = str(err).strip().splitlines()[-1].removeprefix(f"{BadImage.__module__}.BadImage: ")
            raise BadImage(message, path=err.path) from None
        array.flush()
        del array
        os.replace(tmp, images_path)
    finally:
        tmp.unlink(missing_ok=True)

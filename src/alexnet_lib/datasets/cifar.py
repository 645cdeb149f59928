"""CIFAR-10: its ``.npz`` copies, its official batch files (read as data only, no pickled code
runs), or its download.
"""

from __future__ import annotations

import codecs
import os
import pickle
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .downloads import _download_override, _extract, download
from .policy import (
    ENV_VAR,
    ArrayDataset,
    DataDamaged,
    DataError,
    DataNotFound,
    DownloadFailed,
    _where,
    cache_dir,
    describe_folder,
    search_roots,
)

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_NPZ_NAMES",
    "CIFAR10_SHA256",
    "CIFAR10_URL",
    "cifar10_location",
    "load_cifar10",
]

# .npz files with arrays x_train, y_train, x_test, y_test (HWC uint8), e.g. a subset.
CIFAR10_NPZ_NAMES = ("cifar10.npz", "cifar10_subset.npz")



def _cifar_from_npz(path: Path, split: str) -> ArrayDataset:
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {f"x_{split}", f"y_{split}"} - set(data.files)
            if missing:
                raise DataDamaged(
                    f"{path} has no {sorted(missing)}: a CIFAR-10 .npz needs x_train, y_train, x_test, y_test"
                )
            images = data[f"x_{split}"]
            labels = data[f"y_{split}"]
            names = tuple(str(n) for n in data["class_names"]) if "class_names" in data.files else CIFAR10_CLASSES
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:  # not an .npz, truncated, pickled
        raise DataDamaged(f"{path} cannot be read as a CIFAR-10 .npz ({type(err).__name__}: {err}). Replace it, "
                          "or delete it to use CIFAR-10's official files.") from None
    if images.ndim != 4 or images.shape[1:] != (32, 32, 3) or images.dtype != np.uint8:
        raise DataDamaged(f"{path}: x_{split} should be (N, 32, 32, 3) uint8, got {images.shape} {images.dtype}")
    if labels.dtype.kind not in "iu":
        raise DataDamaged(f"{path}: y_{split} should hold whole class numbers, got {labels.dtype}")
    labels = labels.astype(np.int64)
    _check_labels(labels, len(images), len(names), f"{path}: y_{split}")
    note = ""
    if path.name == "cifar10_subset.npz":  # the book's offline subset: say what it is, wherever a number is shown
        note = ("; a balanced subset, decoded from JPEG files of quality 75, so its pixels differ slightly from "
                "CIFAR-10's (see its README)")
    return ArrayDataset(images, labels, names,
                        f"CIFAR-10 ({path.name}, {split}: {len(labels):,} images{note}) from {path.parent.name}/")


def _check_labels(labels: np.ndarray, n: int, classes: int, what: str) -> None:
    """Refuse labels that do not give one class in 0..classes-1 to each of ``n`` images."""
    if labels.shape != (n,):
        raise DataDamaged(f"{what}: expected {n} labels, one per image, got shape {labels.shape}")
    if n and (labels.min() < 0 or labels.max() >= classes):
        raise DataDamaged(f"{what}: labels must be classes 0 to {classes - 1}, got {labels.min()} to {labels.max()}")


def _plain_data_globals() -> dict[tuple[str, str], Callable]:
    """The only things a CIFAR-10 batch file may ask the unpickler for: numpy's array and dtype
    reconstruction (in numpy 1's and numpy 2's module names, pickle protocols 2 to 5), and the
    byte-string helper of protocol 2. Nothing that runs a command or imports a module."""
    reconstruct = np.zeros(1).__reduce__()[0]  # numpy's _reconstruct, wherever this numpy keeps it
    allowed: dict[tuple[str, str], Callable] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                                                ("_codecs", "encode"): codecs.encode}
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        if getattr(frombuffer, "__name__", "") == "_frombuffer":
            allowed[(f"{core}.numeric", "_frombuffer")] = frombuffer
    return allowed


class _Refused(pickle.UnpicklingError):
    """A pickle asked for something that plain data never needs."""


class _PlainDataUnpickler(pickle.Unpickler):
    """An unpickler for data only: dicts, lists, numbers, strings, bytes and numpy arrays.

    A pickle can name any function for the unpickler to call (``os.system``, say): a batch
    file that asks for anything outside :func:`_plain_data_globals` is refused before it is
    called, so a crafted file in a data folder runs nothing.
    """

    allowed = _plain_data_globals()

    def find_class(self, module: str, name: str) -> Callable:
        found = self.allowed.get((module, name))
        if found is None:
            raise _Refused(f"it asks for {module}.{name}, which a CIFAR-10 batch never needs")
        return found


def _read_cifar_batch(path: Path, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The images ``(N, 32, 32, 3)`` and labels of one batch file, read as data (no code runs)."""
    fix = f"Delete {describe_folder(folder)} and download CIFAR-10 again (or restore the file)."
    try:
        with open(path, "rb") as f:
            batch = _PlainDataUnpickler(f, encoding="bytes").load()
    except _Refused as err:
        raise DataDamaged(f"{path} is not a CIFAR-10 batch: {err}. It was not read further (a file like this "
                          f"can run commands). {fix}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            OverflowError, MemoryError) as err:
        raise DataDamaged(f"{path} is not a CIFAR-10 batch: it is truncated or damaged ({type(err).__name__}). "
                          f"{fix}") from None
    if not isinstance(batch, dict):
        raise DataDamaged(f"{path} is not a CIFAR-10 batch: it holds a {type(batch).__name__}, not a dict. {fix}")
    values, labels = batch.get(b"data", batch.get("data")), batch.get(b"labels", batch.get("labels"))
    if values is None or labels is None:
        raise DataDamaged(f"{path} is not a CIFAR-10 batch: it has no data or no labels. {fix}")
    try:
        values = np.asarray(values)
        labels = np.asarray(labels)
        if values.dtype.kind not in "iu" or labels.dtype.kind not in "iu" or values.ndim != 2 \
                or values.shape[1] != 3 * 32 * 32 or (values.size and (values.min() < 0 or values.max() > 255)):
            raise ValueError(f"data of {values.dtype} {values.shape}")
    except (ValueError, TypeError) as err:
        raise DataDamaged(f"{path} is not a CIFAR-10 batch: its data should be (N, 3072) bytes ({err}). {fix}") from None
    labels = labels.astype(np.int64)
    try:
        _check_labels(labels, len(values), len(CIFAR10_CLASSES), str(path))
    except DataDamaged as err:
        raise DataDamaged(f"{err}: it is not a CIFAR-10 batch. {fix}") from None
    return values.astype(np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def _cifar_from_batches(folder: Path, split: str) -> ArrayDataset:
    """The official python version (``cifar-10-batches-py``), also torchvision's on-disk format.

    The files are Python pickles, which can name code to run; they are read with an unpickler
    that builds plain data only (:class:`_PlainDataUnpickler`), so a crafted file in a data
    folder is refused instead of run, and a truncated one is named.
    """
    files = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    images, labels = [], []
    for name in files:
        path = folder / name
        if not path.is_file():
            raise DataNotFound(f"{folder} is incomplete: {name} is missing. Delete the folder and download again.")
        x, y = _read_cifar_batch(path, folder)
        images.append(x)
        labels.append(y)
    x, y = np.concatenate(images), np.concatenate(labels)
    return ArrayDataset(x, y, CIFAR10_CLASSES, f"CIFAR-10 ({split}: {len(y):,} images) from {folder.name}/")


def cifar10_location(root: str | os.PathLike[str] | None = None) -> Path | None:
    """Where :func:`load_cifar10` would read CIFAR-10 from on this machine (an ``.npz`` file, the
    official folder or its archive), without reading it; ``None`` when it would download."""
    for folder in search_roots(root):
        for name in CIFAR10_NPZ_NAMES:
            if (folder / name).exists():
                return folder / name
        for batches in (folder / "cifar-10-batches-py", folder / "cifar10" / "cifar-10-batches-py"):
            if batches.is_dir():
                return batches
        if (folder / "cifar-10-python.tar.gz").exists():
            return folder / "cifar-10-python.tar.gz"
    return None


def _find_cifar(root: Path, split: str) -> ArrayDataset | None:
    for name in CIFAR10_NPZ_NAMES:
        if (root / name).exists():
            return _cifar_from_npz(root / name, split)
    for folder in (root / "cifar-10-batches-py", root / "cifar10" / "cifar-10-batches-py"):
        if folder.is_dir():
            return _cifar_from_batches(folder, split)
    archive = root / "cifar-10-python.tar.gz"
    if archive.exists():
        _extract_cifar(archive, root)
        return _cifar_from_batches(root / "cifar-10-batches-py", split)
    return None



def _extract_cifar(archive: Path, root: Path) -> None:
    _extract(archive, root, _download_override(CIFAR10_URL, CIFAR10_SHA256)[1], "CIFAR-10")


def load_cifar10(
    split: str = "train", *, root: str | os.PathLike[str] | None = None, download_ok: bool = True, progress: bool = True
) -> ArrayDataset:
    """CIFAR-10 (Krizhevsky, 2009): 32x32 colour photos of 10 classes.

    Found as ``cifar10.npz`` / ``cifar10_subset.npz`` (arrays ``x_train``, ``y_train``,
    ``x_test``, ``y_test``), as the official ``cifar-10-batches-py/`` folder (torchvision
    keeps the same), or as its archive, in each of :func:`search_roots`; else downloaded
    (163 MB, SHA-256 checked) into :func:`cache_dir` when ``download_ok``.

    Returns:
        images ``(N, 32, 32, 3)`` uint8 and labels ``(N,)``.

    Raises:
        ValueError: for a split other than ``"train"`` or ``"test"``.
        DataNotFound: nothing found and no download allowed (or possible).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    roots = search_roots(root)
    for folder in roots:
        found = _find_cifar(folder, split)
        if found is not None:
            return found
    where = _where(roots)
    if not download_ok:
        raise DataNotFound(
            f"CIFAR-10 is not in {where}. Set {ENV_VAR} to a folder that holds cifar-10-batches-py/ "
            f"or cifar10.npz, or allow the download (download_ok=True)."
        )
    try:
        archive = download(CIFAR10_URL, cache_dir() / "cifar-10-python.tar.gz", CIFAR10_SHA256, progress=progress)
    except DownloadFailed as err:
        raise DataNotFound(f"CIFAR-10 is not in {where}, and {err}") from err
    _extract_cifar(archive, archive.parent)
    return _cifar_from_batches(archive.parent / "cifar-10-batches-py", split)

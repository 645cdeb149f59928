"""Where the book looks for its data (the data policy), the errors that say what is missing and
how to fix it, and ``ArrayDataset``, the arrays every embedded or CIFAR-10 loader returns.
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CACHE_VAR",
    "CHECKOUT_DATA",
    "ENV_VAR",
    "TEST_DOWNLOADS_VAR",
    "ArrayDataset",
    "ChecksumMismatch",
    "DataDamaged",
    "DataError",
    "DataNotFound",
    "DownloadFailed",
    "UnsafeArchive",
    "cache_dir",
    "describe_folder",
    "search_roots",
]


ENV_VAR = "ALEXNET_DATA_DIR"
# Where downloads and the chapters' training runs go, when not the default (see cache_dir):
# in Colab, for example, a Google Drive folder, so that runs outlive the session.
CACHE_VAR = "ALEXNET_CACHE_DIR"
# For the book's own test of a student's installation only (tools/student_path.py): a JSON file
# that maps a download's address to one on this machine, {url: {"url": "http://127.0.0.1:...",
# "sha256": ...}}, so that the chapters download small copies through the code a student runs.
TEST_DOWNLOADS_VAR = "ALEXNET_TEST_DOWNLOADS"


class DataError(Exception):
    """Any of the problems below: data that is missing, damaged, or could not be fetched.
    The message names the file and the fix; catch this class to catch them all."""


class DataNotFound(FileNotFoundError, DataError):
    """A dataset is not on this machine and could not be downloaded."""


class DataDamaged(DataNotFound):
    """A dataset's file is there but cannot be used: truncated, damaged, or not what its name says."""


class DownloadFailed(DataNotFound):
    """A download did not complete (no network, the server refused, or it stopped half-way): the
    data is not here, so code that falls back where data is missing falls back here too."""


class ChecksumMismatch(ValueError, DataError):
    """A downloaded or cached file does not have the SHA-256 it should."""


class UnsafeArchive(tarfile.TarError, DataError):
    """An archive holds a link, a device or another special member: refused, nothing unpacked."""


@dataclass(frozen=True)
class ArrayDataset:
    """Images and labels in memory.

    Attributes:
        images: ``(N, H, W, C)`` uint8 (photos) or ``(N, H, W)`` float (digits).
        labels: ``(N,)`` int64 class indices.
        class_names: name of each class index.
        source: what was loaded and from where, in words (print it).
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, n: int, *, seed: int | None = None) -> ArrayDataset:
        """The first ``n`` examples (or ``n`` random ones when ``seed`` is given)."""
        if not 0 <= n <= len(self):
            raise ValueError(f"asked for {n} examples, but the dataset has {len(self)}")
        index = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(len(self))[:n]
        return ArrayDataset(self.images[index], self.labels[index], self.class_names, f"{self.source}, {n} of them")


# ``data/`` of the book's checkout, where the library runs from one (see :func:`cache_dir`)
CHECKOUT_DATA = Path(__file__).resolve().parents[3] / "data"


def cache_dir() -> Path:
    """The book's download and run cache: the folder ``ALEXNET_CACHE_DIR`` names where it is set,
    else ``data/`` in a checkout, else ``~/.cache/alexnet-book``."""
    chosen = os.environ.get(CACHE_VAR)
    if chosen:
        return Path(chosen).expanduser()
    if (CHECKOUT_DATA / "README.md").exists() and (CHECKOUT_DATA.parent / "pyproject.toml").exists():
        return CHECKOUT_DATA
    return Path.home() / ".cache" / "alexnet-book"


def describe_folder(path: Path) -> str:
    """A folder as a reader would name it: a folder that ``ALEXNET_DATA_DIR`` or
    ``ALEXNET_CACHE_DIR`` names by the variable (``$ALEXNET_DATA_DIR``), the checkout's ``data/``
    by that name, a folder in the home directory from ``~``, any other folder by its full path.
    Messages name data folders this way, so that a rendered page shows no path of the machine
    that built it."""
    path = Path(path)
    for var in (ENV_VAR, CACHE_VAR):
        chosen = os.environ.get(var)
        if chosen and path == Path(chosen).expanduser():
            return f"${var}"
    try:
        inside = path.resolve().relative_to(CHECKOUT_DATA)
    except ValueError:
        pass
    else:
        if cache_dir() == CHECKOUT_DATA:
            return f"the book's {Path('data', inside).as_posix()}/ folder"
    try:
        return f"~/{path.relative_to(Path.home()).as_posix()}"
    except ValueError:
        return str(path)


def _cache_fix() -> str:
    """What to do when the cache cannot be written."""
    if os.environ.get(CACHE_VAR):
        return f"Point {CACHE_VAR} at a folder you can write to, or unset it."
    return f"Make it writable, or set {CACHE_VAR} to a folder you can write to."


def _where(roots: list[Path]) -> str:
    return ", ".join(describe_folder(r) for r in roots)


def search_roots(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched, in order: ``root`` (or ``ALEXNET_DATA_DIR``), then the cache."""
    roots = []
    first = root if root is not None else os.environ.get(ENV_VAR) or None
    if first is not None:
        path = Path(first).expanduser()
        if not path.is_dir():
            source = "root" if root is not None else ENV_VAR
            raise DataNotFound(f"{source} points to {path}, which is not a folder; fix the path or unset it")
        roots.append(path)
    roots.append(cache_dir())
    return roots

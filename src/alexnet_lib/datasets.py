"""Datasets as numpy arrays, found by the book's data policy.

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
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import json
import http.client
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from .profiles import progress_bars_off

try:  # file locks (Linux, macOS); Windows has none of this kind, and runs there are not kept apart
    import fcntl
except ImportError:  # pragma: no cover (Windows)
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CACHE_VAR",
    "CHECKOUT_DATA",
    "ArrayDataset",
    "ChecksumMismatch",
    "DataDamaged",
    "DataError",
    "DataNotFound",
    "DownloadFailed",
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
    "readable",
    "search_roots",
    "sort_imagenet_val",
    "synthetic_images",
    "TEST_DOWNLOADS_VAR",
]

ENV_VAR = "ALEXNET_DATA_DIR"
# Where downloads and the chapters' training runs go, when not the default (see cache_dir):
# in Colab, for example, a Google Drive folder, so that runs outlive the session.
CACHE_VAR = "ALEXNET_CACHE_DIR"
# For the book's own test of a student's installation only (tools/student_path.py): a JSON file
# that maps a download's address to one on this machine, {url: {"url": "http://127.0.0.1:...",
# "sha256": ...}}, so that the chapters download small copies through the code a student runs.
TEST_DOWNLOADS_VAR = "ALEXNET_TEST_DOWNLOADS"

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
# .npz files with arrays x_train, y_train, x_test, y_test (HWC uint8), e.g. a subset.
CIFAR10_NPZ_NAMES = ("cifar10.npz", "cifar10_subset.npz")


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
CHECKOUT_DATA = Path(__file__).resolve().parents[2] / "data"


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


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks of a megabyte."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _test_download(url: str, sha256: str) -> tuple[str, str]:
    """``(url, sha256)``, or the local stand-in that ``ALEXNET_TEST_DOWNLOADS`` names for ``url``
    (the book's student-path test; only addresses on this machine are accepted)."""
    manifest = os.environ.get(TEST_DOWNLOADS_VAR)
    if not manifest:
        return url, sha256
    try:
        entry = json.loads(Path(manifest).read_text()).get(url)
    except (OSError, ValueError) as err:
        raise DownloadFailed(f"{TEST_DOWNLOADS_VAR} names {manifest}, which is not a readable JSON file ({err}); "
                             "unset it (it is for the book's tests)") from err
    if entry is None:
        return url, sha256
    local = str(entry["url"])
    if urllib.parse.urlsplit(local).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise DownloadFailed(f"{TEST_DOWNLOADS_VAR} may only point to this machine, not {local}; unset it")
    return local, str(entry["sha256"])


def download(url: str, dest: Path, sha256: str, *, progress: bool = True, timeout: float = 60) -> Path:
    """Download ``url`` to ``dest`` atomically and verify its SHA-256.

    ``sha256`` is the file's full hex digest, or its first characters (at least 8) where
    only a prefix is published, as for torchvision's weight files, whose names carry the
    first 8 hex digits of their SHA-256. An existing ``dest`` with the right checksum is reused. The file is written under a
    temporary name and renamed only once complete and verified, so an interrupted or
    corrupted download never leaves a file that looks valid.

    Raises:
        DownloadFailed: no network, or the server failed; the message says how to fetch it by hand.
        ChecksumMismatch: the downloaded bytes are not the expected file (nothing is kept).
    """
    dest = Path(dest)
    url, sha256 = _test_download(url, sha256)
    sha256 = sha256.lower()
    if len(sha256) < 8 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"sha256 must be a hex digest or a prefix of at least 8 hex digits, got {sha256!r}")
    if dest.exists():
        if file_sha256(dest).startswith(sha256):
            return dest
        raise ChecksumMismatch(
            f"{dest} exists but its SHA-256 is not {sha256}: it is corrupt or a different file. "
            "Delete it and try again."
        )
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    except OSError as err:
        raise DownloadFailed(f"cannot write to {describe_folder(dest.parent)} ({err.strerror or err}), where "
                             f"{dest.name} would be downloaded. {_cache_fix()}") from err
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    fix = (f"Without a network, download it elsewhere, check that its SHA-256 is {sha256}, and put it at "
           f"{dest} (or set {ENV_VAR} to a folder that holds the data).")
    try:
        try:
            response = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 (fixed https URLs)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
            os.close(fd)
            raise DownloadFailed(f"could not download {url} ({err}). {fix}") from err
        total = int(response.headers.get("Content-Length") or 0) or None
        received = 0
        try:
            with response, os.fdopen(fd, "wb") as out, tqdm(
                total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress or progress_bars_off()
            ) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
                    digest.update(block)
                    received += len(block)
                    bar.update(len(block))
        except (OSError, http.client.HTTPException) as err:  # a stalled or cut connection, a full disk
            raise DownloadFailed(f"the download of {url} stopped ({type(err).__name__}: {err}); nothing was "
                                 f"kept. Try again later. {fix}") from err
        if total is not None and received != total:  # the server closed the connection early
            raise DownloadFailed(f"the download of {url} stopped after {received:,} of {total:,} bytes; nothing was "
                                 f"kept. Try again later. {fix}")
        if not digest.hexdigest().startswith(sha256):
            raise ChecksumMismatch(
                f"{url} downloaded with SHA-256 {digest.hexdigest()}, expected {sha256}; it was not kept. "
                "The server may have sent an error page or a changed file."
            )
        os.replace(tmp, dest)
        return dest
    finally:
        tmp.unlink(missing_ok=True)


# --- CIFAR-10 ------------------------------------------------------------------


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


def lock_file(path: Path, *, wait: bool = True) -> int | None:
    """Take the exclusive lock of ``path`` (created if needed); returns its descriptor for
    :func:`unlock_file`, or ``None`` where this system or file system has no such locks.

    The lock belongs to the process: the kernel lets go of it when the process ends, however
    it ends (SIGKILL included), so a lock file left behind by a killed process is free again.
    Raises ``BlockingIOError`` when another process holds it and ``wait`` is false.
    """
    if fcntl is None:
        return None
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            raise
        except OSError:  # a file system without locks
            os.close(fd)
            return None
        try:  # the holder before us may have removed the file as we opened it: lock the one in place
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def unlock_file(path: Path, fd: int | None) -> None:
    """Remove the lock file taken with :func:`lock_file`, then let go of the lock."""
    if fd is None:
        return
    try:
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)


@contextmanager
def _unpacking(root: Path, archive: Path) -> Iterator[bool]:
    """One process at a time unpacks ``archive`` into ``root`` (others wait); yields whether the
    lock could be taken. Holding it, the staging folders that an earlier, killed unpack left
    behind (``.unpacking-<archive>-*``) are known to be nobody's, and are removed."""
    path = root / f".unpacking-{archive.name}.lock"
    fd = lock_file(path, wait=True)
    try:
        if fd is not None:
            for stale in root.glob(f".unpacking-{archive.name}-*"):
                if stale.is_dir():
                    shutil.rmtree(stale, ignore_errors=True)
        yield fd is not None
    finally:
        unlock_file(path, fd)


def _extract(archive: Path, root: Path, sha256: str, name: str,
             finish: Callable[[Path], None] | None = None) -> None:
    """Check ``archive`` against ``sha256``, then unpack it (``.tar.gz``/``.tgz`` or ``.zip``) into ``root``.

    It is unpacked into a temporary folder beside its destination, ``finish`` (if given) runs
    on that folder, and only then are its top-level entries renamed into ``root``: an
    interrupted unpack leaves a temporary folder, never a half-filled dataset that looks whole,
    and the next unpack of the same archive removes that folder. Archive members that would
    land outside the folder, links and special files are refused (``tarfile``'s ``"data"``
    filter); an archive that cannot be unpacked (truncated, damaged) raises :class:`DataDamaged`.
    """
    if file_sha256(archive) != sha256:
        raise ChecksumMismatch(f"{archive} does not have {name}'s SHA-256 {sha256}; delete it")

    def unsafe(names: list[str]) -> list[str]:
        return [n for n in names if n.startswith(("/", "..")) or ".." in Path(n).parts]

    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataNotFound(f"cannot unpack {archive.name} into {describe_folder(root)} ({err.strerror or err}). "
                           f"{_cache_fix()}") from err
    with _unpacking(root, archive), tempfile.TemporaryDirectory(dir=root, prefix=f".unpacking-{archive.name}-") as tmp:
        staging = Path(tmp)
        try:
            if archive.suffix == ".zip":
                with zipfile.ZipFile(archive) as z:
                    bad = unsafe(z.namelist())
                    if bad:
                        raise ChecksumMismatch(f"{archive} holds paths outside its folder: {bad[:3]}")
                    z.extractall(staging)  # noqa: S202 (checked above, and the SHA-256 too)
            else:
                with tarfile.open(archive, "r:gz") as tar:
                    bad = unsafe(tar.getnames())
                    if bad:
                        raise ChecksumMismatch(f"{archive} holds paths outside its folder: {bad[:3]}")
                    _extract_tar(tar, staging)
        except (tarfile.ReadError, tarfile.CompressionError, EOFError, zlib.error, gzip.BadGzipFile,
                zipfile.BadZipFile) as err:
            raise DataDamaged(f"{archive} cannot be unpacked: it is truncated or damaged ({type(err).__name__}: "
                              f"{err}); delete it and download it again.") from None
        except tarfile.TarError as err:
            if isinstance(err, UnsafeArchive):
                raise
            raise UnsafeArchive(f"{archive} holds a member that is refused ({type(err).__name__}: {err}); "
                                "nothing was unpacked. Is it the right file?") from err
        if finish is not None:
            finish(staging)
        for entry in staging.iterdir():
            target = root / entry.name
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(entry, target)


def _extract_tar(tar: tarfile.TarFile, staging: Path) -> None:
    """Unpack ``tar`` into ``staging``, files and folders only.

    Python 3.12, and 3.10.12 / 3.11.4 onwards, have ``tarfile``'s ``"data"`` filter; on the
    earlier 3.10 and 3.11 releases the same rule is applied here: links, devices and other
    special members are refused, and permissions are those of plain files.
    """
    if hasattr(tarfile, "data_filter"):
        tar.extractall(staging, filter="data")
        return
    members = tar.getmembers()
    special = [m.name for m in members if not (m.isfile() or m.isdir())]
    if special:
        raise UnsafeArchive(f"the archive holds links or special files, refused: {special[:3]}")
    for member in members:
        member.mode = 0o755 if member.isdir() else 0o644
    tar.extractall(staging, members=members)  # noqa: S202 (paths and member types checked above)


def _extract_cifar(archive: Path, root: Path) -> None:
    _extract(archive, root, _test_download(CIFAR10_URL, CIFAR10_SHA256)[1], "CIFAR-10")


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


# --- Imagenette and Tiny ImageNet: image folders ------------------------------------

# Both releases are archives of JPEG files in ImageNet's layout (train/<wnid>/, val/...). The
# SHA-256 digests and sizes are those listed in TensorFlow Datasets' checksum files
# (url_checksums/imagenette.txt and tiny_imagenet.txt); data/SHA256SUMS repeats them.
IMAGENETTE = {
    "160": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",
            "88daccb09b6fce93f45e6c09ddeb269cce705549e6bff322092a2a5a11489863", 98_948_031),
    "320": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz",
            "5020a9130cea0348272823cb12d2db7e981c6f2afa3dce71ccd5b8013005c55e", 341_553_947),
    "full": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2.tgz",
             "de32de18a7d8df0114d5e2c3c14cafb9558e8f00441a73aa7953681ad02be49c", 1_556_914_727),
}
TINY_IMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
TINY_IMAGENET_SHA256 = "6198c8ae015e2b3e007c7841da39ec069199b9aa3bfa943a462022fe5e43c821"
TINY_IMAGENET_BYTES = 248_100_043


def _image_release(folder_name: str, url: str, sha256: str, size: int, name: str,
                   root: str | os.PathLike[str] | None, download_ok: bool, progress: bool,
                   finish: Callable[[Path], None] | None = None) -> Path:
    """The unpacked folder of an image-folder release: found in a data root (unpacked, or as its
    archive), or downloaded into the cache, checked against its SHA-256 and unpacked there.
    ``finish`` completes a freshly unpacked copy before it is put in place."""
    sha256 = _test_download(url, sha256)[1]
    roots = search_roots(root)
    archive_name = url.rsplit("/", 1)[1]
    for folder in roots:
        if (folder / folder_name / "train").is_dir():
            return folder / folder_name
    for folder in roots:
        if (folder / archive_name).is_file():
            _extract(folder / archive_name, folder, sha256, name, finish)
            return folder / folder_name
    where = _where(roots)
    if not download_ok:
        raise DataNotFound(f"{name} is not in {where}. Set {ENV_VAR} to a folder that holds {folder_name}/ or "
                           f"{archive_name}, or allow the download ({size / 1e6:,.0f} MB; download_ok=True).")
    try:
        archive = download(url, cache_dir() / archive_name, sha256, progress=progress)
    except DownloadFailed as err:
        raise DataNotFound(f"{name} is not in {where}, and {err}") from err
    _extract(archive, archive.parent, sha256, name, finish)
    return archive.parent / folder_name


# Imagenette's ten classes: their WordNet ids (its folder names, in sorted order) and names.
IMAGENETTE_CLASSES = {
    "n01440764": "tench", "n02102040": "English springer", "n02979186": "cassette player",
    "n03000684": "chain saw", "n03028079": "church", "n03394916": "French horn",
    "n03417042": "garbage truck", "n03425413": "gas pump", "n03445777": "golf ball", "n03888257": "parachute",
}


def readable(classes: list[str]) -> list[str]:
    """Class names a reader understands: Imagenette's WordNet ids become "tench", "church"...;
    other names are kept."""
    return [IMAGENETTE_CLASSES.get(c, c) for c in classes]


# A copy of Imagenette with every photograph resized to 224 x 224 (whole, not cropped) has no
# official archive: it is used where it is found, never downloaded.
IMAGENETTE_224 = "imagenette2-224"


def load_imagenette(size: str = "160", *, root: str | os.PathLike[str] | None = None, download_ok: bool = True,
                    progress: bool = True) -> Path:
    """Imagenette (version 2): ten easy ImageNet classes, 9,469 training and 3,925 validation photos.

    ``size`` picks the release: ``"160"`` or ``"320"`` (shorter side scaled to 160 or 320
    pixels; 99 MB and 342 MB) or ``"full"`` (the original photos, 1.6 GB), found unpacked
    (``imagenette2-160/``...) or as its archive in each of :func:`search_roots`, else downloaded
    into :func:`cache_dir` when ``download_ok``, SHA-256 checked, and unpacked. ``"224"`` is a
    copy with every photo squashed to 224 x 224 (``imagenette2-224/``) that has no download:
    it is found in the data roots or not at all. Returns the folder, which holds
    ``train/<wnid>/`` and ``val/<wnid>/``: read it with :func:`alexnet_lib.data.imagenet_folder`
    or train on it with ``--dataset imagenette``.
    """
    if size == "224":
        roots = search_roots(root)
        for folder in roots:
            if (folder / IMAGENETTE_224 / "train").is_dir() and (folder / IMAGENETTE_224 / "val").is_dir():
                return folder / IMAGENETTE_224
        raise DataNotFound(f"Imagenette's 224 px copy ({IMAGENETTE_224}/) is not in "
                           f"{_where(roots)}, and it has no download. Set {ENV_VAR} to a folder "
                           f"that holds {IMAGENETTE_224}/, or use an official release: size '160', '320' or 'full'.")
    if size not in IMAGENETTE:
        raise ValueError(f"size must be one of {sorted([*IMAGENETTE, '224'])}, got {size!r}")
    url, sha256, nbytes = IMAGENETTE[size]
    folder_name = url.rsplit("/", 1)[1].removesuffix(".tgz")
    return _image_release(folder_name, url, sha256, nbytes, f"Imagenette ({size})", root, download_ok, progress)


def find_imagenette(size: str = "auto", *, root: str | os.PathLike[str] | None = None, download_ok: bool = True,
                    progress: bool = True) -> Path:
    """:func:`load_imagenette`, where ``size="auto"`` takes the 224 px copy when one is found, and
    otherwise the 320 px release (found or downloaded): the paper's 256 px squares need more than 160."""
    if size != "auto":
        return load_imagenette(size, root=root, download_ok=download_ok, progress=progress)
    try:
        return load_imagenette("224", root=root)
    except DataNotFound:
        return load_imagenette("320", root=root, download_ok=download_ok, progress=progress)


def load_tiny_imagenet(*, root: str | os.PathLike[str] | None = None, download_ok: bool = True,
                       progress: bool = True) -> Path:
    """Tiny ImageNet: 200 ImageNet classes at 64x64 pixels, 100,000 training and 10,000 validation images.

    Found or downloaded (248 MB, SHA-256 checked) like :func:`load_imagenette`. The release
    keeps its validation images in one flat folder with a table of labels; they are sorted
    into ``val/<wnid>/`` (:func:`sort_imagenet_val`) while the archive is unpacked, before the
    folder is put in place, so the returned folder always has ImageNet's layout. Its
    ``test/`` images have no public labels.
    """
    def sort_val(staging: Path) -> None:
        val = staging / "tiny-imagenet-200" / "val"
        flat, table = val / "images", val / "val_annotations.txt"
        if flat.is_dir():
            for image in flat.iterdir():
                shutil.move(str(image), str(val / image.name))
            flat.rmdir()
            sort_imagenet_val(val, table)

    return _image_release("tiny-imagenet-200", TINY_IMAGENET_URL, TINY_IMAGENET_SHA256, TINY_IMAGENET_BYTES,
                          "Tiny ImageNet", root, download_ok, progress, finish=sort_val)


def _read_val_labels(labels_file: Path) -> dict[str, str]:
    """``{file name: wnid}`` from "name wnid" lines or Kaggle's LOC_val_solution.csv."""
    labels: dict[str, str] = {}
    for number, line in enumerate(labels_file.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.lower().startswith("imageid,"):
            continue
        if "," in line:  # ILSVRC2012_val_00000001,n01751748 ... (boxes follow the wnid)
            name, rest = line.split(",", 1)
            wnid = rest.split()[0] if rest.split() else ""
            name += ".JPEG"
        else:  # "name wnid", or Tiny ImageNet's "name wnid x0 y0 x1 y1" (a box follows)
            parts = line.split()
            if len(parts) not in (2, 6):
                raise ValueError(f"{labels_file}:{number}: expected 'file_name wnid', got {line!r}")
            name, wnid = parts[:2]
        if not (wnid.startswith("n") and wnid[1:].isdigit()):
            raise ValueError(f"{labels_file}:{number}: {wnid!r} is not a WordNet id such as n01440764")
        labels[Path(name).name] = wnid
    return labels


def sort_imagenet_val(val_dir: str | os.PathLike[str], labels_file: str | os.PathLike[str], *,
                      copy: bool = False) -> dict[str, int]:
    """Move (or copy) the official flat ``ILSVRC2012_val_*.JPEG`` files into ``val_dir/<wnid>/``.

    ``labels_file`` gives each file's class as lines ``ILSVRC2012_val_00000001.JPEG n01751748``,
    or is Kaggle's ``LOC_val_solution.csv`` (``ImageId,PredictionString``). Files already
    sorted are left alone, so running it twice is safe. Returns ``{wnid: images}``.
    """
    val_dir, labels_file = Path(val_dir), Path(labels_file)
    if not val_dir.is_dir():
        raise FileNotFoundError(f"{val_dir} is not a folder")
    labels = _read_val_labels(labels_file)
    flat = sorted(p for p in val_dir.iterdir() if p.is_file() and p.suffix.lower() in (".jpeg", ".jpg", ".png"))
    missing = [p.name for p in flat if p.name not in labels]
    if missing:
        raise ValueError(f"{labels_file} has no label for {len(missing)} file(s) in {val_dir}, e.g. {missing[0]}; "
                         "is it the labels file of this validation set?")
    counts: dict[str, int] = {}
    for path in flat:
        wnid = labels[path.name]
        (val_dir / wnid).mkdir(exist_ok=True)
        (shutil.copy2 if copy else shutil.move)(str(path), str(val_dir / wnid / path.name))
        counts[wnid] = counts.get(wnid, 0) + 1
    return counts


# --- ImageNet photographs ----------------------------------------------------------


@dataclass(frozen=True)
class PhotoSet:
    """Photographs of different sizes, with their ImageNet classes where known.

    Attributes:
        images: list of ``(H, W, 3)`` uint8 arrays.
        labels: ImageNet class index of each photo (0-999), or -1 where unknown.
        names: a short name for each photo (its class name, or what it shows).
        source: what was loaded and from where, in words (print it).
    """

    images: list[np.ndarray]
    labels: np.ndarray
    names: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.images)


_SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")


def load_imagenet_samples(root: str | os.PathLike[str] | None = None, *, limit: int | None = None,
                          fallback_ok: bool = False) -> PhotoSet:
    """Real ImageNet photographs: the folder ``imagenet_samples/`` (with ``labels.csv``) in a data root.

    Looked for in :func:`search_roots`. Where it is not found, ``fallback_ok=True``
    returns scikit-image's few sample photographs instead (embedded, no labels) and says
    so in ``source``; otherwise :class:`DataNotFound` names the fix.
    """
    roots = search_roots(root)
    for folder in roots:
        table = folder / "imagenet_samples" / "labels.csv"
        if table.is_file():
            try:
                with open(table, newline="") as f:
                    rows = list(csv.DictReader(f))[:limit]
                images = []
                for row in rows:
                    with Image.open(table.parent / row["filename"]) as img:
                        images.append(np.array(img.convert("RGB")))
                labels = np.array([int(r["class_index"]) for r in rows], dtype=np.int64)
                names = tuple(r["class_name"].replace("_", " ") for r in rows)
            except (OSError, KeyError, ValueError, TypeError, AttributeError, csv.Error, SyntaxError) as err:
                raise DataDamaged(f"{table.parent} cannot be read ({type(err).__name__}: {err}): labels.csv needs the "
                                  "columns filename,wnid,class_index,class_name and every photo it names") from None
            return PhotoSet(images, labels, names, f"{len(images)} ImageNet photographs from {table.parent.name}/")
    where = _where(roots)
    if not fallback_ok:
        raise DataNotFound(f"imagenet_samples/labels.csv is not in {where}. Set {ENV_VAR} to the folder that "
                           "holds imagenet_samples/ (a folder of JPEG photos with a labels.csv of "
                           "filename,wnid,class_index,class_name).")
    from skimage import data as skdata

    names = _SKIMAGE_PHOTOS[:limit]
    images = []
    for name in names:
        img = np.asarray(getattr(skdata, name)())
        images.append(np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3])
    return PhotoSet(images, np.full(len(images), -1), names,
                    f"imagenet_samples/ is not in the data folders ({ENV_VAR}, the book's data/): showing "
                    f"scikit-image's {len(images)} sample "
                    "photographs instead (embedded; not ImageNet, no labels)")


# --- embedded datasets -----------------------------------------------------------


def load_digits() -> ArrayDataset:
    """scikit-learn's handwritten digits: 1,797 images of 8x8 pixels, values 0-16, 10 classes."""
    from sklearn.datasets import load_digits as sk_digits

    digits = sk_digits()
    return ArrayDataset(
        digits.images.astype(np.float32),
        digits.target.astype(np.int64),
        tuple(str(d) for d in range(10)),
        f"scikit-learn digits (embedded, {len(digits.target):,} images of 8x8)",
    )


def synthetic_images(n: int = 1000, size: int = 32, classes: int = 10, *, seed: int = 0) -> ArrayDataset:
    """A generated dataset of striped colour patches, one orientation and hue per class.

    Learnable in a few epochs by a small CNN, and made without any download: the
    ``smoke`` profile and the tests use it where real photos are not at hand.
    """
    if not all(isinstance(v, (int, np.integer)) for v in (n, size, classes)) or n < 1 or size < 4 or classes < 2:
        raise ValueError(f"need whole numbers n >= 1, size >= 4 and classes >= 2, got n={n!r}, size={size!r}, "
                         f"classes={classes!r}")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angles = np.pi * labels / classes + rng.normal(0, 0.05, n)
    freq = rng.uniform(2.5, 4.0, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    stripes = np.sin(2 * np.pi * freq[:, None, None]
                     * (np.cos(angles)[:, None, None] * xx + np.sin(angles)[:, None, None] * yy) + phase[:, None, None])
    hue = labels / classes
    colour = 0.5 + 0.5 * np.stack([np.cos(2 * np.pi * (hue + k / 3)) for k in range(3)], axis=-1)  # (n, 3)
    images = 0.5 + 0.35 * stripes[..., None] * colour[:, None, None, :] + rng.normal(0, 0.08, (n, size, size, 3))
    images = (np.clip(images, 0, 1) * 255).astype(np.uint8)
    return ArrayDataset(
        images, labels.astype(np.int64), tuple(f"class {k}" for k in range(classes)),
        f"generated stripes (embedded, {n:,} images of {size}x{size}, seed {seed})",
    )

"""Downloads checked against their SHA-256, archives unpacked atomically, releases of image
folders found or fetched (:func:`image_release`), and the file locks that keep two processes apart.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
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
from pathlib import Path

from tqdm.auto import tqdm

from ..profiles import progress_bars_off
from .policy import (
    ENV_VAR,
    TEST_DOWNLOADS_VAR,
    ChecksumMismatch,
    DataDamaged,
    DataNotFound,
    DownloadFailed,
    UnsafeArchive,
    _cache_fix,
    _where,
    cache_dir,
    describe_folder,
    search_roots,
)

__all__ = [
    "download",
    "file_sha256",
    "image_release",
    "lock_file",
    "unlock_file",
]


try:  # file locks (Linux, macOS); Windows has none of this kind, and runs there are not kept apart
    import fcntl
except ImportError:  # pragma: no cover (Windows)
    fcntl = None  # type: ignore[assignment]


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks of a megabyte."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_override(url: str, sha256: str) -> tuple[str, str]:
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
    url, sha256 = _download_override(url, sha256)
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


def image_release(folder_name: str, url: str, sha256: str, size: int, name: str,
                   root: str | os.PathLike[str] | None, download_ok: bool, progress: bool,
                   finish: Callable[[Path], None] | None = None) -> Path:
    """The unpacked folder of an image-folder release: found in a data root (unpacked, or as its
    archive), or downloaded into the cache, checked against its SHA-256 and unpacked there.
    ``finish`` completes a freshly unpacked copy before it is put in place."""
    sha256 = _download_override(url, sha256)[1]
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

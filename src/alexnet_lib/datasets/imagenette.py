"""Imagenette and Tiny ImageNet: image folders found, or downloaded and unpacked.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from .downloads import _extract, _test_download, download
from .imagenet import sort_imagenet_val
from .policy import ENV_VAR, DataNotFound, DownloadFailed, _where, cache_dir, search_roots

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

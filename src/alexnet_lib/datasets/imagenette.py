"""Imagenette: ten easy ImageNet classes, found as image folders or downloaded and unpacked.
"""

from __future__ import annotations

import os
from pathlib import Path

from .downloads import image_release
from .policy import ENV_VAR, DataNotFound, _where, search_roots

__all__ = [
    "IMAGENETTE",
    "IMAGENETTE_224",
    "IMAGENETTE_CLASSES",
    "find_imagenette",
    "load_imagenette",
    "readable",
]


# Its releases are archives of JPEG files in ImageNet's layout (train/<wnid>/, val/...). The
# SHA-256 digests and sizes are those listed in TensorFlow Datasets' checksum file
# (url_checksums/imagenette.txt); data/SHA256SUMS repeats them.
IMAGENETTE = {
    "160": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",
            "88daccb09b6fce93f45e6c09ddeb269cce705549e6bff322092a2a5a11489863", 98_948_031),
    "320": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz",
            "5020a9130cea0348272823cb12d2db7e981c6f2afa3dce71ccd5b8013005c55e", 341_553_947),
    "full": ("https://s3.amazonaws.com/fast-ai-imageclas/imagenette2.tgz",
             "de32de18a7d8df0114d5e2c3c14cafb9558e8f00441a73aa7953681ad02be49c", 1_556_914_727),
}
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
    return image_release(folder_name, url, sha256, nbytes, f"Imagenette ({size})", root, download_ok, progress)


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

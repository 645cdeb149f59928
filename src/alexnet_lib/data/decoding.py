"""Reading images: one file (``read_image``), an ImageNet-style folder, and a check for unreadable files.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import has_file_allowed_extension
from torchvision.io import ImageReadMode, decode_image
from tqdm.auto import tqdm

from ..datasets import DataNotFound
from ..profiles import progress_bars_off

__all__ = [
    "BadImage",
    "ImageFolderDataset",
    "find_unreadable",
    "imagenet_folder",
    "read_image",
]

# --- reading images ------------------------------------------------------------------


class BadImage(ValueError):
    """A file that should be an image cannot be read as one; ``path`` names it (where known)."""

    def __init__(self, message: str, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        self.path = Path(path) if path is not None else None


def _to_uint8(image: torch.Tensor) -> torch.Tensor:
    """Deeper images (16-bit PNGs decode as ``uint16``) scaled to 8 bits, rounded: 65535 becomes 255."""
    if image.dtype == torch.uint8:
        return image
    if image.dtype == torch.uint16:
        return torch.round(image.to(torch.float32) * (255 / 65535)).to(torch.uint8)
    raise BadImage(f"an image decoded as {image.dtype}, which is not 8 or 16 bits per channel")


def read_image(path: str | os.PathLike[str]) -> torch.Tensor:
    """Read an image file as an RGB ``uint8`` tensor ``(3, H, W)``.

    ``torchvision.io`` decodes it; where it cannot (BMP, TIFF and the other formats it lacks),
    Pillow does. Greyscale, palette and CMYK images are converted to RGB and an alpha channel is
    dropped; 16-bit images are scaled to 8 bits. Raises :class:`BadImage` (naming the file and what to do) for a truncated
    or corrupt file, or one that is not an image.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise BadImage(f"{path} cannot be read ({err})", path=path) from err
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # libjpeg's "premature end of data" is a truncated file
            # torchvision 0.29 announces that its decoders will move to TorchCodec; they work today.
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            image = decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.RGB)
        return _to_uint8(image)  # 16-bit PNGs decode as uint16
    except (RuntimeError, ValueError, UserWarning):
        pass
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode.startswith("I") or img.mode == "F":  # 16- or 32-bit grey: Pillow's convert would clip
                grey = np.asarray(img, dtype=np.float64)
                peak = 65535.0 if img.mode.startswith("I;16") or grey.max(initial=0) > 255 else 255.0
                rgb = np.repeat(np.clip(np.round(grey * (255 / peak)), 0, 255).astype(np.uint8)[..., None], 3, axis=2)
            else:
                rgb = np.asarray(img.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise BadImage(
            f"{path} is not a readable image ({type(err).__name__}: {err}). It may be truncated or not an "
            "image at all: replace or delete it, or build the dataset with on_error='skip' to skip such "
            "files (they are counted in dataset.skipped).", path=path
        ) from err
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1).contiguous()


# --- ImageNet-style folders ---------------------------------------------------------


class ImageFolderDataset(ImageFolder):
    """torchvision's ``ImageFolder`` reading with :func:`read_image`, with clear errors.

    ``on_error="raise"`` (default) stops at the first unreadable image with a
    :class:`BadImage` naming it; ``"skip"`` gives the next readable image in its place,
    warns once per file, and records the file in ``skipped`` (per worker process).
    """

    def __init__(self, folder: str | os.PathLike[str], transform: Callable | None = None, on_error: str = "raise"):
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        super().__init__(str(folder), transform=transform, loader=read_image, allow_empty=True)
        self.on_error = on_error
        self.skipped: set[str] = set()
        counts = np.bincount([t for _, t in self.samples], minlength=len(self.classes))
        empty = [self.classes[i] for i in np.flatnonzero(counts == 0)]
        if empty:
            raise BadImage(
                f"{len(empty)} class folder(s) under {folder} hold no images (for example "
                f"{Path(folder) / empty[0]}). Every class needs at least one .jpg/.jpeg/.png file; "
                "remove the empty folders or finish copying the data."
            )

    @staticmethod
    def make_dataset(directory: str | os.PathLike[str], class_to_idx: dict[str, int],
                     extensions: tuple[str, ...] | None = None, is_valid_file: Callable[[str], bool] | None = None,
                     allow_empty: bool = False) -> list[tuple[str, int]]:
        """torchvision's list of ``(path, class)``, in the same order, with folder links followed
        only where they lead to images not yet listed under that class.

        A link back into its own folder or above it would list the same images again and
        again, and one into another class's folder would list that class's images under this
        class: such links are not followed (a warning names them). Links to folders elsewhere,
        the way large datasets are often assembled, are followed as before.
        """
        def valid(path: str) -> bool:
            if is_valid_file is not None:
                return is_valid_file(path)
            return has_file_allowed_extension(path, extensions or ())

        def inside(path: str, folder: str) -> bool:
            return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)

        split = os.path.realpath(directory)
        instances: list[tuple[str, int]] = []
        refused: list[str] = []
        for name in sorted(class_to_idx):
            top = os.path.join(directory, name)
            if not os.path.isdir(top):
                continue
            home = os.path.realpath(top)
            if inside(split, home):  # a class folder that is (a link to) the split or a folder above it
                refused.append(f"{top} -> {home}")
                continue
            seen = {home}
            walked = []
            for root, dirs, files in os.walk(top, followlinks=True):
                kept = []
                for d in dirs:
                    real = os.path.realpath(os.path.join(root, d))
                    if (real in seen or inside(home, real) or inside(split, real)
                            or (inside(real, split) and not inside(real, home))):
                        refused.append(f"{os.path.join(root, d)} -> {real}")
                    else:
                        seen.add(real)
                        kept.append(d)
                dirs[:] = kept
                walked.append((root, files))
            for root, files in sorted(walked):  # torchvision's order: by folder, then by file name
                instances += [(os.path.join(root, f), class_to_idx[name]) for f in sorted(files)
                              if valid(os.path.join(root, f))]
        if refused:
            warnings.warn(f"{len(refused)} folder link(s) under {directory} not followed: they lead back into "
                          f"a folder already read or into another class's folder (e.g. {refused[0]})", stacklevel=2)
        return instances

    def __getitem__(self, index: int):
        for attempt in range(min(len(self), 100)):
            try:
                return super().__getitem__((index + attempt) % len(self))
            except BadImage:
                if self.on_error == "raise":
                    raise
                path = self.samples[(index + attempt) % len(self)][0]
                if path not in self.skipped:
                    self.skipped.add(path)
                    warnings.warn(f"skipping unreadable image {path}", stacklevel=2)
        raise BadImage(f"100 unreadable images in a row in {self.root}: is the dataset corrupt?")


def imagenet_folder(root: str | os.PathLike[str], split: str = "train", transform: Callable | None = None,
                    on_error: str = "raise") -> ImageFolderDataset:
    """The ``split`` ("train" or "val") of an ImageNet-style folder: ``root/split/<class>/<image>``.

    Class indices follow the sorted folder names (for ImageNet, the wnids in order, which is
    the order of the 1000 outputs of torchvision's models). Raises
    :class:`~alexnet_lib.datasets.DataNotFound` with the fix when the folder is missing or laid out
    wrongly, and :class:`BadImage` for an empty class folder.
    """
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    root = Path(root).expanduser()
    folder = root / split
    layout = f"{root}/train/<wnid>/*.JPEG and {root}/val/<wnid>/*.JPEG"
    if not folder.is_dir():
        raise DataNotFound(f"{folder} does not exist. An ImageNet-style dataset is laid out as {layout}.")
    entries = list(folder.iterdir())
    if not any(e.is_dir() for e in entries):
        flat = sum(1 for e in entries if e.is_file())
        hint = (f" It holds {flat} files and no class folders: if it is the official flat validation folder, "
                "sort it with alexnet_lib.datasets.sort_imagenet_val(folder, labels_file).") if flat else ""
        raise DataNotFound(f"{folder} has no class folders; expected {layout}.{hint}")
    return ImageFolderDataset(folder, transform=transform, on_error=on_error)


def _looks_whole(path: str) -> bool:
    """A quick look at a file: its header is an image's and, for JPEG and PNG, it ends as one
    should. Files that fail are decoded in full before being called unreadable."""
    try:
        size = os.path.getsize(path)
        if size == 0:
            return False
        with Image.open(path) as img:  # reads the header, not the pixels
            kind = img.format
        with open(path, "rb") as f:
            f.seek(max(size - 12, 0))
            tail = f.read()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False
    if kind == "JPEG":
        return tail.endswith(b"\xff\xd9")
    if kind == "PNG":
        return tail.endswith(b"IEND\xaeB`\x82")
    return False  # other formats: decode them to be sure


def _unreadable(path: str) -> str | None:
    """Why ``path`` cannot be read as an image, or ``None`` when it can."""
    if _looks_whole(path):
        return None
    try:
        read_image(path)
    except BadImage as err:
        cause = err.__cause__
        return f"{type(cause).__name__}: {cause}" if cause is not None else str(err)
    return None


def find_unreadable(dataset: ImageFolderDataset, *, workers: int | None = None,
                    progress: bool = False) -> list[tuple[str, str]]:
    """The files of an image folder that cannot be read as images, with the reason: ``[(path, why)]``.

    Every file gets a quick look (an image's header, and a JPEG's or PNG's proper end, which
    a truncated copy lacks); the few that fail it are decoded in full, so a file is only named
    when :func:`read_image` cannot read it. Run before training, it finds in seconds what would
    otherwise stop a run in the middle of an epoch, or after its last one.
    """
    paths = [path for path, _ in dataset.samples]
    workers = workers or min(16, 2 * (os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        reasons = list(tqdm(pool.map(_unreadable, paths, chunksize=64), total=len(paths), leave=False,
                            desc=f"checking {Path(dataset.root).name}/", unit="file",
                            disable=not progress or progress_bars_off()))
    return [(path, why) for path, why in zip(paths, reasons) if why is not None]

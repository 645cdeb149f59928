"""Images for AlexNet: reading them, ImageNet-style folders, and the paper's augmentation.

**Reading.** :func:`read_image` decodes any JPEG/PNG/... to an RGB ``uint8`` tensor
``(3, H, W)`` with ``torchvision.io`` (greyscale, palette, alpha and CMYK images are
converted), falls back to Pillow, and raises :class:`BadImage` naming the file and the
fix when neither can read it (truncated, corrupt, or not an image).

**Folders.** :func:`imagenet_folder` reads the standard ``train/<wnid>/*.JPEG`` and
``val/<wnid>/*.JPEG`` layout (ImageNet, Imagenette, or any dataset laid out the same
way) with torchvision's ``ImageFolder``; :func:`~alexnet_lib.datasets.sort_imagenet_val` turns the official
flat validation folder into that layout (it lives in :mod:`alexnet_lib.datasets`).

**Transforms.** :func:`paper_transform` is the paper's pipeline (section 2 and 4.1):
shorter side to 256, central 256x256, random 224x224 crops and horizontal flips for
training (the centre crop for testing), then mean subtraction (the paper's mean
image, or the modern per-channel mean and standard deviation). Everything stays
``uint8`` until the last step, which is what makes it fast.

:class:`PCALighting` is the paper's second form of augmentation, "altering the
intensities of the RGB channels": to every pixel of an image add the same offset
``[p1, p2, p3] @ [a1 * l1, a2 * l2, a3 * l3]``, where ``p_i`` and ``l_i`` are the
eigenvectors and eigenvalues of the 3x3 covariance of RGB pixel values over the
training set, and each ``a_i`` is drawn from N(0, 0.1) once per image.
:func:`rgb_pca` computes ``l`` and ``p`` from a set of images.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader
from torchvision import transforms as T
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import has_file_allowed_extension
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms import v2
from tqdm.auto import tqdm

from .datasets import DataDamaged, DataNotFound, lock_file, unlock_file
from .datasets import cache_dir as default_cache
from .profiles import progress_bars_off

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "BadImage",
    "BatchPreparer",
    "ImageFolderDataset",
    "PCALighting",
    "PreDecoded",
    "SubtractMeanImage",
    "classic_transform",
    "crop_batch",
    "fast_loader",
    "find_unreadable",
    "images_and_labels",
    "to_float_batch",
    "uint8_transform",
    "image_statistics",
    "imagenet_folder",
    "paper_transform",
    "predecode",
    "read_image",
    "rgb_pca",
]

# The per-channel statistics of ImageNet's training images (scaled to [0, 1]) that
# torchvision's pretrained models expect.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def rgb_pca(images) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (descending) and eigenvectors (columns) of the RGB pixel covariance.

    Args:
        images: ``(N, H, W, 3)`` or ``(N, 3, H, W)`` array or tensor; uint8 values are
            scaled to [0, 1] first.

    Returns:
        ``(eigval (3,), eigvec (3, 3))``, float32, ``eigvec[:, i]`` belonging to ``eigval[i]``.
    """
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    if x.dtype == torch.uint8:
        x = x.float() / 255
    x = x.double()
    if x.dim() != 4 or 3 not in (x.shape[1], x.shape[-1]):
        raise ValueError(f"images must be (N, H, W, 3) or (N, 3, H, W), got {tuple(x.shape)}")
    pixels = x.permute(0, 2, 3, 1).reshape(-1, 3) if x.shape[1] == 3 and x.shape[-1] != 3 else x.reshape(-1, 3)
    if len(pixels) < 2 or not torch.isfinite(pixels).all():
        raise ValueError(f"rgb_pca needs at least two pixels, all finite, got {len(pixels)} pixel(s)"
                         f"{'' if torch.isfinite(pixels).all() else ' with NaN or infinite values'}")
    covariance = torch.cov(pixels.T)
    eigval, eigvec = torch.linalg.eigh(covariance)  # ascending
    order = torch.argsort(eigval, descending=True)
    return eigval[order].float(), eigvec[:, order].float()


class PCALighting:
    """Add a random multiple of the RGB principal components to a whole image.

    Args:
        alphastd: standard deviation of each ``a_i`` (the paper: 0.1). 0 leaves images unchanged.
        eigval: ``(3,)`` eigenvalues of the RGB covariance.
        eigvec: ``(3, 3)`` eigenvectors as columns.
        generator: a ``torch.Generator`` for reproducible draws (default: PyTorch's global one).

    Called on a float tensor ``(3, H, W)`` (or a batch ``(N, 3, H, W)``, one draw per
    image), it returns a new tensor; the input is not modified.
    """

    def __init__(self, alphastd: float, eigval, eigvec, generator: torch.Generator | None = None) -> None:
        if not (math.isfinite(alphastd) and alphastd >= 0):
            raise ValueError(f"alphastd must be >= 0 and finite (the paper uses 0.1), got {alphastd}")
        self.alphastd = float(alphastd)
        self.eigval = torch.as_tensor(eigval, dtype=torch.float32).reshape(-1)
        self.eigvec = torch.as_tensor(eigvec, dtype=torch.float32)
        if self.eigval.shape != (3,) or self.eigvec.shape != (3, 3):
            raise ValueError(f"eigval must be (3,) and eigvec (3, 3), got {tuple(self.eigval.shape)} and "
                             f"{tuple(self.eigvec.shape)}")
        if not (torch.isfinite(self.eigval).all() and torch.isfinite(self.eigvec).all()):
            raise ValueError("eigval and eigvec must be finite (rgb_pca of images gives them)")
        self.generator = generator

    def offset(self, n: int = 1) -> torch.Tensor:
        """``n`` random RGB offsets ``(n, 3)``, one per image."""
        alpha = torch.randn(n, 3, generator=self.generator) * self.alphastd
        return (alpha * self.eigval) @ self.eigvec.T

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if not isinstance(img, torch.Tensor) or not img.is_floating_point():
            raise TypeError("PCALighting works on float tensors (C, H, W); convert uint8 images first "
                            "(e.g. torchvision.transforms.v2.ToDtype(torch.float32, scale=True))")
        if self.alphastd == 0:
            return img.clone()
        if img.dim() == 3 and img.shape[0] == 3:
            return img + self.offset(1).to(img)[0].view(3, 1, 1)
        if img.dim() == 4 and img.shape[1] == 3:
            return img + self.offset(img.shape[0]).to(img).view(-1, 3, 1, 1)
        raise ValueError(f"expected a (3, H, W) image or a (N, 3, H, W) batch, got {tuple(img.shape)}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alphastd={self.alphastd})"


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

    Greyscale, palette and CMYK images are converted to RGB and an alpha channel is
    dropped. Raises :class:`BadImage` (naming the file and what to do) for a truncated
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


# --- the paper's pipeline ----------------------------------------------------------------


def square_steps(scale: int) -> list[Callable]:
    """The paper's first steps: shorter side to ``scale``, then the central ``scale x scale`` square."""
    return [v2.Resize(scale, antialias=True), v2.CenterCrop(scale)]


def _patch(train: bool, crop: int) -> list[Callable]:
    """A random ``crop x crop`` patch and a random flip for training; the central patch for testing."""
    return [v2.RandomCrop(crop), v2.RandomHorizontalFlip()] if train else [v2.CenterCrop(crop)]


class SubtractMeanImage:
    """Subtract a fixed mean image ``(3, 256, 256)`` from a float image of the same size (the paper)."""

    def __init__(self, mean_image: torch.Tensor) -> None:
        self.mean_image = torch.as_tensor(mean_image, dtype=torch.float32)
        if self.mean_image.dim() != 3 or self.mean_image.shape[0] != 3:
            raise ValueError(f"the mean image must be (3, H, W), got {tuple(self.mean_image.shape)}")

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if img.shape[-3:] != self.mean_image.shape:
            raise ValueError(f"image {tuple(img.shape)} and mean image {tuple(self.mean_image.shape)} differ in size")
        return img - self.mean_image.to(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({tuple(self.mean_image.shape)})"


def paper_transform(train: bool, crop: int = 224, *, normalize: str = "channel",
                    mean_image: torch.Tensor | None = None, lighting: PCALighting | None = None,
                    mean: Iterable[float] = IMAGENET_MEAN, std: Iterable[float] = IMAGENET_STD,
                    scale: int = 256) -> Callable[[torch.Tensor], torch.Tensor]:
    """The paper's preprocessing and augmentation, on ``uint8`` ``(3, H, W)`` tensors.

    Shorter side to ``scale`` (256), the central ``scale x scale`` square, then for
    training a random ``crop x crop`` patch and a random horizontal flip (for testing, the
    central patch), then float in [0, 1], optional :class:`PCALighting`, and mean
    subtraction: ``normalize="channel"`` subtracts the per-channel ``mean`` and divides by
    ``std`` (the modern way); ``"image"`` subtracts the 256x256 ``mean_image`` *before*
    cropping, as the paper did; ``"none"`` leaves [0, 1]. Images smaller than the crop are
    scaled up by the first step, so every output is ``(3, crop, crop)``.
    """
    if normalize not in ("channel", "image", "none"):
        raise ValueError(f"normalize must be 'channel', 'image' or 'none', got {normalize!r}")
    if normalize == "image" and mean_image is None:
        raise ValueError("normalize='image' needs mean_image, e.g. from image_statistics(...)['mean_image']")
    if not 0 < crop <= scale:
        raise ValueError(f"crop must be between 1 and scale={scale}, got {crop}")
    steps = square_steps(scale)
    if normalize == "image":
        steps += [v2.ToDtype(torch.float32, scale=True), SubtractMeanImage(mean_image)]
    steps += _patch(train, crop)
    if normalize != "image":
        steps.append(v2.ToDtype(torch.float32, scale=True))
    if lighting is not None and train:
        steps.append(lighting)
    if normalize == "channel":
        steps.append(v2.Normalize(list(mean), list(std)))
    return v2.Compose(steps)


def classic_transform(crop: int = 224) -> Callable:
    """The training transform of PyTorch's ImageNet example, on PIL images (the benchmark's reference)."""
    return T.Compose([T.RandomResizedCrop(crop), T.RandomHorizontalFlip(), T.ToTensor(),
                      T.Normalize(list(IMAGENET_MEAN), list(IMAGENET_STD))])


def image_statistics(images: Iterable[torch.Tensor], scale: int = 256) -> dict[str, torch.Tensor]:
    """Mean image, per-channel mean and std, and RGB eigenvalues/vectors of ``uint8`` images.

    Each image is first brought to ``scale x scale`` as :func:`paper_transform` does.
    Returns float32 tensors in [0, 1] units: ``mean_image (3, scale, scale)``,
    ``mean (3,)``, ``std (3,)``, ``eigval (3,)``, ``eigvec (3, 3)``.
    """
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive number of pixels (the paper: 256), got {scale!r}")
    prepare = v2.Compose(square_steps(scale))
    total = torch.zeros(3, scale, scale, dtype=torch.float64)
    n = 0
    pixels = []
    for img in images:
        x = prepare(img).double() / 255
        total += x
        n += 1
        pixels.append(x[:, ::8, ::8].reshape(3, -1))  # a subsample is enough for 3x3 statistics
    if n == 0:
        raise ValueError("image_statistics needs at least one image")
    p = torch.cat(pixels, dim=1)
    eigval, eigvec = rgb_pca(p.T.reshape(1, -1, 1, 3))
    return {"mean_image": (total / n).float(), "mean": p.mean(dim=1).float(), "std": p.std(dim=1).float(),
            "eigval": eigval, "eigvec": eigvec}


# --- a fast loader ------------------------------------------------------------------------


def uint8_transform(train: bool, crop: int = 224, scale: int = 256) -> Callable[[torch.Tensor], torch.Tensor]:
    """:func:`paper_transform`'s geometric steps only: ``uint8`` in, ``uint8 (3, crop, crop)`` out.

    Workers then send a quarter of the bytes that float images would take, and the
    conversion to float and the normalisation run once per batch (:func:`to_float_batch`),
    on the GPU when there is one.
    """
    if not 0 < crop <= scale:
        raise ValueError(f"crop must be between 1 and scale={scale}, got {crop}")
    return v2.Compose(square_steps(scale) + _patch(train, crop))


def to_float_batch(batch: torch.Tensor, device: str | torch.device | None = None,
                   mean: Iterable[float] = IMAGENET_MEAN, std: Iterable[float] = IMAGENET_STD,
                   lighting: PCALighting | None = None, channels_last: bool = False) -> torch.Tensor:
    """A ``uint8 (N, 3, H, W)`` batch as normalised float32 on ``device``: the last step of the pipeline.

    The bytes move to the device first (4x less to copy than float32), then become floats
    in [0, 1], get :class:`PCALighting` if given (one draw per image), and are normalised
    with the per-channel ``mean`` and ``std``.
    """
    if batch.dtype != torch.uint8 or batch.dim() != 4:
        raise ValueError(f"expected a uint8 (N, 3, H, W) batch, got {batch.dtype} {tuple(batch.shape)}")
    if not all(math.isfinite(v) for v in (*mean, *std)) or min(std) <= 0:
        raise ValueError(f"mean must be finite and std positive, got mean={tuple(mean)}, std={tuple(std)}")
    x = batch.to(device if device is not None else batch.device, non_blocking=True).float().div_(255)
    if lighting is not None:
        x = lighting(x)
    m = torch.tensor(list(mean), device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(list(std), device=x.device).view(1, 3, 1, 1)
    x = x.sub_(m).div_(s)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def fast_loader(dataset, batch_size: int, *, workers: int = 2, shuffle: bool = True, seed: int = 0,
                pin_memory: bool | None = None, drop_last: bool = False) -> torch.utils.data.DataLoader:
    """A ``DataLoader`` set up for throughput: worker processes that stay alive between
    epochs, batches prepared ahead, and pinned memory when a CUDA GPU will receive them."""
    if pin_memory is None:
        pin_memory = torch.cuda.is_available()
    extra = {"persistent_workers": True, "prefetch_factor": 4} if workers > 0 else {}
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=workers,
                      pin_memory=pin_memory, drop_last=drop_last,
                      generator=torch.Generator().manual_seed(seed), **extra)


# --- decoded once -----------------------------------------------------------------------


class PreDecoded(torch.utils.data.Dataset):
    """Images decoded once into the paper's ``scale x scale`` squares, all in one ``uint8`` array.

    The paper did this too: it stored every image at 256x256 and took its crops from those
    (section 2). No JPEG is decoded during training; a batch is a slice of one array
    (a memory-mapped ``.npy`` file, so it need not fit in memory), and the random crops and
    flips run on whole batches with :func:`crop_batch`, on the GPU when there is one.

    Index it with a list of indices to get a whole batch at once,
    ``(uint8 (N, 3, S, S), int64 (N,))``; an integer gives one image and its label.
    ``mean`` and ``std`` are the per-channel statistics (in [0, 1]) that normalise its
    images (:func:`to_float_batch`): ImageNet's unless given. Build one with
    :func:`predecode`, or from arrays already in memory (:func:`from_arrays`).
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


def predecoded(dataset) -> PreDecoded | None:
    """The :class:`PreDecoded` inside ``dataset`` (under any ``Subset`` wrappers), or ``None``."""
    while isinstance(dataset, torch.utils.data.Subset):
        dataset = dataset.dataset
    return dataset if isinstance(dataset, PreDecoded) else None


def images_and_labels(dataset) -> tuple[np.ndarray, np.ndarray]:
    """The ``uint8`` images ``(N, 3, S, S)`` and labels of a :class:`PreDecoded` dataset, or of a
    ``Subset`` of one (a run's training images, say), in the dataset's order."""
    base = predecoded(dataset)
    if base is None:
        raise TypeError(f"{type(dataset).__name__} is not a PreDecoded dataset (or a Subset of one)")
    indices = _subset_indices(dataset)
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


def crop_batch(batch: torch.Tensor, crop: int, train: bool, generator: torch.Generator | None = None) -> torch.Tensor:
    """The paper's patches, for a whole ``(N, C, H, W)`` batch at once, on the batch's device.

    For training, each image gets its own random ``crop x crop`` patch and, with
    probability 1/2, a horizontal flip (one gather, no Python loop over images); for
    testing, every image gets the central patch. Works on any dtype, ``uint8`` included.
    The random numbers come from ``generator`` (on the CPU) or PyTorch's global one.
    """
    if not isinstance(batch, torch.Tensor):
        raise TypeError(f"crop_batch takes a torch tensor (N, C, H, W), got {type(batch).__name__}: "
                        "torch.from_numpy(array) makes one")
    if batch.dim() != 4:
        raise ValueError(f"expected a batch (N, C, H, W), got {tuple(batch.shape)}")
    n, c, h, w = batch.shape
    if not (0 < crop <= h and crop <= w):
        raise ValueError(f"crop {crop} does not fit images of {h}x{w}")
    if not train:
        top, left = int(round((h - crop) / 2)), int(round((w - crop) / 2))
        return batch[:, :, top:top + crop, left:left + crop]
    device = batch.device
    top = torch.randint(0, h - crop + 1, (n,), generator=generator).to(device)
    left = torch.randint(0, w - crop + 1, (n,), generator=generator).to(device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(device)
    steps = torch.arange(crop, device=device)
    rows = top[:, None] + steps
    cols = left[:, None] + torch.where(flip[:, None], crop - 1 - steps, steps)
    images = torch.arange(n, device=device)[:, None, None, None]
    channels = torch.arange(c, device=device)[None, :, None, None]
    return batch[images, channels, rows[:, None, :, None], cols[:, None, None, :]]


class BatchPreparer:
    """Turns a batch of ``uint8`` images into the model's input, on the model's device.

    One object does the whole last stretch of the pipeline, for training and evaluation
    alike: move the bytes to the device, cut the paper's patch (a random ``crop x crop``
    patch with a random flip when training and ``augment`` is on, the central patch
    otherwise), scale to [0, 1], add :class:`PCALighting` (training only), subtract the
    per-channel mean and divide by the standard deviation, and switch to the channels-last
    layout if asked. Batches that are already float (CIFAR-10 used whole) only move to the
    device. Build it from the dataset with :meth:`for_dataset`: the dataset knows its
    statistics.
    """

    def __init__(self, crop: int, mean: Iterable[float] = IMAGENET_MEAN, std: Iterable[float] = IMAGENET_STD, *,
                 lighting: PCALighting | None = None, augment: bool = True, channels_last: bool = False,
                 device: str | torch.device | None = None) -> None:
        if not isinstance(crop, (int, np.integer)) or isinstance(crop, bool) or crop < 1:
            raise ValueError(f"crop must be a positive whole number of pixels, got {crop!r}")
        self.crop, self.mean, self.std = crop, tuple(mean), tuple(std)
        self.lighting, self.augment, self.channels_last = lighting, augment, channels_last
        self.device = torch.device(device) if device is not None else None

    @classmethod
    def for_dataset(cls, dataset, crop: int, *, lighting: float = 0.0, augment: bool = True,
                    channels_last: bool = False, device: str | torch.device | None = None,
                    lighting_images: int = 2000) -> BatchPreparer:
        """The preparer for ``dataset`` (a :class:`PreDecoded`, possibly inside ``Subset`` wrappers):
        its channel statistics, and for ``lighting > 0`` the RGB principal components of up to
        ``lighting_images`` of its images (the paper's PCA colour augmentation with that
        standard deviation)."""
        mean, std = normalisation(dataset)
        pca = None
        if lighting > 0:
            base = predecoded(dataset)
            if base is None:
                raise ValueError("PCA lighting needs uint8 images (a PreDecoded dataset): CIFAR-10 with patches "
                                 "smaller than 32 pixels, or image folders with predecode")
            indices = _subset_indices(dataset)[:lighting_images]
            eigval, eigvec = rgb_pca(base.images[np.sort(indices)])
            pca = PCALighting(lighting, eigval, eigvec)
        return cls(crop, mean, std, lighting=pca, augment=augment, channels_last=channels_last, device=device)

    def __call__(self, batch: torch.Tensor, train: bool = False) -> torch.Tensor:
        """The model's input for ``batch``: training augmentation if ``train``, the central patch otherwise."""
        x = batch.to(self.device if self.device is not None else batch.device, non_blocking=True)
        if x.dtype == torch.uint8:
            x = to_float_batch(crop_batch(x, self.crop, train and self.augment), mean=self.mean, std=self.std,
                               lighting=self.lighting if train else None)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def normalise(self, patches: torch.Tensor) -> torch.Tensor:
        """``uint8`` patches already cut (ten-patch testing cuts its own) as the model's input."""
        x = to_float_batch(patches.to(self.device if self.device is not None else patches.device),
                           mean=self.mean, std=self.std)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(crop={self.crop}, mean={tuple(round(m, 3) for m in self.mean)}, "
                f"std={tuple(round(s, 3) for s in self.std)}, lighting={self.lighting}, augment={self.augment})")


def _subset_indices(dataset) -> np.ndarray:
    """The indices into the innermost dataset that ``dataset`` (with any ``Subset`` wrappers) covers."""
    if isinstance(dataset, torch.utils.data.Subset):
        return _subset_indices(dataset.dataset)[np.asarray(dataset.indices)]
    return np.arange(len(dataset))

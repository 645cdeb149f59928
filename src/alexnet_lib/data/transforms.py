"""The paper's preprocessing and augmentation on ``uint8`` images, and PCA lighting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torchvision import transforms as T
from torchvision.transforms import v2

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PCALighting",
    "SubtractMeanImage",
    "classic_transform",
    "image_statistics",
    "paper_transform",
    "rgb_pca",
    "square_steps",
    "uint8_transform",
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

    The paper's second form of augmentation, "altering the intensities of the RGB channels":
    to every pixel of an image add the same offset ``[p1, p2, p3] @ [a1 * l1, a2 * l2, a3 * l3]``,
    where ``p_i`` and ``l_i`` are the eigenvectors and eigenvalues of the 3x3 covariance of RGB
    pixel values over the training set (:func:`rgb_pca`), and each ``a_i`` is drawn from
    N(0, 0.1) once per image.

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



def uint8_transform(train: bool, crop: int = 224, scale: int = 256) -> Callable[[torch.Tensor], torch.Tensor]:
    """:func:`paper_transform`'s geometric steps only: ``uint8`` in, ``uint8 (3, crop, crop)`` out.

    Workers then send a quarter of the bytes that float images would take, and the
    conversion to float and the normalisation run once per batch (:func:`~alexnet_lib.data.prepare.to_float_batch`),
    on the GPU when there is one.
    """
    if not 0 < crop <= scale:
        raise ValueError(f"crop must be between 1 and scale={scale}, got {crop}")
    return v2.Compose(square_steps(scale) + _patch(train, crop))

"""Batch preparation: the paper's patches cut from whole batches, normalised, on the model's device.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch

from .cache import innermost, normalisation, predecoded
from .transforms import IMAGENET_MEAN, IMAGENET_STD, PCALighting, rgb_pca

__all__ = [
    "BatchPreparer",
    "crop_batch",
    "to_float_batch",
]


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
            inner, indices = innermost(dataset)
            base = predecoded(inner)
            if base is None:
                raise ValueError("PCA lighting needs uint8 images (a PreDecoded dataset): CIFAR-10 with patches "
                                 "smaller than 32 pixels, or image folders with predecode")
            eigval, eigvec = rgb_pca(base.images[np.sort(indices[:lighting_images])])
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

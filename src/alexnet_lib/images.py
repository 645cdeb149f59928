"""Real photographs for the early chapters, and the few operations on them they need.

The photos come with scikit-image (installed from PyPI), so they need no
download: ``chelsea`` (a cat), ``astronaut`` (Eileen Collins), ``coffee``,
``rocket``, ``camera`` (grey) and ``coins`` (grey).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SAMPLE_NAMES", "downsample", "sample_image", "to_grayscale", "to_float"]

SAMPLE_NAMES: tuple[str, ...] = ("chelsea", "astronaut", "coffee", "rocket", "camera", "coins")

# ITU-R BT.601 luma weights: how much red, green and blue each contribute to brightness.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def to_float(image: np.ndarray) -> np.ndarray:
    """Convert an integer image (0-255) to float32 in [0, 1]; float images pass through as float32."""
    image = np.asarray(image)
    if np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        return image.astype(np.float32) / float(info.max)
    return image.astype(np.float32)


def sample_image(name: str = "chelsea") -> np.ndarray:
    """A photograph bundled with scikit-image, as float32 in [0, 1].

    Colour photos are ``(H, W, 3)``; grey ones are ``(H, W)``.

    Raises:
        ValueError: for a name that is not in :data:`SAMPLE_NAMES`.
    """
    if name not in SAMPLE_NAMES:
        raise ValueError(f"unknown sample image {name!r}; choose one of {list(SAMPLE_NAMES)}")
    from skimage import data

    return to_float(getattr(data, name)())


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """Brightness of an RGB image ``(H, W, 3)``: the BT.601 weighted sum of its channels."""
    image = np.asarray(image)
    if image.ndim == 2:
        return image.astype(np.float32)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image or an (H, W) grey one, got {image.shape}")
    return (to_float(image) @ LUMA_WEIGHTS).astype(np.float32)


def downsample(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Shrink an image to ``size`` (an int for a square, or ``(H, W)``), averaging over areas.

    Used to make photos small enough to see every pixel (the sliding-filter explorer).
    """
    from skimage.transform import resize

    shape = (size, size) if isinstance(size, int) else tuple(size)
    image = np.asarray(image)
    out_shape = shape + image.shape[2:]
    return resize(image, out_shape, anti_aliasing=True, preserve_range=True).astype(np.float32)

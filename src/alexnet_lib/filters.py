"""Classic hand-designed image filters (Chapter 1).

Before networks learned their filters, image processing designed them by hand
(see Gonzalez and Woods, *Digital Image Processing*). Each function returns a
2-D float32 kernel to be used with cross-correlation
(:func:`alexnet_lib.conv.correlate2d`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "PRESET_NAMES",
    "box",
    "gaussian",
    "identity",
    "laplacian",
    "outline",
    "preset",
    "presets",
    "sharpen",
    "sobel_x",
    "sobel_y",
]


def _check_size(size: int) -> None:
    if not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ValueError(f"kernel size must be an odd positive int (3, 5, ...), got {size!r}")


def identity(size: int = 3) -> np.ndarray:
    """1 in the centre, 0 elsewhere: the output equals the input."""
    _check_size(size)
    k = np.zeros((size, size), dtype=np.float32)
    k[size // 2, size // 2] = 1.0
    return k


def box(size: int = 3) -> np.ndarray:
    """The mean of the window: a blur."""
    _check_size(size)
    return np.full((size, size), 1.0 / size**2, dtype=np.float32)


def gaussian(size: int = 5, sigma: float | None = None) -> np.ndarray:
    """A Gaussian blur, weights ``exp(-(u^2 + v^2) / (2 sigma^2))`` normalised to sum to 1.

    ``sigma`` defaults to ``size / 4`` (so the kernel spans about +-2 sigma).
    """
    _check_size(size)
    if sigma is None:
        sigma = size / 4
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    r = np.arange(size, dtype=np.float64) - size // 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return (g / g.sum()).astype(np.float32)


def sharpen(size: int = 3) -> np.ndarray:
    """Identity plus a multiple of the negative Laplacian: edges stand out more."""
    _check_size(size)
    return (identity(size) - laplacian(size)).astype(np.float32)


def laplacian(size: int = 3) -> np.ndarray:
    """The discrete Laplacian (second derivative): zero on flat and linear patches.

    For size 3 this is ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``; larger sizes spread
    the same cross over a wider window.
    """
    _check_size(size)
    k = np.zeros((size, size), dtype=np.float32)
    c = size // 2
    k[c, :] = 1.0
    k[:, c] = 1.0
    k[c, c] = -(2.0 * (size - 1))
    return k


def outline(size: int = 3) -> np.ndarray:
    """All -1 with the centre set so the weights sum to 0: lights up wherever the pixel differs."""
    _check_size(size)
    k = -np.ones((size, size), dtype=np.float32)
    k[size // 2, size // 2] = size * size - 1
    return k


def sobel_x(size: int = 3) -> np.ndarray:
    """Sobel's horizontal derivative: positive where brightness increases left to right.

    It responds to *vertical* edges. For size 3: ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]``,
    a smoothing ``[1, 2, 1]`` down the column times a difference ``[-1, 0, 1]`` along the row.
    Larger sizes use the binomial smoothing and derivative of the same construction.
    """
    _check_size(size)
    smooth = np.array([1.0])
    for _ in range(size - 1):
        smooth = np.convolve(smooth, [1.0, 1.0])
    diff = np.array([1.0])
    for _ in range(size - 3):
        diff = np.convolve(diff, [1.0, 1.0])
    diff = np.convolve(diff, [-1.0, 0.0, 1.0]) if size >= 3 else np.zeros(1)
    return np.outer(smooth, diff).astype(np.float32)


def sobel_y(size: int = 3) -> np.ndarray:
    """Sobel's vertical derivative: positive where brightness increases top to bottom."""
    return np.ascontiguousarray(sobel_x(size).T)


_PRESETS: dict[str, Callable[[int], np.ndarray]] = {
    "identity": identity,
    "box blur": box,
    "gaussian blur": gaussian,
    "sharpen": sharpen,
    "sobel x (vertical edges)": sobel_x,
    "sobel y (horizontal edges)": sobel_y,
    "laplacian": laplacian,
    "outline": outline,
}

PRESET_NAMES: tuple[str, ...] = tuple(_PRESETS)


def preset(name: str, size: int = 3) -> np.ndarray:
    """The preset kernel called ``name`` (one of :data:`PRESET_NAMES`) at ``size`` x ``size``."""
    try:
        make = _PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown filter {name!r}; choose one of {list(PRESET_NAMES)}") from None
    return make(size)


def presets(size: int = 3) -> dict[str, np.ndarray]:
    """Every preset kernel at ``size`` x ``size``, by name."""
    return {name: make(size) for name, make in _PRESETS.items()}

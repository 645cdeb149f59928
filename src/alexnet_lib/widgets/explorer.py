"""The sliding-filter explorer: watch a filter slide over an image, one output value at a time.

The widget is an `anywidget <https://anywidget.dev>`_: its drawing and arithmetic
run in JavaScript (``explorer.js`` beside this file), so it works in JupyterLab,
in Colab and, with no kernel at all, in the book's static pages. The Python side
holds the state and can check the browser's numbers against
:func:`alexnet_lib.conv.correlate2d`.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import anywidget
import numpy as np
import traitlets

from .. import filters
from ..conv import correlate2d, output_size, pad2d
from ..images import downsample, sample_image, to_grayscale

__all__ = ["SlidingFilterExplorer", "explorer_image"]

_HERE = pathlib.Path(__file__).parent
MAX_IMAGE_SIDE = 40
KERNEL_SIZES = (3, 5)


def explorer_image(name: str = "chelsea", size: int = 16, crop: tuple[slice, slice] | None = None) -> np.ndarray:
    """A small grey version of a sample photo for the explorer, contrast stretched to [0, 1].

    Args:
        name: a scikit-image sample (see :data:`alexnet_lib.images.SAMPLE_NAMES`).
        size: side of the square result in pixels.
        crop: region of the photo to keep before shrinking (default: for ``chelsea``,
            the cat's right eye; for the others, a square from the middle).
    """
    photo = to_grayscale(sample_image(name))
    if crop is None:
        if name == "chelsea":
            crop = (slice(80, 144), slice(130, 194))
        else:
            h, w = photo.shape
            side = min(h, w) // 2
            top, left = (h - side) // 2, (w - side) // 2
            crop = (slice(top, top + side), slice(left, left + side))
    small = downsample(photo[crop], size)
    lo, hi = float(small.min()), float(small.max())
    return ((small - lo) / (hi - lo if hi > lo else 1.0)).astype(np.float32)


def _as_grid(array: np.ndarray | Sequence[Sequence[float]], name: str) -> list[list[float]]:
    a = np.asarray(array, dtype=np.float64)
    if a.ndim != 2 or 0 in a.shape:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinity")
    return [[round(float(v), 6) for v in row] for row in a]


class SlidingFilterExplorer(anywidget.AnyWidget):
    """Slide a filter over a small image and watch the feature map fill in.

    The reader sees the (padded) input with the window on it, the filter's numbers
    (editable), the products that make one output value and their sum, and the
    feature map filled up to the current position. They move the window with the
    slider, the arrow buttons, *play*, or by clicking a pixel; they can pick a
    preset filter, its size, the padding and the stride.

    Args:
        image: a 2-D array (values in [0, 1] look best); default: a 16x16 crop of a photo.
        kernel: a preset name (see :data:`alexnet_lib.filters.PRESET_NAMES`) or a
            square 2-D array of weights.
        stride: step between windows.
        padding: zeros added on each side.
        position: index of the current window in reading order (row by row).
        cell_px: size of one pixel on screen.

    Example:
        >>> SlidingFilterExplorer(kernel="sobel x (vertical edges)")  # doctest: +SKIP
    """

    _esm = _HERE / "explorer.js"
    _css = _HERE / "explorer.css"

    image = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    kernel = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    presets = traitlets.Dict().tag(sync=True)
    preset = traitlets.Unicode("custom").tag(sync=True)
    stride = traitlets.Int(1).tag(sync=True)
    padding = traitlets.Int(0).tag(sync=True)
    position = traitlets.Int(0).tag(sync=True)
    cell_px = traitlets.Int(18).tag(sync=True)

    def __init__(
        self,
        image: np.ndarray | None = None,
        kernel: str | np.ndarray | Sequence[Sequence[float]] = "sobel x (vertical edges)",
        *,
        stride: int = 1,
        padding: int = 0,
        position: int = 0,
        cell_px: int = 18,
        **kwargs: object,
    ) -> None:
        if image is None:
            image = explorer_image()
        image_grid = _as_grid(image, "image")
        if max(len(image_grid), len(image_grid[0])) > MAX_IMAGE_SIDE:
            raise ValueError(
                f"image is {len(image_grid)}x{len(image_grid[0])}; the explorer draws every pixel, so "
                f"keep it at most {MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE} (shrink it with "
                "alexnet_lib.images.downsample)"
            )
        if isinstance(kernel, str):
            preset_name = kernel
            kernel_grid = _as_grid(filters.preset(kernel, 3), "kernel")
        else:
            preset_name = "custom"
            kernel_grid = _as_grid(kernel, "kernel")
        if len(kernel_grid) != len(kernel_grid[0]):
            raise ValueError(f"kernel must be square, got {len(kernel_grid)}x{len(kernel_grid[0])}")
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        tables = {
            str(size): {name: _as_grid(k, name) for name, k in filters.presets(size).items()}
            for size in KERNEL_SIZES
        }
        super().__init__(
            image=image_grid,
            kernel=kernel_grid,
            presets=tables,
            preset=preset_name,
            stride=stride,
            padding=padding,
            position=position,
            cell_px=cell_px,
            **kwargs,
        )

    # --- the same numbers, computed in Python ---------------------------------
    @property
    def output_shape(self) -> tuple[int, int]:
        """``(H_out, W_out)`` of the feature map (leftover rows/columns dropped, as in PyTorch)."""
        k = len(self.kernel)
        h, w = len(self.image), len(self.image[0])
        return (
            output_size(h, k, self.padding, self.stride, floor=True, dim="height"),
            output_size(w, k, self.padding, self.stride, floor=True, dim="width"),
        )

    def feature_map(self) -> np.ndarray:
        """The whole feature map, computed with :func:`alexnet_lib.conv.correlate2d`."""
        kernel = np.asarray(self.kernel, dtype=np.float64)
        padded = pad2d(np.asarray(self.image, dtype=np.float64), self.padding)
        out_h, out_w = self.output_shape
        k = kernel.shape[0]
        # Keep only what some window covers: when the stride does not fit evenly,
        # the last rows/columns are never seen (PyTorch drops them the same way).
        used = padded[: (out_h - 1) * self.stride + k, : (out_w - 1) * self.stride + k]
        return correlate2d(used, kernel, stride=self.stride)

    def window(self, position: int | None = None) -> tuple[int, int]:
        """``(row, column)`` of the output value at ``position`` (default: the current one)."""
        out_h, out_w = self.output_shape
        p = self.position if position is None else position
        p = max(0, min(p, out_h * out_w - 1))
        return divmod(p, out_w)

    def value(self, position: int | None = None) -> float:
        """The output value at ``position`` (default: the current one)."""
        i, j = self.window(position)
        return float(self.feature_map()[i, j])

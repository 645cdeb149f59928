"""The size of a sliding window's output, and the errors of shapes that do not fit.

Convolution (:mod:`alexnet_lib.conv`) and pooling (:mod:`alexnet_lib.layers`) slide a
window over an image; both ask here how many positions it takes
(:func:`output_size`) and raise :class:`ConvShapeError` when it does not fit.
"""

from __future__ import annotations

from typing import Union

import numpy as np

__all__ = ["ConvShapeError", "IntPair", "output_size", "pair"]

IntPair = Union[int, tuple[int, int]]


class ConvShapeError(ValueError):
    """The shapes or settings given to a convolution do not fit together."""


def pair(value: IntPair, name: str) -> tuple[int, int]:
    """Turn ``3`` into ``(3, 3)``; check that both entries are non-negative integers."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        both = (int(value), int(value))
    elif (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        both = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(both) < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return both


def output_size(
    n: int, k: int, padding: int = 0, stride: int = 1, *, floor: bool = False, dim: str = "size"
) -> int:
    """Length of a convolution's output along one axis: ``(n + 2*padding - k) / stride + 1``.

    Args:
        n: input length (height or width).
        k: kernel length.
        padding: zeros added on *each* side.
        stride: step between neighbouring windows.
        floor: when the windows do not fit evenly, drop the leftover rows or columns
            (what PyTorch does) instead of raising.
        dim: name of the axis, used in error messages.

    Raises:
        ConvShapeError: when the kernel is larger than the padded input, or when
            ``(n + 2*padding - k)`` is not a multiple of ``stride`` and ``floor`` is False.
    """
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if k < 1:
        raise ValueError(f"kernel {dim} must be >= 1, got {k}")
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    span = n + 2 * padding - k
    if span < 0:
        raise ConvShapeError(
            f"the kernel's {dim} ({k}) is larger than the padded input's {dim} "
            f"({n} + 2*{padding} = {n + 2 * padding}); use a smaller kernel or padding >= "
            f"{(k - n + 1) // 2}"
        )
    if span % stride and not floor:
        left_over = span % stride
        raise ConvShapeError(
            f"the windows do not fit the input's {dim} evenly: (n + 2p - k) / s = "
            f"({n} + 2*{padding} - {k}) / {stride} = {span / stride:g} is not an integer, so "
            f"the last {left_over} row(s)/column(s) would never be seen. Change the padding or "
            f"the stride, crop the input to {dim} {n - left_over}, or pass floor=True to drop "
            f"them as torch.nn.functional.conv2d does"
        )
    return span // stride + 1


def check_class_scores(logits: np.ndarray, targets: np.ndarray) -> None:
    """Check scores ``(N, classes)`` and their correct classes ``(N,)``, integers in range;
    raise :class:`ConvShapeError` (a ``ValueError``) or ``TypeError`` naming what is wrong."""
    if logits.ndim != 2:
        raise ConvShapeError(f"logits must be (N, classes), got shape {logits.shape}")
    if targets.shape != (logits.shape[0],):
        raise ConvShapeError(f"targets must be ({logits.shape[0]},), one class per row of logits, got {targets.shape}")
    if not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(f"targets must be integer class indices, got dtype {targets.dtype}")
    if targets.size and (targets.min() < 0 or targets.max() >= logits.shape[1]):
        raise ValueError(f"targets must be in 0..{logits.shape[1] - 1}, got {targets.min()}..{targets.max()}")

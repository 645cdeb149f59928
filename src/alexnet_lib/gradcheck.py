"""Numerical gradients by central differences, to check backward passes written by hand.

    dL/dx[i] ~ (L(x + h e_i) - L(x - h e_i)) / (2h)

with ``L(x) = sum(f(x) * dout)`` for a fixed random ``dout``: the same quantity a
``*_backward`` function computes. Use float64 and small arrays; it calls ``f``
twice per element.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["numerical_gradient", "relative_error"]


def numerical_gradient(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """``d sum(f(x) * dout) / dx``, estimated one element at a time.

    ``x`` (a float64 numpy array, which ``f`` reads) is modified in place during the
    computation and restored afterwards.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError("use a float64 numpy array for numerical gradients (float32 rounding swamps them; x is "
                        f"changed in place, so not a list), got {getattr(x, 'dtype', type(x).__name__)}")
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"the step h must be a small positive number (1e-5), got {h}")
    out_shape = np.shape(f(x))
    if out_shape != np.shape(dout):
        raise ValueError(f"dout has shape {np.shape(dout)}, but f(x) has shape {out_shape}")
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):  # every element, whatever the array's memory layout
        old = x[i]
        x[i] = old + h
        plus = np.sum(f(x) * dout)
        x[i] = old - h
        minus = np.sum(f(x) * dout)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b|| / (||a|| + ||b||)``: below about 1e-7 two gradients agree.

    Norms over the whole array rather than element by element, so that elements
    whose gradient is nearly zero (where finite differences are mostly rounding
    noise) do not dominate.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"the two gradients differ in shape: {a.shape} and {b.shape}")
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0

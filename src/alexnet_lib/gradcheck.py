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

    ``x`` is modified in place during the computation and restored afterwards.
    """
    if x.dtype != np.float64:
        raise TypeError(f"use float64 for numerical gradients (float32 rounding swamps them), got {x.dtype}")
    grad = np.zeros_like(x)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    for i in range(flat_x.size):
        old = flat_x[i]
        flat_x[i] = old + h
        plus = np.sum(f(x) * dout)
        flat_x[i] = old - h
        minus = np.sum(f(x) * dout)
        flat_x[i] = old
        flat_grad[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b|| / (||a|| + ||b||)``: below about 1e-7 two gradients agree.

    Norms over the whole array rather than element by element, so that elements
    whose gradient is nearly zero (where finite differences are mostly rounding
    noise) do not dominate.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0

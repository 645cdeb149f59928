"""The paper's other building blocks in numpy, each a forward/backward pair (Chapters 2-4).

Every ``*_backward`` takes the gradient of the loss with respect to the layer's
output (``dout``) and returns the gradient with respect to its input (and
parameters, where it has some). Arrays are NCHW, like the convolutions in
:mod:`alexnet_lib.conv`; the tests compare each function with PyTorch and with
finite differences.

- activations: :func:`relu`, :func:`tanh` and their backward passes
- pooling: :func:`max_pool2d` (overlapping when ``stride < kernel_size``, as in AlexNet)
- :func:`local_response_norm`: the paper's formula, section 3.3
- :func:`dropout`: the paper's version and the modern "inverted" one
- :func:`linear`: a fully connected layer
- :func:`softmax` and :func:`softmax_cross_entropy`
"""

from __future__ import annotations

import numpy as np

from .shapes import ConvShapeError, IntPair, check_class_scores, output_size, pair

__all__ = [
    "as_floats",
    "dropout",
    "dropout_backward",
    "linear",
    "linear_backward",
    "local_response_norm",
    "local_response_norm_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "relu",
    "relu_backward",
    "softmax",
    "softmax_cross_entropy",
    "tanh",
    "tanh_backward",
]


# --- the numbers they compute with --------------------------------------------------


def as_floats(*arrays: np.ndarray | None) -> tuple[np.ndarray | None, ...]:
    """The arrays as floating-point arrays of one common type, at least float32 (``None`` stays ``None``).

    Integer images (``uint8`` photographs, say) would otherwise be multiplied and added in
    their own type, which wraps around (200 * 200 is 64 in ``uint8``), and float16 sums
    overflow past 65,504; in float32 or float64 both are right. Arrays that hold no real
    numbers (text, objects, complex numbers) raise ``TypeError``.
    """
    present = [np.asarray(a) for a in arrays if a is not None]
    for a in present:
        if a.dtype.kind not in "biuf":
            kind = "complex numbers" if a.dtype.kind == "c" else f"dtype {a.dtype}"
            raise TypeError(f"expected arrays of real numbers, got {kind}; convert them first, "
                            "e.g. np.asarray(x, dtype=np.float32)")
    dtype = np.result_type(*present, np.float32)
    return tuple(None if a is None else np.asarray(a, dtype=dtype) for a in arrays)


def _same_shape(dout: np.ndarray, other: np.ndarray, name: str) -> None:
    """A gradient has the shape of what it is the gradient of: numpy would otherwise broadcast silently."""
    if np.shape(dout) != np.shape(other):
        raise ConvShapeError(f"dout has shape {np.shape(dout)}, but {name} has shape {np.shape(other)}: pass the "
                             "gradient of this layer's output")


# --- activations ----------------------------------------------------------------


def relu(x: np.ndarray) -> np.ndarray:
    """``max(0, x)``: the paper's "rectified linear unit" (section 3.1)."""
    return np.maximum(x, 0)


def relu_backward(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The gradient passes where the input was positive and stops elsewhere."""
    (dout,) = as_floats(dout)
    _same_shape(dout, x, "x")
    return dout * (np.asarray(x) > 0)


def tanh(x: np.ndarray) -> np.ndarray:
    """The saturating non-linearity the paper compares ReLU with."""
    (x,) = as_floats(x)
    return np.tanh(x)


def tanh_backward(dout: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``d tanh(x)/dx = 1 - tanh(x)^2``, written with the *output* ``y = tanh(x)``."""
    dout, y = as_floats(dout, y)
    _same_shape(dout, y, "y")
    return dout * (1 - y**2)


# --- max pooling ----------------------------------------------------------------


def _pool_windows(x: np.ndarray, kernel_size: IntPair, stride: IntPair | None) -> tuple[np.ndarray, tuple]:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ConvShapeError(f"x must be 4-D (N, C, H, W), got shape {x.shape}")
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(kernel_size if stride is None else stride, "stride")
    if min(kh, kw, sh, sw) < 1:
        raise ValueError(f"kernel_size and stride must be >= 1, got {kernel_size!r} and {stride!r}")
    out_h = output_size(x.shape[2], kh, 0, sh, floor=True, dim="height")
    out_w = output_size(x.shape[3], kw, 0, sw, floor=True, dim="width")
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return windows[:, :, ::sh, ::sw][:, :, :out_h, :out_w], (kh, kw, sh, sw)


def max_pool2d(x: np.ndarray, kernel_size: IntPair, stride: IntPair | None = None) -> np.ndarray:
    """The largest value of each ``kernel_size`` window, windows ``stride`` apart.

    AlexNet uses ``kernel_size=3, stride=2``: neighbouring windows overlap by one
    row or column (section 3.4). ``stride`` defaults to ``kernel_size`` (no overlap).
    Like PyTorch, rows and columns that no window reaches are dropped.
    """
    windows, _ = _pool_windows(x, kernel_size, stride)
    return windows.max(axis=(4, 5))


def max_pool2d_backward(
    dout: np.ndarray, x: np.ndarray, kernel_size: IntPair, stride: IntPair | None = None
) -> np.ndarray:
    """Each window's gradient goes to the position of its maximum.

    When several values tie for the maximum, the first in reading order gets it
    (what PyTorch does). Where windows overlap, a value that is the maximum of
    two windows receives both gradients.
    """
    windows, (kh, kw, sh, sw) = _pool_windows(x, kernel_size, stride)
    n, c, out_h, out_w = windows.shape[:4]
    if np.shape(dout) != (n, c, out_h, out_w):
        raise ConvShapeError(f"dout has shape {np.shape(dout)}, but the pooling output has shape {(n, c, out_h, out_w)}")
    first_max = windows.reshape(n, c, out_h, out_w, kh * kw).argmax(axis=-1)
    dx = np.zeros(np.shape(x), dtype=np.result_type(dout, np.float32))
    for u in range(kh):
        for v in range(kw):
            routed = np.where(first_max == u * kw + v, dout, 0)
            dx[:, :, u : u + sh * out_h : sh, v : v + sw * out_w : sw] += routed
    return dx


# --- local response normalisation -------------------------------------------------


def _channel_window_sum(values: np.ndarray, size: int) -> np.ndarray:
    """For each channel ``c``, the sum of ``values`` over channels ``c - size//2 .. c + size//2``."""
    half = size // 2
    c = values.shape[1]
    cumulative = np.cumsum(values, axis=1, dtype=np.float64)
    zero = np.zeros_like(cumulative[:, :1])
    cumulative = np.concatenate([zero, cumulative], axis=1)  # cumulative[:, i] = sum of the first i
    upper = np.minimum(np.arange(c) + half + 1, c)
    lower = np.maximum(np.arange(c) - half, 0)
    return cumulative[:, upper] - cumulative[:, lower]


def _check_lrn(x: np.ndarray, size: int, alpha: float, beta: float, k: float) -> None:
    if np.ndim(x) < 2:
        raise ConvShapeError(f"x must have a channel axis: (N, C, ...), got shape {np.shape(x)}")
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive int (the paper uses 5), got {size!r}")
    if not all(np.isfinite(v) for v in (alpha, beta, k)) or k <= 0 or alpha < 0:
        raise ValueError(f"k must be > 0, alpha >= 0 and beta finite (the paper: k=2, alpha=1e-4, beta=0.75), got "
                         f"k={k}, alpha={alpha}, beta={beta}")


def local_response_norm(
    x: np.ndarray, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0
) -> np.ndarray:
    """Local response normalisation, with the paper's formula (section 3.3)::

        b[c] = a[c] / (k + alpha * sum(a[j]**2 for j in max(0, c - n/2) .. min(C-1, c + n/2)))**beta

    where ``n = size`` and ``n/2`` rounds down: each value is divided by a measure of
    the activity of the ``n`` channels around it at the same position ("lateral
    inhibition"). The defaults are the paper's: ``n=5, alpha=1e-4, beta=0.75, k=2``.

    ``torch.nn.LocalResponseNorm(size, alpha, beta, k)`` divides ``alpha`` by ``size``
    (it averages the squares instead of summing them), so for an odd ``size`` this
    equals ``torch.nn.LocalResponseNorm(size, alpha * size, beta, k)``.
    """
    x = np.asarray(x)
    _check_lrn(x, size, alpha, beta, k)
    denominator = k + alpha * _channel_window_sum(x.astype(np.float64) ** 2, size)
    return (x / denominator**beta).astype(np.result_type(x, np.float32))


def local_response_norm_backward(
    dout: np.ndarray, x: np.ndarray, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0
) -> np.ndarray:
    """Gradient of :func:`local_response_norm` with respect to its input.

    With ``d[c] = k + alpha * S[c]`` and ``b[c] = a[c] * d[c]**-beta``, a change in
    ``a[j]`` changes ``b[j]`` directly and every ``d[c]`` whose window holds ``j``::

        dL/da[j] = dout[j] * d[j]**-beta
                   - 2 * alpha * beta * a[j] * sum(dout[c] * a[c] * d[c]**(-beta - 1) for c near j)

    (the windows are symmetric, so "c's window holds j" is "c is in j's window").
    """
    x = np.asarray(x)
    _check_lrn(x, size, alpha, beta, k)
    if np.shape(dout) != x.shape:
        raise ConvShapeError(f"dout has shape {np.shape(dout)}, but x has shape {x.shape}")
    a = x.astype(np.float64)
    d = k + alpha * _channel_window_sum(a**2, size)
    direct = dout * d**-beta
    through_neighbours = _channel_window_sum(dout * a * d ** (-beta - 1), size)
    dx = direct - 2 * alpha * beta * a * through_neighbours
    return dx.astype(np.result_type(dout, x, np.float32))


# --- dropout -------------------------------------------------------------------


def dropout(
    x: np.ndarray,
    p: float = 0.5,
    *,
    train: bool = True,
    mode: str = "inverted",
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Set each value to zero with probability ``p`` while training.

    Two equivalent conventions:

    - ``mode="paper"`` (section 4.2): training keeps values as they are or zeroes them;
      at test time every value is multiplied by ``1 - p`` ("we multiply the outputs by
      0.5"), so the next layer sees the same expected input in both.
    - ``mode="inverted"`` (what PyTorch does): training divides the kept values by
      ``1 - p``; test time is the identity. Same expectations, no work at test time.

    Returns:
        ``(out, mask)``, where ``out = x * mask``; pass ``mask`` to :func:`dropout_backward`.
    """
    if not 0 <= p < 1:
        raise ValueError(f"p is the probability of dropping a value: 0 <= p < 1, got {p}")
    if mode not in ("inverted", "paper"):
        raise ValueError(f"mode must be 'inverted' or 'paper', got {mode!r}")
    x = np.asarray(x)
    dtype = np.result_type(x, np.float32)
    if train:
        rng = rng if rng is not None else np.random.default_rng()
        keep = (rng.random(x.shape) >= p).astype(dtype)
        mask = keep / (1 - p) if mode == "inverted" else keep
    else:
        mask = np.full(x.shape, 1.0 if mode == "inverted" else 1 - p, dtype=dtype)
    return x * mask, mask


def dropout_backward(dout: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The gradient flows through the kept values, scaled like them."""
    _same_shape(dout, mask, "mask")
    return dout * mask


# --- fully connected -----------------------------------------------------------


def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """A fully connected layer, ``x @ w.T + b``, with ``w`` shaped ``(out, in)`` as in PyTorch.

    ``x`` may have any shape ``(N, ...)``; it is flattened to ``(N, in)`` first.
    """
    x, w, b = as_floats(x, w, b)
    if w.ndim != 2 or x.ndim < 1:
        raise ConvShapeError(f"w must be 2-D (out, in) and x at least 1-D (N, ...), got shapes {w.shape} and {x.shape}")
    if b is not None and b.shape != (w.shape[0],):
        raise ConvShapeError(f"b must have shape ({w.shape[0]},), one per output, got {b.shape}")
    x2 = x.reshape(x.shape[0], -1)
    if x2.shape[1] != w.shape[1]:
        raise ConvShapeError(
            f"x has {x2.shape[1]} features per example (shape {x.shape}), but w has shape "
            f"{w.shape}: it expects {w.shape[1]}"
        )
    out = x2 @ w.T
    return out if b is None else out + b


def linear_backward(
    dout: np.ndarray, x: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx, dw, db)`` for :func:`linear`; ``dx`` has the shape of ``x``."""
    dout, x, w = as_floats(dout, x, w)
    x2 = x.reshape(x.shape[0], -1)
    if w.ndim != 2 or dout.shape != (x2.shape[0], w.shape[0]):
        raise ConvShapeError(f"dout has shape {dout.shape}, but linear(x, w) has shape ({x2.shape[0]}, "
                             f"{w.shape[0] if w.ndim == 2 else '?'}): pass the gradient of its output")
    dx = (dout @ w).reshape(x.shape)
    return dx, dout.T @ x2, dout.sum(axis=0)


# --- softmax and cross-entropy ---------------------------------------------------


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities from scores, along the last axis (shifted by the maximum, for stability)."""
    (logits,) = as_floats(logits)
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ConvShapeError(f"softmax needs scores for at least one class along the last axis, got shape {logits.shape}")
    z = logits - np.max(logits, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of a softmax over classes, and its gradient.

    Args:
        logits: scores ``(N, classes)``.
        targets: the correct class of each example, ints ``(N,)``.

    Returns:
        ``(loss, dlogits)`` with ``loss = -mean(log softmax(logits)[n, targets[n]])`` and
        ``dlogits = (softmax(logits) - one_hot(targets)) / N``.
    """
    (logits,) = as_floats(logits)
    targets = np.asarray(targets)
    check_class_scores(logits, targets)
    n = logits.shape[0]
    if n == 0 or logits.shape[1] == 0:  # the mean of nothing is not a loss
        raise ConvShapeError(f"need at least one example and one class, got logits of shape {logits.shape}")
    z = logits - logits.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(n), targets].mean())
    dlogits = np.exp(log_probs)
    dlogits[np.arange(n), targets] -= 1
    return loss, dlogits / n

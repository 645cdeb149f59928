"""Convolution in numpy, written to be read (Chapter 1) and then made fast (Chapter 2).

Everything here is *cross-correlation*, the operation deep-learning libraries call
"convolution": the kernel slides over the input without being flipped, and each
output value is the sum of the window times the kernel. Arrays follow PyTorch's
layout: a batch of images is ``(N, C, H, W)`` and a bank of filters is
``(C_out, C_in / groups, kH, kW)``.

Chapter 1 writes the loops (:func:`correlate2d`, :func:`conv2d_naive`). Chapter 2
turns the convolution into one matrix multiplication (:func:`im2col`,
:func:`conv2d_im2col`) and derives its gradients (:func:`conv2d_backward`, with
:func:`col2im`). Max pooling and local response normalisation live in
:mod:`alexnet_lib.layers` and are re-exported here; the size of a window's output is
:func:`alexnet_lib.shapes.output_size`, also re-exported here.

The functions check their arguments and say what is wrong in words: a kernel
larger than the padded input, channels that do not match, or a stride that does
not fit the input evenly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .layers import as_floats, local_response_norm, max_pool2d
from .shapes import ConvShapeError, IntPair, output_size, pair

__all__ = [
    "ConvShapeError",
    "col2im",
    "conv2d_backward",
    "conv2d_fft",
    "conv2d_im2col",
    "conv2d_naive",
    "conv2d_winograd",
    "correlate2d",
    "im2col",
    "local_response_norm",
    "max_pool2d",
    "multiplications",
    "output_size",
    "pad2d",
    "winograd_matrices",
]


def _no_stages(name: str) -> None:
    """The default of ``stages``: nobody is timing the stages."""


def pad2d(x: np.ndarray, padding: IntPair) -> np.ndarray:
    """Add ``padding`` zeros around the last two axes of ``x`` (top/bottom, left/right)."""
    ph, pw = pair(padding, "padding")
    if ph == 0 and pw == 0:
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(ph, ph), (pw, pw)]
    return np.pad(x, widths, mode="constant", constant_values=0)


def correlate2d(
    image: np.ndarray, kernel: np.ndarray, stride: IntPair = 1, padding: IntPair = 0
) -> np.ndarray:
    """Slide ``kernel`` over a single-channel ``image``: two loops, one output value each.

    This is the function Chapter 1 builds. Each output value is
    ``sum(window * kernel)`` for the window under the kernel; the kernel is not
    flipped (cross-correlation, as in every deep-learning library).

    Args:
        image: 2-D array ``(H, W)``.
        kernel: 2-D array ``(kH, kW)``.
        stride: step between windows, an int or ``(sH, sW)``.
        padding: zeros added on each side, an int or ``(pH, pW)``.

    Returns:
        2-D array ``(H_out, W_out)``.
    """
    image, kernel = as_floats(image, kernel)  # in floating point: integers would wrap around
    if image.ndim != 2 or kernel.ndim != 2:
        raise ConvShapeError(
            f"correlate2d takes a 2-D image and a 2-D kernel, got shapes {image.shape} and "
            f"{kernel.shape}; for channels and batches use conv2d_naive"
        )
    sh, sw = pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    kh, kw = kernel.shape
    out_h = output_size(image.shape[0], kh, ph, sh, dim="height")
    out_w = output_size(image.shape[1], kw, pw, sw, dim="width")
    padded = pad2d(image, (ph, pw))
    out = np.zeros((out_h, out_w), dtype=np.result_type(image, kernel, np.float32))
    for i in range(out_h):
        for j in range(out_w):
            window = padded[i * sh : i * sh + kh, j * sw : j * sw + kw]
            out[i, j] = np.sum(window * kernel)
    return out


def conv2d_naive(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    groups: int = 1,
    *,
    floor: bool = False,
) -> np.ndarray:
    """A convolution layer's forward pass, written with loops (the reference for everything faster).

    Computes what ``torch.nn.functional.conv2d`` computes:
    ``out[n, o, i, j] = b[o] + sum_{c, u, v} x_pad[n, g*Cg + c, i*sH + u, j*sW + v] * w[o, c, u, v]``
    where ``g`` is the group of output channel ``o`` and ``Cg = C_in / groups``.

    Args:
        x: input ``(N, C_in, H, W)``.
        w: filters ``(C_out, C_in / groups, kH, kW)``.
        b: optional bias ``(C_out,)``.
        stride: an int or ``(sH, sW)``.
        padding: zeros on each side, an int or ``(pH, pW)``.
        groups: split input and output channels into this many independent groups
            (AlexNet's two GPU towers are ``groups=2``).
        floor: drop leftover rows/columns when the stride does not fit evenly
            (PyTorch's behaviour) instead of raising.

    Returns:
        Output ``(N, C_out, H_out, W_out)``.

    Raises:
        ConvShapeError: for shapes that do not fit together, with the reason.
    """
    x, w, b = as_floats(x, w, b)  # in floating point: integers would wrap around
    _check_conv_args(x, w, b, groups)
    sh, sw = pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    n, c_in, h, wd = x.shape
    c_out, c_per_group, kh, kw = w.shape
    out_h = output_size(h, kh, ph, sh, floor=floor, dim="height")
    out_w = output_size(wd, kw, pw, sw, floor=floor, dim="width")
    o_per_group = c_out // groups

    xp = pad2d(x, (ph, pw))
    out = np.zeros((n, c_out, out_h, out_w), dtype=np.result_type(x, w, np.float32))
    for o in range(c_out):
        g = o // o_per_group
        channels = slice(g * c_per_group, (g + 1) * c_per_group)
        for i in range(out_h):
            for j in range(out_w):
                window = xp[:, channels, i * sh : i * sh + kh, j * sw : j * sw + kw]
                out[:, o, i, j] = np.sum(window * w[o], axis=(1, 2, 3))
    if b is not None:
        out += b.reshape(1, c_out, 1, 1)
    return out


def _check_conv_args(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, groups: int) -> None:
    """Raise a ConvShapeError that says what is wrong with a convolution's arguments."""
    if x.ndim != 4:
        raise ConvShapeError(
            f"x must be 4-D (N, C, H, W), got shape {x.shape}; "
            "add the missing axes, e.g. image[None, None] for one grey image"
        )
    if w.ndim != 4:
        raise ConvShapeError(
            f"w must be 4-D (C_out, C_in/groups, kH, kW), got shape {w.shape}; "
            "e.g. kernel[None, None] for one 2-D kernel"
        )
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    c_in, c_out, c_per_group = x.shape[1], w.shape[0], w.shape[1]
    if c_in % groups:
        raise ConvShapeError(f"x has {c_in} channels, which do not split into {groups} groups")
    if c_out % groups:
        raise ConvShapeError(f"w has {c_out} filters, which do not split into {groups} groups")
    if c_per_group * groups != c_in:
        raise ConvShapeError(
            f"channels do not match: x has {c_in} channels, but w's filters each read "
            f"{c_per_group} channel(s) x {groups} group(s) = {c_per_group * groups}; "
            f"w should have shape ({c_out}, {c_in // groups}, {w.shape[2]}, {w.shape[3]})"
        )
    if b is not None and np.shape(b) != (c_out,):
        raise ConvShapeError(f"b must have shape ({c_out},), one per filter, got {np.shape(b)}")


# --- Chapter 2: one matrix multiplication -------------------------------------


def im2col(
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair = 0,
    *,
    floor: bool = False,
) -> tuple[np.ndarray, tuple[int, int]]:
    """Unfold every window of a batch into a column of one matrix.

    Args:
        x: input ``(N, C, H, W)``.
        kernel_size: ``k`` or ``(kH, kW)``.
        stride, padding, floor: as in :func:`conv2d_naive`.

    Returns:
        ``(cols, (H_out, W_out))``. ``cols`` has shape ``(C * kH * kW, N * H_out * W_out)``:
        row ``(c, u, v)`` (in that order, like ``w.reshape(C_out, -1)``) and column
        ``(n, i, j)`` hold ``x_pad[n, c, i*sH + u, j*sW + v]``. A convolution is then
        ``w.reshape(C_out, -1) @ cols``.
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ConvShapeError(f"x must be 4-D (N, C, H, W), got shape {x.shape}")
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    n, c, h, w = x.shape
    out_h = output_size(h, kh, ph, sh, floor=floor, dim="height")
    out_w = output_size(w, kw, pw, sw, floor=floor, dim="width")
    xp = pad2d(x, (ph, pw))
    # A view (N, C, H_out, W_out, kH, kW) of every window, without copying...
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    windows = windows[:, :, ::sh, ::sw][:, :, :out_h, :out_w]
    # ...then one copy into rows (c, u, v) and columns (n, i, j).
    cols = windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * out_h * out_w)
    return cols, (out_h, out_w)


def col2im(
    cols: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kernel_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair = 0,
    *,
    floor: bool = False,
) -> np.ndarray:
    """The reverse of :func:`im2col` for gradients: add each column back into its window.

    Where windows overlap, their values add up, which is exactly what the gradient
    of the unfolding needs (each input pixel gets the sum of the gradients of every
    window it appeared in).

    Returns:
        an array of shape ``x_shape``.
    """
    (cols,) = as_floats(cols)
    if len(x_shape) != 4:
        raise ConvShapeError(f"x_shape must be the 4-D shape (N, C, H, W) of the unfolded input, got {x_shape}")
    n, c, h, w = x_shape
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    out_h = output_size(h, kh, ph, sh, floor=floor, dim="height")
    out_w = output_size(w, kw, pw, sw, floor=floor, dim="width")
    expected = (c * kh * kw, n * out_h * out_w)
    if cols.shape != expected:
        raise ConvShapeError(f"cols has shape {cols.shape}, but {x_shape} unfolds to {expected}")
    blocks = cols.reshape(c, kh, kw, n, out_h, out_w)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for u in range(kh):  # one vectorised add per kernel position
        for v in range(kw):
            xp[:, :, u : u + sh * out_h : sh, v : v + sw * out_w : sw] += blocks[:, u, v].transpose(1, 0, 2, 3)
    return np.ascontiguousarray(xp[:, :, ph : ph + h, pw : pw + w])


def conv2d_im2col(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    groups: int = 1,
    *,
    floor: bool = False,
    stages: Callable[[str], None] | None = None,
) -> np.ndarray:
    """A convolution layer as one matrix multiplication per group (Chapter 2).

    Same arguments, result and errors as :func:`conv2d_naive`; each group is
    ``w_g.reshape(C_out / groups, -1) @ cols_g``, where ``cols`` comes from :func:`im2col`.
    ``stages``, if given, is called with each stage's name as the stage ends, so that a
    clock can say where the time goes (``alexnet_lib.bench.timing.stage_times``).
    """
    mark = stages or _no_stages
    x, w, b = as_floats(x, w, b)  # in floating point: integers would wrap around
    _check_conv_args(x, w, b, groups)
    n = x.shape[0]
    c_out, c_per_group, kh, kw = w.shape
    o_per_group = c_out // groups
    rows_per_group = c_per_group * kh * kw
    cols, (out_h, out_w) = im2col(x, (kh, kw), stride, padding, floor=floor)
    mark("copying the input into columns")
    dtype = np.result_type(x, w, np.float32)
    out = np.empty((c_out, n * out_h * out_w), dtype=dtype)
    for g in range(groups):
        w_g = w[g * o_per_group : (g + 1) * o_per_group].reshape(o_per_group, rows_per_group)
        cols_g = cols[g * rows_per_group : (g + 1) * rows_per_group]
        np.matmul(w_g, cols_g, out=out[g * o_per_group : (g + 1) * o_per_group])
    mark("the multiplications")
    if b is not None:
        out += np.asarray(b, dtype=dtype)[:, None]
    # rows are filters, columns (n, i, j): bring the batch axis back to the front
    out = np.ascontiguousarray(out.reshape(c_out, n, out_h, out_w).transpose(1, 0, 2, 3))
    mark("the rest (the bias, a last copy)")
    return out


def conv2d_backward(
    dout: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: IntPair = 1,
    padding: IntPair = 0,
    groups: int = 1,
    *,
    floor: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a convolution layer, given the gradient of its output.

    If ``out = conv2d(x, w, b, stride, padding, groups)`` and a loss ``L`` has
    ``dout = dL/dout``, this returns ``(dL/dx, dL/dw, dL/db)``:

    - ``db``: each filter's bias touched every output value of its map, so ``dout`` summed
      over batch and positions;
    - ``dw_g = dout_g @ cols_g.T``: each weight multiplied one input value per output;
    - ``dx = col2im(w_g.T @ dout_g)``: each input value fed every window it appeared in.

    Raises:
        ConvShapeError: when ``dout`` does not have the shape of the convolution's output.
    """
    dout, x, w = as_floats(dout, x, w)  # in floating point: integers would wrap around
    _check_conv_args(x, w, None, groups)
    n, c_in = x.shape[:2]
    c_out, c_per_group, kh, kw = w.shape
    o_per_group = c_out // groups
    rows_per_group = c_per_group * kh * kw
    cols, (out_h, out_w) = im2col(x, (kh, kw), stride, padding, floor=floor)
    if dout.shape != (n, c_out, out_h, out_w):
        raise ConvShapeError(
            f"dout has shape {dout.shape}, but this convolution's output has shape "
            f"{(n, c_out, out_h, out_w)}; pass the gradient of the output of the same call"
        )
    dtype = np.result_type(dout, x, w, np.float32)
    db = dout.sum(axis=(0, 2, 3)).astype(dtype)
    d = dout.transpose(1, 0, 2, 3).reshape(c_out, n * out_h * out_w)  # rows: filters
    dw = np.empty(w.shape, dtype=dtype)
    dcols = np.empty(cols.shape, dtype=dtype)
    for g in range(groups):
        o = slice(g * o_per_group, (g + 1) * o_per_group)
        r = slice(g * rows_per_group, (g + 1) * rows_per_group)
        dw[o] = (d[o] @ cols[r].T).reshape(o_per_group, c_per_group, kh, kw)
        dcols[r] = w[o].reshape(o_per_group, rows_per_group).T @ d[o]
    dx = col2im(dcols, x.shape, (kh, kw), stride, padding, floor=floor)
    return dx, dw, db


# --- Chapter 2: fewer multiplications: Winograd and FFT ---------------------------------


def winograd_matrices(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The transforms of Winograd's minimal filtering F(m x m, 3 x 3) (Lavin and Gray, 2015).

    Returns ``(AT, G, BT)`` with tiles of ``a = m + 2`` inputs: a 3x3 kernel ``g`` becomes
    ``U = G g G^T`` and an ``a x a`` input tile ``d`` becomes ``V = BT d BT^T`` (both ``a x a``);
    their elementwise product ``M = U * V`` gives the tile's ``m x m`` outputs as
    ``AT M AT^T``. Computing ``m x m`` outputs of a 3x3 correlation directly takes ``9 m^2``
    multiplications, this way ``a^2``: 2.25 times fewer for ``m = 2`` (16 for 36), 4 times
    for ``m = 4`` (36 for 144).
    """
    if m == 2:
        at = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)
        g = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
        bt = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
    elif m == 4:
        at = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
                      dtype=np.float64)
        g = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6],
                      [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], dtype=np.float64)
        bt = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0],
                       [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=np.float64)
    else:
        raise ValueError(f"F(m x m, 3 x 3) is written out here for m = 2 and m = 4, got m={m!r}")
    return at, g, bt


def conv2d_winograd(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: IntPair = 1,
                    padding: IntPair = 0, groups: int = 1, *, m: int = 4,
                    stages: Callable[[str], None] | None = None) -> np.ndarray:
    """A 3x3, stride-1 convolution layer with Winograd's F(m x m, 3 x 3): the same result as
    :func:`conv2d_im2col` (to rounding), with ``(m + 2)^2 / (9 m^2)`` of its multiplications.

    The input is cut into overlapping tiles of ``(m + 2) x (m + 2)`` pixels, ``m`` apart;
    tiles and kernels are transformed with small matrices (:func:`winograd_matrices`), done
    for all tiles at once as one matrix product each (``kron(BT, BT)`` on flattened tiles);
    then, for each of the ``(m + 2)^2`` positions of the transformed tile, the channels are
    summed by one matrix product per group, tiles x channels times channels x filters,
    which is where nearly all the multiplications are; the outputs are transformed back
    and the tiles put together. The input is first copied with its channels innermost
    (rows, columns, images, channels), so that every copy of a tile position moves whole
    rows of ``N x C`` contiguous numbers; with the usual layout (channels before rows) each
    copy moves runs of a few numbers and costs more than the multiplications. Raises for
    other kernel sizes or strides, naming the function that handles them. ``stages`` as in
    :func:`conv2d_im2col`.
    """
    mark = stages or _no_stages
    x, w, b = as_floats(x, w, b)
    _check_conv_args(x, w, b, groups)
    if w.shape[2:] != (3, 3):
        raise ConvShapeError(f"Winograd's F(m x m, 3 x 3) needs 3x3 kernels, got {w.shape[2]}x{w.shape[3]}: "
                             "use conv2d_im2col or conv2d_fft")
    if pair(stride, "stride") != (1, 1):
        raise ConvShapeError(f"Winograd's transforms compute stride-1 outputs, got stride {stride!r}: use "
                             "conv2d_im2col (or compute stride 1 and keep every s-th output)")
    at, g, bt = winograd_matrices(m)
    a = m + 2
    dtype = np.result_type(x, w, np.float32)
    ph, pw = pair(padding, "padding")
    n, c_in, h, wd = x.shape
    out_h = output_size(h, 3, ph, dim="height")
    out_w = output_size(wd, 3, pw, dim="width")
    tiles_h, tiles_w = -(-out_h // m), -(-out_w // m)
    # one copy: zeros around (the padding, and below and to the right so that every tile is
    # whole), channels innermost: (rows, columns, images, channels)
    xp = np.zeros((tiles_h * m + 2, tiles_w * m + 2, n, c_in), dtype=dtype)
    xp[ph:ph + h, pw:pw + wd] = x.transpose(2, 3, 0, 1)
    mark("padding, channels innermost")
    p = tiles_h * tiles_w * n  # tiles per channel
    # tiles[i, j] holds pixel (i, j) of every tile: (a, a, P, C), one copy of whole rows per position
    tiles = np.empty((a, a, tiles_h, tiles_w, n, c_in), dtype=dtype)
    for i in range(a):
        for j in range(a):
            tiles[i, j] = xp[i:i + tiles_h * m:m, j:j + tiles_w * m:m]
    mark("copying the input into tiles")
    # V = BT d BT^T for every tile at once: kron(BT, BT) times the flattened tiles
    v = (np.kron(bt, bt).astype(dtype) @ tiles.reshape(a * a, p * c_in)).reshape(a * a, p, c_in)
    mark("transforming the input tiles")
    c_out, c_per_group = w.shape[:2]
    o_per_group = c_out // groups
    # U = G g G^T for every kernel (in float64): kron(G, G) times the flattened kernels, (a*a, C_g, O)
    kernels = w.transpose(2, 3, 1, 0).reshape(9, c_per_group * c_out).astype(np.float64)
    u = (np.kron(g, g) @ kernels).astype(dtype).reshape(a * a, c_per_group, c_out)
    mark("transforming the kernels")
    products = np.empty((a * a, p, c_out), dtype=dtype)
    for k in range(groups):
        o, c = slice(k * o_per_group, (k + 1) * o_per_group), slice(k * c_per_group, (k + 1) * c_per_group)
        np.matmul(v[:, :, c], u[:, :, o], out=products[:, :, o])  # (a*a) products of (P x C_g) @ (C_g x O_g)
    mark("the multiplications")
    y = (np.kron(at, at).astype(dtype) @ products.reshape(a * a, p * c_out)).reshape(m, m, tiles_h, tiles_w, n,
                                                                                      c_out)
    mark("transforming the output tiles")
    # output (image, filter, tile row, i, tile column, j): one copy back to channels before rows
    out = np.empty((n, c_out, out_h, out_w), dtype=dtype)
    out[...] = y.transpose(4, 5, 2, 0, 3, 1).reshape(n, c_out, tiles_h * m, tiles_w * m)[:, :, :out_h, :out_w]
    mark("putting the output tiles together")
    if b is not None:
        out += np.asarray(b, dtype=dtype)[None, :, None, None]
    mark("the rest (the bias)")
    return out


def conv2d_fft(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: IntPair = 1,
               padding: IntPair = 0, groups: int = 1) -> np.ndarray:
    """A convolution layer through the Fourier transform: the same result as :func:`conv2d_im2col`.

    A correlation with a kernel is a product with its transform, frequency by frequency:
    the padded images and the (flipped) kernels are transformed once (``numpy.fft.rfft2``,
    at the size of the padded image, which is large enough that the wrap-around of the
    circular convolution only touches outputs that are thrown away), then for every
    frequency the channels are summed by one complex matrix product per group, and one
    inverse transform per output map gives all its positions. The cost no longer grows
    with the kernel's area, so it pays for large kernels; a stride computes every
    position and keeps every ``s``-th, which wastes most of the work at conv1's stride 4.
    """
    x, w, b = as_floats(x, w, b)
    _check_conv_args(x, w, b, groups)
    sh, sw = pair(stride, "stride")
    if min(sh, sw) < 1:
        raise ValueError(f"stride must be >= 1, got {stride!r}")
    dtype = np.result_type(x, w, np.float32)
    complex_dtype = np.complex64 if dtype == np.float32 else np.complex128
    xp = pad2d(x, padding)
    n, c_in, h, wd = xp.shape
    c_out, c_per_group, kh, kw = w.shape
    out_h = output_size(h, kh, 0, sh, floor=True, dim="height")
    out_w = output_size(wd, kw, 0, sw, floor=True, dim="width")
    fx = np.fft.rfft2(xp, s=(h, wd)).astype(complex_dtype)                        # (N, C, H, W/2+1)
    fw = np.fft.rfft2(w[:, :, ::-1, ::-1], s=(h, wd)).astype(complex_dtype)        # flipped: correlation
    freqs = fx.shape[-2] * fx.shape[-1]
    fx = fx.reshape(n, c_in, freqs).transpose(2, 1, 0)                              # (F, C, N)
    fw = fw.reshape(c_out, c_per_group, freqs).transpose(2, 0, 1)                   # (F, O, C_g)
    o_per_group = c_out // groups
    fy = np.empty((freqs, c_out, n), dtype=complex_dtype)
    for k in range(groups):
        o, c = slice(k * o_per_group, (k + 1) * o_per_group), slice(k * c_per_group, (k + 1) * c_per_group)
        np.matmul(fw[:, o], fx[:, c], out=fy[:, o])                                # per frequency: (O_g x C_g) @ (C_g x N)
    fy = fy.transpose(2, 1, 0).reshape(n, c_out, h, wd // 2 + 1)
    full = np.fft.irfft2(fy, s=(h, wd))                                             # circular, at every position
    out = full[:, :, kh - 1:kh - 1 + (out_h - 1) * sh + 1:sh, kw - 1:kw - 1 + (out_w - 1) * sw + 1:sw]
    out = np.ascontiguousarray(out, dtype=dtype)
    if b is not None:
        out += np.asarray(b, dtype=dtype)[None, :, None, None]
    return out


def multiplications(kind: str, layer_shape: tuple[int, int, int, int, int, int], *, m: int = 4) -> int:
    """Real multiplications of one image through a convolution layer ``(C_in, H, C_out, k, stride, groups)``
    (square input ``H`` after padding): ``"direct"`` (im2col's), ``"winograd"`` (the per-position
    products of F(m x m, 3 x 3), transforms left out) or ``"fft"`` (the frequency products, four real
    multiplications per complex one, transforms left out)."""
    c_in, h, c_out, k, stride, groups = layer_shape
    out = (h - k) // stride + 1
    if kind == "direct":
        return c_out * out * out * (c_in // groups) * k * k
    if kind == "winograd":
        tiles = (-(-out // m)) ** 2
        return c_out * (c_in // groups) * tiles * (m + 2) ** 2
    if kind == "fft":
        return 4 * c_out * (c_in // groups) * h * (h // 2 + 1)
    raise ValueError(f"kind must be direct, winograd or fft, got {kind!r}")

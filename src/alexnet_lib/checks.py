"""Self-checks for the reader's own code: they explain what is wrong instead of just failing.

Call a check on your function; it runs it on a few cases, compares with the
library's reference and either prints a short success line or raises
:class:`CheckFailed` with the case, the position and the likely mistake.

    >>> from alexnet_lib.checks import check_correlate2d
    >>> check_correlate2d(my_correlate2d)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .conv import correlate2d, im2col, output_size
from .layers import local_response_norm
from .metrics import topk_error
from .summary import receptive_field
from .tinycnn import TinyCNNConfig, init_params
from .tinycnn import forward as tiny_forward
from .viz import colour_share

__all__ = [
    "CheckFailed",
    "check_colour_share",
    "check_correlate2d",
    "check_im2col",
    "check_label_smoothing",
    "check_local_response_norm",
    "check_output_size",
    "check_pca_lighting",
    "check_sgd_step",
    "check_receptive_field",
    "check_tiny_forward",
    "check_topk_error",
]


class CheckFailed(AssertionError):
    """Your function gave a wrong answer; the message says where and, when it can tell, why."""


def _accepts(fn: Callable[..., Any], *names: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins without a signature: just try
        return True
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return True
    return all(n in params for n in names)


def _call_array(fn: Callable[..., Any], case: str, *args: Any, **kwargs: Any) -> np.ndarray:
    """Run the reader's function on one case; any failure, or no result, becomes a CheckFailed."""
    try:
        got = fn(*args, **kwargs)
    except Exception as err:  # the reader's code: report any failure with the case
        raise CheckFailed(f"For {case}, your function raised {type(err).__name__}: {err}") from err
    if got is None:
        raise CheckFailed(f"For {case}, your function returned None: did you forget `return`?")
    return np.asarray(got, dtype=np.float64)


def _first_mismatch(got: np.ndarray, expected: np.ndarray, atol: float) -> tuple[int, ...]:
    bad = ~np.isclose(got, expected, atol=atol, rtol=1e-4)
    return tuple(int(i) for i in np.argwhere(bad)[0])


# (image height, image width, kernel size, stride, padding): square and not, odd and even
# kernels, stride and padding alone and together. All fit exactly (no leftover rows).
_CORRELATE_CASES: tuple[tuple[int, int, int, int, int], ...] = (
    (5, 5, 3, 1, 0),
    (6, 8, 3, 1, 0),
    (7, 7, 2, 1, 0),
    (6, 6, 3, 1, 1),
    (9, 9, 3, 2, 0),
    (8, 10, 3, 1, 2),
    (11, 7, 5, 2, 1),
    (4, 4, 4, 1, 0),
)


def check_correlate2d(
    fn: Callable[..., Any], *, stride_and_padding: bool | None = None, seed: int = 0
) -> None:
    """Check a 2-D cross-correlation ``fn(image, kernel, stride=1, padding=0)``.

    Args:
        fn: your function. It takes a 2-D image and a 2-D kernel; if it also takes
            ``stride`` and ``padding`` keywords they are checked too.
        stride_and_padding: force (True) or skip (False) the stride and padding cases;
            by default they run when ``fn`` accepts those keywords.
        seed: seed for the random test images.

    Raises:
        CheckFailed: with the failing case and what probably went wrong.
    """
    if not callable(fn):
        raise TypeError(f"check_correlate2d takes your function, got {type(fn).__name__}")
    if stride_and_padding is None:
        stride_and_padding = _accepts(fn, "stride", "padding")
    rng = np.random.default_rng(seed)
    n_checked = 0
    for h, w, k, stride, padding in _CORRELATE_CASES:
        if (stride != 1 or padding != 0) and not stride_and_padding:
            continue
        image = rng.integers(-3, 4, size=(h, w)).astype(np.float64)
        kernel = rng.integers(-2, 3, size=(k, k)).astype(np.float64)
        kernel[0, 0], kernel[-1, -1] = 3.0, -1.0  # never symmetric, so a flip shows
        expected = correlate2d(image, kernel, stride=stride, padding=padding)
        case = f"a {h}x{w} image, a {k}x{k} kernel, stride {stride}, padding {padding}"
        kwargs = {"stride": stride, "padding": padding} if stride_and_padding else {}
        got = _call_array(fn, case, image.copy(), kernel.copy(), **kwargs)
        if got.shape != expected.shape:
            hint = (
                f"The output size along each axis is (n + 2*padding - k) / stride + 1: "
                f"({h} + 2*{padding} - {k}) / {stride} + 1 = {expected.shape[0]} rows and "
                f"({w} + 2*{padding} - {k}) / {stride} + 1 = {expected.shape[1]} columns."
            )
            if got.shape == (h, w) and expected.shape != (h, w):
                hint += " Your output has the input's shape: did the loop visit windows that hang off the edge?"
            raise CheckFailed(
                f"For {case}, the output should have shape {expected.shape}, yours has {got.shape}. {hint}"
            )
        if not np.allclose(got, expected, atol=1e-6, rtol=1e-4):
            i, j = _first_mismatch(got, expected, 1e-6)
            flipped = correlate2d(image, kernel[::-1, ::-1], stride=stride, padding=padding)
            if np.allclose(got, flipped, atol=1e-6):
                raise CheckFailed(
                    f"For {case}, your output is the *flipped*-kernel result: you computed a true "
                    "convolution (kernel rotated by 180 degrees). Deep-learning libraries do not flip "
                    "the kernel: use kernel[u, v] with window[u, v]."
                )
            if np.allclose(got, expected.T, atol=1e-6) if got.shape == expected.T.shape else False:
                raise CheckFailed(f"For {case}, your output is transposed: rows and columns are swapped.")
            r0, c0 = i * stride, j * stride
            raise CheckFailed(
                f"For {case}, out[{i}, {j}] should be {expected[i, j]:g}, yours is {got[i, j]:g}. "
                f"That value is sum(window * kernel) for the window whose top-left corner is at "
                f"row {r0}, column {c0} of the padded image (rows {r0}..{r0 + k - 1}, "
                f"columns {c0}..{c0 + k - 1})."
            )
        n_checked += 1
    extra = "" if stride_and_padding else " (without stride and padding: add those keywords to check them too)"
    print(f"check_correlate2d: all {n_checked} cases match alexnet_lib.conv.correlate2d{extra}.")


def check_output_size(fn: Callable[[int, int, int, int], Any]) -> None:
    """Check ``fn(n, k, padding, stride)``, the output length of a convolution along one axis.

    Cases where the windows do not fit evenly are checked against PyTorch's rule
    (round down), which is what ``torch.nn.Conv2d`` and AlexNet's first layer rely on.
    """
    cases = [
        (5, 3, 0, 1), (5, 3, 1, 1), (7, 3, 0, 2), (32, 5, 2, 1), (224, 11, 2, 4),
        (227, 11, 0, 4), (55, 3, 0, 2), (13, 3, 1, 1), (4, 4, 0, 1), (10, 3, 0, 3),
    ]
    for n, k, p, s in cases:
        expected = output_size(n, k, p, s, floor=True)
        try:
            got = fn(n, k, p, s)
        except Exception as err:  # the reader's code
            raise CheckFailed(
                f"output_size(n={n}, k={k}, padding={p}, stride={s}) raised {type(err).__name__}: {err}"
            ) from err
        if got != expected or (isinstance(got, float) and not float(got).is_integer()):
            exact = (n + 2 * p - k) / s + 1
            why = (
                f" The exact value is {exact:g}; sizes are whole numbers, so round down "
                "(integer division //)." if exact != expected else ""
            )
            raise CheckFailed(
                f"output_size(n={n}, k={k}, padding={p}, stride={s}) should be {expected}, "
                f"yours gave {got!r}. The formula is (n + 2*padding - k) // stride + 1.{why}"
            )
    print(f"check_output_size: all {len(cases)} cases are right.")



def check_im2col(fn: Callable[[np.ndarray, int], Any], *, seed: int = 0) -> None:
    """Check ``fn(image, k)``: unfold one ``(C, H, W)`` image into ``(C*k*k, H_out*W_out)``.

    No padding, stride 1. Row ``c*k*k + u*k + v`` and column ``i*W_out + j`` must hold
    ``image[c, i + u, j + v]``, the order that ``w.reshape(C_out, -1) @ cols`` needs.
    """
    if not callable(fn):
        raise TypeError(f"check_im2col takes your function, got {type(fn).__name__}")
    rng = np.random.default_rng(seed)
    cases = [(1, 4, 4, 3), (2, 5, 6, 3), (3, 6, 5, 2), (2, 7, 7, 1)]
    for c, h, w, k in cases:
        image = rng.integers(0, 100, size=(c, h, w)).astype(np.float64)
        expected = im2col(image[None], k)[0]
        case = f"a {c}x{h}x{w} image and k={k}"
        got = _call_array(fn, case, image.copy(), k)
        if got.shape != expected.shape:
            hint = " It looks transposed: rows are (c, u, v), columns are windows." if got.shape == expected.T.shape else ""
            raise CheckFailed(
                f"For {case}, the result should have shape {expected.shape} = (C*k*k, H_out*W_out), "
                f"yours has {got.shape}.{hint}"
            )
        if not np.array_equal(got, expected):
            bad_row, bad_col = (int(i) for i in np.argwhere(got != expected)[0])
            cc, rest = divmod(bad_row, k * k)
            u, v = divmod(rest, k)
            i, j = divmod(bad_col, w - k + 1)
            same_columns = np.array_equal(np.sort(got, axis=0), np.sort(expected, axis=0))
            why = (
                " Each column holds the right numbers in the wrong order: the rows must run over "
                "channel first, then kernel row, then kernel column (c, u, v)."
                if same_columns
                else ""
            )
            raise CheckFailed(
                f"For {case}, cols[{bad_row}, {bad_col}] should be image[{cc}, {i + u}, {j + v}] = "
                f"{expected[bad_row, bad_col]:g} (channel {cc}, kernel position ({u}, {v}), window "
                f"({i}, {j})), yours is {got[bad_row, bad_col]:g}.{why}"
            )
    print(f"check_im2col: all {len(cases)} cases match alexnet_lib.conv.im2col.")


def check_local_response_norm(fn: Callable[..., Any], *, seed: int = 0) -> None:
    """Check ``fn(x, size, alpha, beta, k)``: local response normalisation with the paper's formula.

    ``x`` is ``(N, C, H, W)``; each value is divided by
    ``(k + alpha * sum of squares over the size channels around it) ** beta``.
    """
    if not callable(fn):
        raise TypeError(f"check_local_response_norm takes your function, got {type(fn).__name__}")
    rng = np.random.default_rng(seed)
    cases = [(5, 1e-4, 0.75, 2.0, 7), (3, 0.1, 0.5, 1.0, 4), (5, 0.05, 0.75, 2.0, 3), (1, 0.2, 1.0, 1.0, 2)]
    for size, alpha, beta, k, channels in cases:
        x = rng.normal(scale=3.0, size=(2, channels, 3, 3))
        expected = local_response_norm(x, size, alpha, beta, k)
        case = f"size={size}, alpha={alpha}, beta={beta}, k={k} on {channels} channels"
        got = _call_array(fn, case, x.copy(), size, alpha, beta, k)
        if got.shape != x.shape:
            raise CheckFailed(f"For {case}, the output should have the input's shape {x.shape}, yours is {got.shape}")
        if np.allclose(got, expected, rtol=1e-6, atol=1e-9):
            continue
        if np.allclose(got, local_response_norm(x, size, alpha / size, beta, k), rtol=1e-6):
            raise CheckFailed(
                f"For {case}, you divided alpha by size, as torch.nn.LocalResponseNorm does (it averages "
                "the squares). The paper sums them: use alpha * sum(...), not alpha / size * sum(...)."
            )
        n, c, i, j = (int(v) for v in np.argwhere(~np.isclose(got, expected, rtol=1e-6, atol=1e-9))[0])
        lo, hi = max(0, c - size // 2), min(channels - 1, c + size // 2)
        raise CheckFailed(
            f"For {case}, out[{n}, {c}, {i}, {j}] should be {expected[n, c, i, j]:.6g}, yours is "
            f"{got[n, c, i, j]:.6g}. Channel {c} is divided by (k + alpha * sum of x[{n}, j, {i}, {j}]**2 "
            f"for j = {lo}..{hi}) ** beta: the window is clipped at the first and last channel."
        )
    print(f"check_local_response_norm: all {len(cases)} cases match the paper's formula.")


def _field_without_jump(layers: list[tuple[int, int]]) -> int:
    return 1 + sum(k - 1 for k, _ in layers)


def _field_jump_too_early(layers: list[tuple[int, int]]) -> int:
    size, jump = 1, 1
    for k, s in layers:
        jump *= s
        size += (k - 1) * jump
    return size


def check_receptive_field(fn: Callable[[list[tuple[int, int]]], Any]) -> None:
    """Check ``fn(layers)``: the receptive field ``(size, jump)`` after ``(kernel, stride)`` layers.

    ``size`` is how many input pixels (along one axis) one output unit sees; ``jump`` is
    how far apart in the input two neighbouring output units are.
    """
    cases = [
        [],
        [(3, 1)],
        [(3, 1), (3, 1)],
        [(2, 2), (3, 1)],
        [(11, 4)],
        [(11, 4), (3, 2)],
        [(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)],  # AlexNet up to pool5
    ]
    for layers in cases:
        expected = receptive_field(layers)
        try:
            got = fn(list(layers))
        except Exception as err:  # the reader's code
            raise CheckFailed(f"For layers {layers}, your function raised {type(err).__name__}: {err}") from err
        if got is None:
            raise CheckFailed(f"For layers {layers}, your function returned None: did you forget `return`?")
        try:
            size, jump = got
        except (TypeError, ValueError) as err:
            raise CheckFailed(f"For layers {layers}, return a pair (size, jump); yours gave {got!r}") from err
        if (size, jump) == expected:
            continue
        hint = ""
        if jump != expected[1]:
            hint = " The jump is the product of the strides so far."
        elif size == _field_without_jump(layers):
            hint = " Each layer widens the field by (kernel - 1) times the jump *before* it, not by (kernel - 1)."
        elif size == _field_jump_too_early(layers):
            hint = " Widen by the jump before multiplying it by the layer's stride."
        raise CheckFailed(f"For layers {layers} the answer is {expected}, yours gave {(size, jump)}.{hint}")
    print(f"check_receptive_field: all {len(cases)} cases are right.")


def check_pca_lighting(fn: Callable[..., Any], *, seed: int = 0) -> None:
    """Check ``fn(image, alphas, eigval, eigvec)``: the paper's PCA colour augmentation.

    ``image`` is a float ``(3, H, W)`` array, ``alphas`` the three random numbers of one
    draw, ``eigval`` ``(3,)`` and ``eigvec`` ``(3, 3)`` with the eigenvectors as columns.
    The answer is ``image + eigvec @ (alphas * eigval)`` added to every pixel.
    """
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(3, 3))
    eigvec, _ = np.linalg.qr(a)  # orthonormal columns, not symmetric: rows and columns differ
    eigval = np.array([0.2, 0.02, 0.005])
    for case in range(3):
        image = rng.random((3, 4 + case, 5))
        alphas = rng.normal(0, 0.1 * (case + 1), size=3)
        expected = image + (eigvec @ (alphas * eigval))[:, None, None]
        got = _call_array(fn, f"an image of shape {image.shape}", image.copy(), alphas.copy(), eigval.copy(),
                          eigvec.copy())
        if got.shape != image.shape:
            raise CheckFailed(f"The result should have the image's shape {image.shape}, yours has {got.shape}.")
        if np.allclose(got, expected, atol=1e-9):
            continue
        offsets = (got - image).reshape(3, -1)
        if not np.allclose(offsets, offsets[:, :1], atol=1e-9):
            raise CheckFailed("Your function adds different amounts to different pixels; the paper adds the "
                              "same RGB offset to every pixel of an image.")
        offset = offsets[:, 0]
        hints = {
            "the eigenvectors are the columns of eigvec; you used its rows (eigvec.T)": eigvec.T @ (alphas * eigval),
            "each alpha multiplies its eigenvalue: alpha_i * lambda_i, not alpha_i alone": eigvec @ alphas,
            "the paper scales by the eigenvalue lambda_i itself, not its square root": eigvec @ (alphas * np.sqrt(eigval)),
        }
        for hint, wrong in hints.items():
            if np.allclose(offset, wrong, atol=1e-9):
                raise CheckFailed(f"The RGB offset is {np.round(offset, 5)}, expected "
                                  f"{np.round(expected[:, 0, 0] - image[:, 0, 0], 5)}: {hint}.")
        raise CheckFailed(f"The RGB offset is {np.round(offset, 5)}, expected "
                          f"{np.round(expected[:, 0, 0] - image[:, 0, 0], 5)} (eigvec @ (alphas * eigval)).")
    print("check_pca_lighting: all 3 cases are right.")


def check_topk_error(fn: Callable[..., Any], *, seed: int = 0) -> None:
    """Check ``fn(scores, labels, k)``: the fraction of rows whose label is not among the ``k``
    highest scores (numpy arrays in, a number out), against :func:`alexnet_lib.evaluate.topk_error`.

    The cases include a hand-made one, random scores with 10 and 1000 classes, ``k`` equal
    to the number of classes (error 0), and scores given as logits (any real numbers).
    """
    rng = np.random.default_rng(seed)
    hand = np.array([[0.1, 0.5, 0.2, 0.2], [0.7, 0.1, 0.1, 0.1], [0.3, 0.3, 0.4, 0.0]])
    cases = [("3 images, 4 classes", hand, np.array([2, 0, 1]), k) for k in (1, 2, 4)]
    for classes, n in ((10, 50), (1000, 20)):
        scores = rng.normal(size=(n, classes))
        labels = rng.integers(0, classes, size=n)
        labels[: n // 3] = scores[: n // 3].argmax(axis=1)  # some right first guesses
        cases += [(f"{n} images, {classes} classes", scores, labels, k) for k in (1, 5)]
    for name, scores, labels, k in cases:
        expected = topk_error(scores, labels, ks=(k,))[k]
        try:
            got = fn(scores.copy(), labels.copy(), k)
        except Exception as err:  # the reader's code
            raise CheckFailed(f"top-{k} error on {name} raised {type(err).__name__}: {err}") from err
        try:
            value = float(got)
        except (TypeError, ValueError) as err:
            raise CheckFailed(f"top-{k} error on {name} should be a number, yours gave {got!r}") from err
        if abs(value - expected) > 1e-9:
            hint = ""
            if abs(value - (1 - expected)) < 1e-9:
                hint = " Yours is the top-k *accuracy*: the error is 1 minus it."
            elif abs(value - expected * len(labels)) < 1e-9:
                hint = " Yours is a count: divide by the number of images."
            raise CheckFailed(f"top-{k} error on {name} should be {expected:.4f}, yours gave {value:.4f}.{hint} "
                              "An image counts as an error when its label is not among its k highest scores.")
    print(f"check_topk_error: all {len(cases)} cases are right.")


def check_sgd_step(fn: Callable[..., Any], *, seed: int = 0) -> None:
    """Check ``fn(w, grad, v, lr, momentum, weight_decay) -> (w, v)``: one step of the paper's update
    (section 5), ``v = momentum * v - weight_decay * lr * w - lr * grad``, then ``w = w + v``.

    The cases run several steps in a row on numpy arrays, with the paper's constants and
    others, and compare with ``torch.optim.SGD``: with a constant learning rate the two take
    the same steps, PyTorch keeping ``v`` without the learning rate in it.
    """
    rng = np.random.default_rng(seed)
    cases = [(0.01, 0.9, 5e-4), (0.1, 0.0, 0.0), (0.05, 0.5, 0.01)]
    for lr, momentum, decay in cases:
        w0 = rng.normal(size=(4, 3))
        grads = [rng.normal(size=(4, 3)) for _ in range(4)]
        weight = torch.nn.Parameter(torch.tensor(w0))
        sgd = torch.optim.SGD([weight], lr=lr, momentum=momentum, weight_decay=decay)
        w, v = w0.copy(), np.zeros_like(w0)
        for step, g in enumerate(grads, 1):
            weight.grad = torch.tensor(g)
            sgd.step()
            try:
                w, v = fn(w.copy(), g.copy(), v.copy(), lr, momentum, decay)
            except Exception as err:  # the reader's code
                raise CheckFailed(f"your step raised {type(err).__name__}: {err}") from err
            expected = weight.detach().numpy()
            if np.shape(w) != expected.shape:
                raise CheckFailed(f"your step returned weights of shape {np.shape(w)}, expected {expected.shape}")
            if not np.allclose(w, expected, rtol=1e-9, atol=1e-12):
                hint = ""
                if step == 1 and np.allclose(w, w0 - lr * g, rtol=1e-9, atol=1e-12) and decay:
                    hint = " It looks like plain gradient descent: the weight decay term is missing."
                elif step > 1 and momentum:
                    hint = " The first step is right: is the velocity v carried from one step to the next?"
                raise CheckFailed(f"with lr={lr}, momentum={momentum}, weight_decay={decay}, step {step} gives "
                                  f"weights off by up to {np.abs(w - expected).max():.2e}.{hint} The paper: "
                                  "v = momentum*v - weight_decay*lr*w - lr*grad; w = w + v.")
    print(f"check_sgd_step: all {len(cases)} cases of four steps match torch.optim.SGD.")


def check_tiny_forward(fn: Callable[..., Any], *, seed: int = 0) -> None:
    """Check ``fn(params, x) -> logits``: the forward pass of Chapter 4's small CNN (conv 3x3 with
    padding 1, ReLU, 2x2 max pooling, twice, then the fully connected layer), written with the
    library's layer functions, against :func:`alexnet_lib.tinycnn.forward`."""
    cases = [(TinyCNNConfig(in_channels=1, size=8, channels=(8, 16), num_classes=10), 5),
             (TinyCNNConfig(in_channels=3, size=12, channels=(4, 6), num_classes=3), 2)]
    rng = np.random.default_rng(seed)
    for config, n in cases:
        params = init_params(config, seed=seed)
        x = rng.normal(size=(n, config.in_channels, config.size, config.size))
        expected = tiny_forward(params, x)[0]
        try:
            got = fn({k: v.copy() for k, v in params.items()}, x.copy())
        except Exception as err:  # the reader's code
            raise CheckFailed(f"your forward pass raised {type(err).__name__}: {err}") from err
        got = got[0] if isinstance(got, tuple) else got
        if np.shape(got) != expected.shape:
            raise CheckFailed(f"for {n} images of {config.in_channels}x{config.size}x{config.size} the logits should "
                              f"be {expected.shape} (images, classes), yours are {np.shape(got)}")
        if not np.allclose(got, expected, rtol=1e-7, atol=1e-9):
            raise CheckFailed("the logits differ from the library's (largest difference "
                              f"{np.abs(np.asarray(got) - expected).max():.2e}): conv with padding 1, then ReLU, then "
                              "2x2 pooling at stride 2, twice, then the fully connected layer on the flattened maps")
    print(f"check_tiny_forward: all {len(cases)} cases match alexnet_lib.tinycnn.forward.")


def check_colour_share(fn: Callable[..., Any], *, seed: int = 0) -> None:
    """Check ``fn(weight) -> shares``: for first-layer kernels ``(out, 3, k, k)``, each kernel's colour
    share (Chapter 9), against :func:`alexnet_lib.viz.colour_share`."""
    rng = np.random.default_rng(seed)
    grey = np.repeat(rng.normal(size=(2, 1, 5, 5)), 3, axis=1)  # R = G = B: no colour at all
    opponent = np.zeros((1, 3, 5, 5))
    opponent[0, 0], opponent[0, 1] = 1.0, -1.0  # red against green, no brightness
    cases = [("random kernels", rng.normal(size=(6, 3, 7, 7))), ("grey kernels", grey),
             ("a red-green kernel", opponent)]
    for name, weight in cases:
        expected = colour_share(torch.tensor(weight))
        try:
            got = np.asarray(fn(weight.copy()), dtype=float)
        except Exception as err:  # the reader's code
            raise CheckFailed(f"{name}: your function raised {type(err).__name__}: {err}") from err
        if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-9):
            raise CheckFailed(f"{name}: expected shares {np.round(expected, 3)}, yours {np.round(got, 3)}. Remove "
                              "each kernel's overall mean, then split it into its mean over R, G and B at each "
                              "position (grey) and the rest (colour): share = colour's sum of squares / the total's.")
    print(f"check_colour_share: all {len(cases)} cases match alexnet_lib.viz.colour_share.")


def check_label_smoothing(fn: Callable[..., Any], *, seed: int = 0) -> None:
    """Check ``fn(logits, targets, smoothing) -> loss``: the mean cross-entropy against smoothed
    targets (``1 - smoothing`` on the right class, ``smoothing / classes`` added to every class),
    numpy in, a number out, against ``torch.nn.functional.cross_entropy(label_smoothing=...)``."""
    rng = np.random.default_rng(seed)
    cases = [(rng.normal(size=(8, 10)) * 3, rng.integers(0, 10, 8), s) for s in (0.0, 0.1, 0.5)]
    cases.append((rng.normal(size=(4, 1000)), rng.integers(0, 1000, 4), 0.1))
    for logits, targets, smoothing in cases:
        expected = float(torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(targets),
                                                           label_smoothing=smoothing))
        try:
            got = float(fn(logits.copy(), targets.copy(), smoothing))
        except Exception as err:  # the reader's code
            raise CheckFailed(f"smoothing {smoothing}: your loss raised {type(err).__name__}: {err}") from err
        if abs(got - expected) > 1e-8:
            hint = ""
            classes = logits.shape[1]
            if smoothing and abs(got - float(torch.nn.functional.cross_entropy(
                    torch.tensor(logits), torch.tensor(targets), label_smoothing=smoothing * classes / (classes - 1)))) < 1e-8:
                hint = " You spread the smoothing over the other classes only: PyTorch adds smoothing / classes to all."
            raise CheckFailed(f"{logits.shape[1]} classes, smoothing {smoothing}: expected {expected:.6f}, yours "
                              f"{got:.6f}.{hint}")
    print(f"check_label_smoothing: all {len(cases)} cases match torch's label-smoothed cross_entropy.")

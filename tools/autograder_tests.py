"""The nbgrader course's hidden tests: instructor-only, never in the students' edition.

``tools/nbgrader_course.py`` reads this file. For each exercise in :data:`AUTOGRADED`
(keyed by the exercise's label in its chapter) it puts into the source assignment:

- ``ask``, when the exercise's text does not name what the tests read: a line for the
  students, above their solution cell, saying which names to define (it is released);
- ``answer``, reference code for those names where the book's solution does not define
  them: a solution cell of its own after the book's solution and its self-check (so that
  it runs even where the self-check stopped the cell above), between nbgrader's solution
  markers like every solution;
- each of ``tests``: a locked, graded test cell right after the solution (and after the
  exercise's self-check, which stays as it is), its code between ``### BEGIN HIDDEN
  TESTS`` and ``### END HIDDEN TESTS``, so that ``generate_assignment`` removes it from the
  release and ``autograde`` puts it back.

Where the exercise asks only for what the tests check, ``prose=False``: the book's written
solution is kept in the source as a comment of the solution cell (the grader's reference)
and is not graded again by hand. Every other written answer is graded by hand, and
:data:`BY_HAND` says what to look for in it.

Each exercise also names a plausible ``wrong`` answer, a list of ``(old, new)`` replacements
in its solution code: ``tests/test_nbgrader.py`` submits it and expects the exercise to lose
its autograded points, except the cells named in ``keeps`` (a self-check the mistake
passes, a part it does not touch).

The tests run in the student's kernel under ``nbgrader autograde``, after everything above
them, in every profile (``smoke`` for quick grading). So they are fast, read the names of
the chapter and the solution, compare with the library's reference on fresh inputs, use
only names that start with ``_`` (a test must not change what a later cell sees), draw
their random inputs from their own generators, and fail with a message.

The instructor guide's table of what is graded how comes from here and from the chapters:
``python tools/nbgrader_course.py --table``.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass


def _code(text: str) -> str:
    return textwrap.dedent(text).strip()


@dataclass(frozen=True)
class Test:
    """One hidden test cell: ``code`` raises (an ``AssertionError``) when the answer is wrong."""

    code: str
    points: int = 1
    part: str = ""  # grade id suffix, when an exercise has several test cells

    def grade_id(self, label: str) -> str:
        return f"{label}-hidden" + (f"-{self.part}" if self.part else "")


@dataclass(frozen=True)
class Autograded:
    """How one exercise is graded automatically (see the module's docstring)."""

    checks: str  # what the hidden tests check, for the instructor guide's table
    tests: tuple[Test, ...]
    wrong: tuple[tuple[str, str], ...]  # (old, new) replacements in the solution's code
    ask: str = ""  # Markdown for the students: the names the tests read
    answer: str = ""  # reference code defining those names, where the book's solution does not
    prose: bool = True  # whether the written solution is an answer graded by hand
    keeps: tuple[str, ...] = ()  # grade id suffixes ("check", "hidden-...") that the wrong answer keeps
    look_for: str = ""  # for a written answer graded by hand: what it should say

    def __post_init__(self) -> None:
        if self.prose != bool(self.look_for):
            raise ValueError("an exercise whose written answer is graded by hand says what to look for in it")


def _one(code: str) -> tuple[Test, ...]:
    return (Test(_code(code)),)


AUTOGRADED: dict[str, Autograded] = {
    # --- Chapter 1 ------------------------------------------------------------------------
    "ch1-by-hand": Autograded(
        checks="the output's values (2x2, all -4)",
        ask="`by_hand`: the output you worked out, as a numpy array.",
        answer="by_hand = np.array([[-4, -4], [-4, -4]])",
        tests=_one("""
            _got = np.asarray(by_hand, dtype=float)
            assert _got.shape == (2, 2), f"the output is 2x2 (3 - 2 + 1 positions per axis), not {_got.shape}"
            assert np.allclose(_got, -4), f"each value is top-left minus bottom-right of its window, e.g. 1 - 5; got {_got.tolist()}"
        """),
        wrong=(("[[-4, -4], [-4, -4]]", "[[4, 4], [4, 4]]"),),  # the flipped kernel: a convolution
        look_for="what the kernel measures: the change along the diagonal (a Roberts cross)",
    ),
    "ch1-write-conv": Autograded(
        checks="`my_correlate2d` against the library on other shapes, strides and paddings",
        tests=_one("""
            from alexnet_lib.conv import correlate2d as _correlate2d
            _rng = np.random.default_rng(2012)
            for _h, _w, _k, _s, _p in [(6, 9, 3, 1, 0), (10, 7, 3, 3, 1), (9, 9, 1, 2, 0), (5, 8, 2, 1, 2), (13, 11, 5, 2, 2)]:
                _image, _kernel = _rng.normal(size=(_h, _w)), _rng.normal(size=(_k, _k))
                _expected = _correlate2d(_image, _kernel, stride=_s, padding=_p)
                _got = np.asarray(my_correlate2d(_image.copy(), _kernel.copy(), stride=_s, padding=_p))
                assert _got.shape == _expected.shape, f"{_h}x{_w} image, {_k}x{_k} kernel, stride {_s}, padding {_p}: shape {_got.shape}, expected {_expected.shape}"
                assert np.allclose(_got, _expected), f"{_h}x{_w} image, {_k}x{_k} kernel, stride {_s}, padding {_p}: wrong values"
        """),
        wrong=(("image[\n                i * stride : i * stride + k, j * stride : j * stride + k\n            ]",
                "image[i : i + k, j : j + k]"),),  # the windows ignore the stride
        prose=False,
    ),
    "ch1-output-size": Autograded(
        checks="`output_size` on windows that do not fit evenly; the three paddings (2, 2, 1)",
        ask=("`padding_5x5`: the padding that keeps the size for a 5x5 kernel at stride 1; "
             "`conv2_padding` and `conv3_padding`: the paddings of AlexNet's second and third convolutions."),
        answer="padding_5x5, conv2_padding, conv3_padding = 2, 2, 1",
        tests=(
            Test(_code("""
                from alexnet_lib.conv import output_size as _output_size
                for _case in [(11, 3, 0, 2), (100, 7, 3, 3), (6, 6, 0, 1), (15, 4, 1, 5), (227, 3, 1, 2), (64, 2, 0, 2)]:
                    _got = output_size(*_case)
                    assert _got == _output_size(*_case, floor=True), f"output_size{_case} gave {_got!r}, expected {_output_size(*_case, floor=True)}"
            """), part="function"),
            Test(_code("""
                assert (padding_5x5, conv2_padding, conv3_padding) == (2, 2, 1), \\
                    f"(k - 1) / 2 keeps the size at stride 1; got {(padding_5x5, conv2_padding, conv3_padding)}"
            """), part="paddings"),
        ),
        wrong=(("// stride + 1", "// stride"),),  # forgets the first window
        keeps=("hidden-paddings",),
        prose=False,
    ),
    "ch1-diagonal": Autograded(
        checks="`diagonal` is 3x3 and responds to a bottom-left-to-top-right edge much more than to the other diagonal",
        ask="`diagonal`: your 3x3 kernel.",
        tests=_one("""
            from alexnet_lib.conv import correlate2d as _correlate2d
            _k = np.asarray(diagonal, dtype=float)
            assert _k.shape == (3, 3), f"a 3x3 kernel, not {_k.shape}"
            _i, _j = np.mgrid[0:20, 0:20]
            _wanted = np.abs(_correlate2d((_i + _j > 19).astype(float), _k)).max()  # edge from bottom left to top right
            _other = np.abs(_correlate2d((_j > _i).astype(float), _k)).max()  # edge from top left to bottom right
            assert _wanted > 3 * _other, f"responds {_wanted:.2f} to the wanted edge and {_other:.2f} to the other diagonal"
        """),
        wrong=(("filters.sobel_x() + filters.sobel_y()", "filters.sobel_x() - filters.sobel_y()"),),
        look_for="which parts light up (whiskers rising that way, slanted eye outlines, fur stripes) and why: the kernel measures change across the edge",
    ),
    "ch1-flip": Autograded(
        checks="the kernels a flip leaves alike and the ones it negates, from the chapter's `kernels`",
        ask=("`unchanged` and `negated`: the sets of names (keys of this chapter's `kernels`) "
             "whose 180-degree flip changes nothing, and whose flip changes the sign."),
        answer=_code("""
            unchanged = {name for name, kernel in kernels.items() if np.allclose(kernel[::-1, ::-1], kernel)}
            negated = {name for name, kernel in kernels.items() if np.allclose(kernel[::-1, ::-1], -kernel)}
        """),
        tests=_one("""
            _same = {_n for _n, _kern in kernels.items() if np.allclose(_kern[::-1, ::-1], _kern)}
            _neg = {_n for _n, _kern in kernels.items() if np.allclose(_kern[::-1, ::-1], -_kern)}
            assert set(unchanged) == _same, f"unchanged by the flip: {sorted(_same)}; yours {sorted(unchanged)}"
            assert set(negated) == _neg, f"negated by the flip: {sorted(_neg)}; yours {sorted(negated)}"
        """),
        wrong=(("kernel[::-1, ::-1]", "kernel.T"),),  # a transpose is not a 180-degree flip
        look_for="why it does not matter: a network that learns its kernels learns the flipped kernel just as well",
    ),
    "ch1-cost": Autograded(
        checks="`macs`, conv1's multiply-adds per image (105,415,200)",
        ask="`macs`: the multiply-adds of AlexNet's first layer for one image.",
        tests=_one("""
            assert macs == 96 * 55 * 55 * 3 * 11 * 11, f"96 filters x 55 x 55 positions x 3 x 11 x 11 = 105,415,200; yours {macs:,}"
        """),
        wrong=(("macs = 96 * 55 * 55 * 3 * 11 * 11", "macs = 96 * 55 * 55 * 11 * 11"),),  # forgets the channels
        look_for="the times per image from the student's own measured nanoseconds per multiply-add (loops: seconds to minutes), and why that calls for faster convolution",
    ),
    # --- Chapter 2 ------------------------------------------------------------------------
    "ch2-count": Autograded(
        checks="conv2's weights and multiply-adds with and without groups",
        ask=("`weights_groups` and `macs_groups`: conv2's weights and its multiply-adds per image with "
             "`groups=2`; `weights_no_groups` and `macs_no_groups`: the same without groups."),
        answer=_code("""
            weights_groups = 256 * (96 // 2) * 5 * 5
            macs_groups = 27 * 27 * weights_groups
            weights_no_groups = 256 * 96 * 5 * 5
            macs_no_groups = 27 * 27 * weights_no_groups
        """),
        tests=_one("""
            assert (weights_groups, weights_no_groups) == (307_200, 614_400), \\
                f"256 filters x 48 (or 96) channels x 5 x 5: 307,200 and 614,400; yours {weights_groups:,} and {weights_no_groups:,}"
            for _got, _expected in ((macs_groups, 27 * 27 * 307_200), (macs_no_groups, 27 * 27 * 614_400)):
                assert abs(_got - _expected) <= 0.005 * _expected, f"27 x 27 outputs x the weights: {_expected:,}; yours {_got:,}"
        """),
        wrong=(("weights_groups = 256 * (96 // 2) * 5 * 5", "weights_groups = 256 * 96 * 5 * 5"),),
        prose=False,
    ),
    "ch2-im2col": Autograded(
        checks="`my_im2col` against the library on other shapes",
        tests=_one("""
            from alexnet_lib.conv import im2col as _im2col
            _rng = np.random.default_rng(2012)
            for _c, _h, _w, _k in [(4, 6, 8, 3), (1, 5, 5, 5), (2, 9, 4, 2), (3, 3, 7, 1)]:
                _image = _rng.normal(size=(_c, _h, _w))
                _expected = _im2col(_image[None], _k)[0]
                _got = np.asarray(my_im2col(_image.copy(), _k))
                assert _got.shape == _expected.shape, f"{_c}x{_h}x{_w}, k={_k}: shape {_got.shape}, expected {_expected.shape}"
                assert np.allclose(_got, _expected), f"{_c}x{_h}x{_w}, k={_k}: rows must run over (c, u, v), columns over windows"
        """),
        wrong=(("window.reshape(-1)", "window.transpose(1, 2, 0).reshape(-1)"),),  # rows in (u, v, c) order
        prose=False,
    ),
    "ch2-backward-1d": Autograded(
        checks="`backward_1d` (the padded, flipped correlation) against the gradient on random inputs",
        ask=("`backward_1d(dout, w)`: for $y_i = \\sum_u x_{i+u} w_u$, the gradient $\\partial L/\\partial x$ "
             "(of length `len(dout) + len(w) - 1`) computed with your formula."),
        answer=_code("""
            def backward_1d(dout, w):
                k = len(w)
                padded = np.pad(dout, k - 1)
                return np.array([np.sum(padded[j : j + k] * w[::-1]) for j in range(len(dout) + k - 1)])
        """),
        tests=_one("""
            _rng = np.random.default_rng(2012)
            for _n_out, _k in [(5, 3), (7, 1), (4, 4), (10, 2)]:
                _dout, _w = _rng.normal(size=_n_out), _rng.normal(size=_k)
                _got = np.asarray(backward_1d(_dout.copy(), _w.copy()))
                _expected = np.convolve(_dout, _w)  # sum_i dout_i w_(j - i)
                assert _got.shape == _expected.shape, f"{_n_out} outputs, kernel {_k}: the gradient has {_n_out + _k - 1} values, yours {_got.shape}"
                assert np.allclose(_got, _expected), f"{_n_out} outputs, kernel {_k}: wrong gradient (is the kernel flipped?)"
        """),
        wrong=(("* w[::-1])", "* w)"),),
        look_for="the derivation: x_j meets w_(j-i) in every y_i with 0 <= j - i <= k - 1, giving the full correlation of the padded dout with the flipped kernel",
    ),
    "ch2-find-bug": Autograded(
        checks="`fixed_backward` gives the library's dx, dw and db on a batch of several images",
        ask="`fixed_backward(dout, x, w)`: the backward pass with the bug fixed, returning `(dx, dw, db)` as `buggy_backward` does.",
        answer=_code("""
            def fixed_backward(dout, x, w):
                dx, dw, db = conv.conv2d_backward(dout, x, w)
                return dx, dw, dout.sum(axis=(0, 2, 3))
        """),
        tests=_one("""
            from alexnet_lib.conv import conv2d_backward as _backward
            _rng = np.random.default_rng(2012)
            _x, _w = _rng.normal(size=(4, 3, 6, 6)), _rng.normal(size=(2, 3, 3, 3))
            _dout = _rng.normal(size=(4, 2, 4, 4))
            _got = fixed_backward(_dout.copy(), _x.copy(), _w.copy())
            for _name, _mine, _ref in zip(("dx", "dw", "db"), _got, _backward(_dout, _x, _w)):
                assert np.shape(_mine) == _ref.shape and np.allclose(_mine, _ref), f"{_name} is wrong for a batch of 4 images"
        """),
        wrong=(("dout.sum(axis=(0, 2, 3))", "dout.sum(axis=(2, 3))[0]"),),
        prose=False,
    ),
    "ch2-flops": Autograded(
        checks="`ratios` computed from the benchmark's `result`",
        ask=("`ratios`: a dict from each layer's name in `result[\"layers\"]` to the pair (ours, PyTorch) of "
             "forward-plus-backward time over forward time."),
        answer=_code("""
            ratios = {
                layer["name"]: (
                    layer["seconds"]["ours_fwd_bwd"] / layer["seconds"]["ours_fwd"],
                    layer["seconds"]["torch_fwd_bwd"] / layer["seconds"]["torch_fwd"],
                )
                for layer in result["layers"]
            }
        """),
        tests=_one("""
            assert set(ratios) == {_l["name"] for _l in result["layers"]}, f"one entry per layer: {[_l['name'] for _l in result['layers']]}"
            for _l in result["layers"]:
                _t = _l["seconds"]
                _expected = (_t["ours_fwd_bwd"] / _t["ours_fwd"], _t["torch_fwd_bwd"] / _t["torch_fwd"])
                assert np.allclose(ratios[_l["name"]], _expected, rtol=1e-6), f"{_l['name']}: expected {np.round(_expected, 2)}, yours {ratios[_l['name']]}"
        """),
        wrong=(('layer["seconds"]["ours_fwd_bwd"] / layer["seconds"]["ours_fwd"]',
                'layer["seconds"]["ours_fwd"] / layer["seconds"]["ours_fwd_bwd"]'),),
        look_for="which layers come near 3 on the student's machine, and what else the backward pass does (rebuilding the im2col matrix, col2im's k x k strided additions)",
    ),
    # --- Chapter 3 ------------------------------------------------------------------------
    "ch3-saturation": Autograded(
        checks="`threshold` (artanh of the square root of 0.9, about 1.82) and `fraction` (about 0.54)",
        ask="`threshold`: the $|x|$ beyond which $\\tanh'(x) < 0.1$; `fraction`: the share of units in that regime for inputs of standard deviation 3.",
        tests=_one("""
            import math as _math
            _t = _math.atanh(_math.sqrt(0.9))
            assert abs(threshold - _t) < 1e-3, f"1 - tanh(x)**2 < 0.1 means |x| > artanh(sqrt(0.9)) = {_t:.3f}; yours {threshold:.3f}"
            _share = _math.erfc(_t / (3 * _math.sqrt(2)))
            assert abs(fraction - _share) < 0.01, f"P(|x| > {_t:.3f}) for a normal of sd 3 is {_share:.3f}; yours {fraction:.3f}"
        """),
        wrong=(("np.arctanh(np.sqrt(0.9))", "np.arctanh(0.9)"),),
        prose=False,
    ),
    "ch3-lrn": Autograded(
        checks="`my_lrn` against the library with other sizes and constants",
        tests=_one("""
            from alexnet_lib.layers import local_response_norm as _lrn
            _rng = np.random.default_rng(2012)
            for _size, _alpha, _beta, _kk, _c in [(3, 0.02, 0.75, 2.0, 6), (7, 1e-3, 0.6, 1.0, 9), (5, 0.5, 1.0, 0.5, 5)]:
                _x = _rng.normal(scale=4.0, size=(3, _c, 2, 2))
                _got = np.asarray(my_lrn(_x.copy(), _size, _alpha, _beta, _kk))
                assert np.allclose(_got, _lrn(_x, _size, _alpha, _beta, _kk), rtol=1e-6), f"size={_size}, alpha={_alpha}, beta={_beta}, k={_kk}: wrong values"
        """),
        wrong=(("(k + alpha * total) ** beta", "(k + alpha / size * total) ** beta"),),  # torch's convention
        prose=False,
    ),
    "ch3-pool-grad": Autograded(
        checks="the map `x` sends all four windows' gradients to one value; `most_windows` is 4",
        ask=("`x`: your 4x4 map (shape `(1, 1, 4, 4)`) in which one value is the maximum of every window; "
             "`most_windows`: the largest number of windows one value can be the maximum of."),
        answer="most_windows = 4",
        tests=_one("""
            from alexnet_lib.layers import max_pool2d_backward as _pool_backward
            assert np.size(x) == 16, f"x is one 4x4 map, not {np.shape(x)}"
            _grad = _pool_backward(np.ones((1, 1, 2, 2)), np.asarray(x, dtype=float).reshape(1, 1, 4, 4), 3, 1)
            assert _grad.max() == 4, f"in your map one value gets the gradient of {_grad.max():g} windows, not all four"
            assert most_windows == 4, f"a central value lies in all four windows; yours {most_windows}"
        """),
        wrong=(("x[0, 0, 1, 2] = 5.0", "x[0, 0, 0, 0] = 5.0"),),  # a corner is in one window only
        look_for="only values that are the maximum of some window get a gradient; the four central values lie in all four windows",
    ),
    "ch3-dropout": Autograded(
        checks="the two variances, 0.25 h^2 and h^2",
        ask="`variance_paper` and `variance_inverted`: the variance of a unit's training-time output with each convention, as a multiple of $h^2$.",
        answer="variance_paper, variance_inverted = 0.25, 1.0",
        tests=_one("""
            assert abs(variance_paper - 0.25) < 1e-6, f"paper: E[out^2] - E[out]^2 = 0.5 h^2 - 0.25 h^2; yours {variance_paper} h^2"
            assert abs(variance_inverted - 1.0) < 1e-6, f"inverted: 0.5 * 4 h^2 - h^2 = h^2; yours {variance_inverted} h^2"
        """),
        wrong=(("0.25, 1.0", "0.5, 2.0"),),  # E[out^2] instead of the variance
        look_for="the ratio of training-time mean to test-time value is 1 in both; inverted outputs are twice the paper's, which the next layer's weights absorb, so the learning rate differs by a factor but the family of networks is the same",
    ),
    "ch3-softmax": Autograded(
        checks="`uniform_loss` is log 1000 (about 6.91)",
        ask="`uniform_loss`: the loss of a network whose 1000 logits are all equal.",
        answer="uniform_loss = np.log(1000)",
        tests=_one("""
            assert abs(uniform_loss - np.log(1000)) < 0.01, f"every p_c = 1/1000, so the loss is log 1000 = 6.91; yours {uniform_loss:.3f}"
        """),
        wrong=(("np.log(1000)", "np.log10(1000)"),),
        look_for="the shift cancels between numerator and denominator; the derivative of -z_t + log sum exp z is p_c - [c = t]",
    ),
    # --- Chapter 4 ------------------------------------------------------------------------
    "ch4-params": Autograded(
        checks="the digits network's 1,898 parameters; the CIFAR-10 network's per layer (896, 18,496, 40,970)",
        ask=("`digits_params`: the parameters of this chapter's network; `cifar_params`: a dict from `\"conv1\"`, "
             "`\"conv2\"` and `\"fc\"` to each layer's parameters (weights and biases) for CIFAR-10 images "
             "with 32 and 64 channels."),
        answer=_code("""
            digits_params = (8 * 1 * 9 + 8) + (16 * 8 * 9 + 16) + (10 * 16 * 2 * 2 + 10)
            cifar_params = {"conv1": 32 * 3 * 9 + 32, "conv2": 64 * 32 * 9 + 64, "fc": 10 * 64 * 8 * 8 + 10}
        """),
        tests=(
            Test(_code("""
                _expected = sum(_v.size for _v in tinycnn.init_params(config, seed=0).values())
                assert digits_params == _expected, f"the network has {_expected:,} parameters; yours {digits_params:,}"
            """), part="digits"),
            Test(_code("""
                _p = tinycnn.init_params(tinycnn.TinyCNNConfig(in_channels=3, size=32, channels=(32, 64), num_classes=10), seed=0)
                _expected = {_layer: _p[f"W{_i}"].size + _p[f"b{_i}"].size for _i, _layer in enumerate(("conv1", "conv2", "fc"), 1)}
                assert dict(cifar_params) == _expected, f"expected {_expected}, yours {dict(cifar_params)}"
            """), part="cifar"),
        ),
        wrong=(("(8 * 1 * 9 + 8) + (16 * 8 * 9 + 16) + (10 * 16 * 2 * 2 + 10)", "8 * 1 * 9 + 16 * 8 * 9 + 10 * 16 * 2 * 2"),
               ('"fc": 10 * 64 * 8 * 8 + 10', '"fc": 10 * 64 * 8 * 8')),  # biases forgotten
        prose=False,
    ),
    "ch4-lr": Autograded(
        checks="the plot `ax` has a loss curve for each of the three rates",
        ask="keep the axes in `ax`, with one loss curve per learning rate, its label starting `lr <rate>`.",
        tests=_one("""
            import re as _re
            _curves = {float(_m.group(1)): _line for _line in ax.get_lines() if (_m := _re.match(r"lr ([0-9.e-]+)", _line.get_label()))}
            assert set(_curves) == {0.005, 0.05, 0.5}, f"one curve labelled lr 0.005, lr 0.05 and lr 0.5; yours {sorted(_curves)}"
            assert all(len(_line.get_ydata()) > 0 for _line in _curves.values()), "each curve holds the losses of its run"
        """),
        wrong=(("for lr in (0.005, 0.05, 0.5):", "for lr in (0.005, 0.05):"),),
        look_for="too small a rate learns slowly; the largest makes the loss jump or blow up (momentum multiplies the step by about 10), ReLUs pushed negative stop learning",
    ),
    "ch4-overfit": Autograded(
        checks="the history `h` comes from training on 100 images (4 steps an epoch)",
        ask="keep the history that `train` returns for the 100 images in `h`.",
        tests=_one("""
            _epochs = len(h["train_acc"])
            assert _epochs >= 1 and len(h["loss"]) == 4 * _epochs, \\
                f"100 images in batches of 32 are 4 steps an epoch; your run took {len(h['loss'])} steps in {_epochs} epoch(s)"
        """),
        wrong=(("x_train, y_train = x_train[:100], y_train[:100]", "x_train, y_train = x_train[:1000], y_train[:1000]"),),
        look_for="near-perfect training accuracy but clearly lower test accuracy: memorising, not learning; more data, augmentation and dropout are AlexNet's answers",
    ),
    "ch4-per-class": Autograded(
        checks="per-class accuracy, the most frequent confusion of each digit and the hardest digit, from `confusion`",
        ask=("`per_class_accuracy`: each digit's accuracy from `confusion` (ten numbers); `confused_with`: for "
             "each digit, the digit it is most often taken for; `hardest`: the digit with the lowest accuracy."),
        answer=_code("""
            per_class_accuracy = np.diag(confusion) / confusion.sum(axis=1)
            confused_with = np.argmax(confusion - np.diag(np.diag(confusion)), axis=1)
            hardest = int(np.argmin(per_class_accuracy))
        """),
        tests=_one("""
            _acc = np.diag(confusion) / confusion.sum(axis=1)
            assert np.allclose(per_class_accuracy, _acc), f"the diagonal over the row sums (true digits): {np.round(_acc, 2)}"
            _off = confusion - np.diag(np.diag(confusion))
            for _d in range(10):
                assert _off[_d].max() == 0 or _off[_d, int(confused_with[_d])] == _off[_d].max(), f"digit {_d} is most often taken for {int(np.argmax(_off[_d]))}"
            assert _acc[int(hardest)] == _acc.min(), f"the hardest digit has accuracy {_acc.min():.2f}"
        """),
        wrong=(("np.diag(confusion) / confusion.sum(axis=1)", "np.diag(confusion) / confusion.sum(axis=0)"),),
        prose=False,
    ),
    "ch4-forward": Autograded(
        checks="`my_forward` against the library's forward pass on a third network shape",
        tests=_one("""
            _config = tinycnn.TinyCNNConfig(in_channels=2, size=16, channels=(5, 7), num_classes=4)
            _params = tinycnn.init_params(_config, seed=3)
            _x = np.random.default_rng(2012).normal(size=(3, 2, 16, 16))
            _got = my_forward({_k: _v.copy() for _k, _v in _params.items()}, _x.copy())
            _got = _got[0] if isinstance(_got, tuple) else _got
            assert np.allclose(_got, tinycnn.forward(_params, _x)[0]), "the logits differ from tinycnn.forward's for 2 channels of 16x16"
        """),
        wrong=(("h = max_pool2d(\n        relu(conv2d_im2col(h,", "h = max_pool2d(\n        (conv2d_im2col(h,"),),  # no second ReLU
        prose=False,
    ),
    # --- Chapter 5 ------------------------------------------------------------------------
    "ch5-factor": Autograded(
        checks="`patches_227` is 1,800",
        ask="`patches_227`: the number of training patches (crops and flips) of a 256x256 image at 227x227.",
        answer="patches_227 = (256 - 227 + 1) ** 2 * 2",
        tests=_one("""
            assert patches_227 == 1800, f"30 x 30 positions (0 to 29 on each axis) x 2 flips = 1,800; yours {patches_227}"
        """),
        wrong=(("(256 - 227 + 1) ** 2 * 2", "(256 - 227) ** 2 * 2"),),
        look_for="RandomResizedCrop draws continuous area and aspect ratio: a continuum, finite only after rounding to pixels and astronomically large; it also changes the scale",
    ),
    "ch5-pca": Autograded(
        checks="`pca_lighting` on other images, eigenvectors and draws",
        tests=_one("""
            _rng = np.random.default_rng(2012)
            for _case in range(3):
                _eigvec = np.linalg.qr(_rng.normal(size=(3, 3)))[0]
                _eigval, _alphas = _rng.uniform(0.001, 0.3, size=3), _rng.normal(0, 0.5, size=3)
                _image = _rng.random((3, 6 + _case, 7))
                _got = np.asarray(pca_lighting(_image.copy(), _alphas.copy(), _eigval.copy(), _eigvec.copy()))
                _expected = _image + (_eigvec @ (_alphas * _eigval))[:, None, None]
                assert _got.shape == _image.shape and np.allclose(_got, _expected), "the offset is eigvec @ (alphas * eigval), added to every pixel"
        """),
        wrong=(("eigvec @ (alphas * eigval)", "eigvec.T @ (alphas * eigval)"),),
        prose=False,
    ),
    "ch5-tencrop": Autograded(
        checks="`my_ten_crop` against `evaluate.ten_crop` on other images, sizes and a batch",
        tests=_one("""
            _gen = torch.Generator().manual_seed(2012)
            for _shape, _s in (((3, 36, 44), 30), ((2, 3, 40, 50), 32)):
                _image = torch.rand(_shape, generator=_gen)
                _got = my_ten_crop(_image.clone(), _s)
                assert torch.equal(torch.as_tensor(_got), evaluate.ten_crop(_image, _s)), f"{tuple(_shape)}, patches of {_s}: not evaluate.ten_crop's ten"
        """),
        wrong=(("five(image) + five(image.flip(-1))", "five(image) + [c.flip(-1) for c in five(image)]"),),
        prose=False,
    ),
    "ch5-mean": Autograded(
        checks="`by_image`, `by_channel` and `difference` recomputed from `stats` and `photo`",
        ask="keep the two results in `by_image` and `by_channel`, and their absolute difference in `difference`.",
        tests=_one("""
            _image = data.paper_transform(False, normalize="image", mean_image=stats["mean_image"])(photo)
            _channel = data.paper_transform(False, normalize="channel", mean=stats["mean"].tolist(), std=(1, 1, 1))(photo)
            assert torch.allclose(torch.as_tensor(by_image), _image, atol=1e-5), "by_image: the paper's transform with the mean image"
            assert torch.allclose(torch.as_tensor(by_channel), _channel, atol=1e-5), "by_channel: the channel means subtracted, std (1, 1, 1)"
            assert torch.allclose(torch.as_tensor(difference).abs(), (_image - _channel).abs(), atol=1e-5), "difference: |by_image - by_channel|"
        """),
        wrong=((", std=(1, 1, 1)\n)(photo)", "\n)(photo)"),),  # divides by ImageNet's standard deviations
        prose=False,
    ),
    # --- Chapter 6 ------------------------------------------------------------------------
    "ch6-conv2": Autograded(
        checks="conv2's parameters (307,456 and 614,656) and multiply-adds with and without groups",
        ask=("`conv2_params` and `conv2_macs`: dicts from `groups` (2 and 1) to conv2's parameters (weights "
             "and biases) and its multiply-adds per image."),
        answer=_code("""
            conv2_params = {g: c_out * (c_in // g) * k * k + c_out for g in (2, 1)}
            conv2_macs = {g: c_out * hw * hw * (c_in // g) * k * k for g in (2, 1)}
        """),
        tests=_one("""
            _expected = {_g: 256 * (96 // _g) * 5 * 5 + 256 for _g in (2, 1)}  # 256 filters of 5x5 over 96 / groups maps
            assert {_g: conv2_params[_g] for _g in (2, 1)} == _expected, f"parameters: {_expected}; yours {conv2_params}"
            _macs = {2: 27 * 27 * 256 * 48 * 25, 1: 27 * 27 * 256 * 96 * 25}
            assert {_g: conv2_macs[_g] for _g in (2, 1)} == _macs, f"multiply-adds: {_macs}; yours {conv2_macs}"
        """),
        wrong=(("* k * k + c_out for g", "* k * k for g"),),  # the biases forgotten
        prose=False,
    ),
    "ch6-receptive": Autograded(
        checks="`receptive_field` on random chains of layers; `pool5_field` is (195, 32)",
        ask="`pool5_field`: the `(size, jump)` of a unit after pool5 in AlexNet.",
        answer="pool5_field = receptive_field([(k, s) for _, k, s in summary.window_layers(model)])",
        tests=(
            Test(_code("""
                _rng = np.random.default_rng(2012)
                for _case in range(20):
                    _chain = [(int(_rng.integers(1, 8)), int(_rng.integers(1, 4))) for _ in range(int(_rng.integers(1, 7)))]
                    _got = tuple(receptive_field(list(_chain)))
                    assert _got == summary.receptive_field(_chain), f"layers {_chain}: {summary.receptive_field(_chain)}, yours {_got}"
            """), part="function"),
            Test(_code("""
                assert tuple(pool5_field) == (195, 32), f"after pool5: 195 pixels wide, neighbours 32 apart; yours {tuple(pool5_field)}"
            """), part="pool5"),
        ),
        wrong=(("size += (kernel - 1) * jump\n        jump *= stride", "jump *= stride\n        size += (kernel - 1) * jump"),),
        prose=False,
    ),
    "ch6-memory": Autograded(
        checks="`state_gb`, `activation_gb` and `total` recomputed from `summary.totals(paper_rows)`",
        ask=("`state_gb`: weights, gradients and momentum in GB; `activation_gb`: the activations kept for the "
             "backward pass and their gradients for a batch of 128, in GB; `total`: the two together."),
        tests=_one("""
            _t = summary.totals(paper_rows)
            _state, _act = 3 * _t["params"] * 4 / 1e9, 2 * _t["activations"] * 4 * 128 / 1e9
            for _name, _got, _expected in (("state_gb", state_gb, _state), ("activation_gb", activation_gb, _act), ("total", total, _state + _act)):
                assert abs(_got - _expected) <= 0.01 * _expected, f"{_name}: about {_expected:.2f} GB; yours {_got:.2f}"
        """),
        wrong=(('activation_gb = 2 * t["activations"]', 'activation_gb = t["activations"]'),),  # the gradients forgotten
        look_for="about 2 GB: under 3 GB on paper but not by a wide margin once workspace and inputs are added (the paper: too big for one GTX 580); about half on each of two",
    ),
    "ch6-one-tower": Autograded(
        checks="`one_gpu`'s layers (48, 128, 192, 192, 256 kernels, no groups), its output and its parameter count",
        ask="the autograder reads your `one_gpu`.",
        tests=_one("""
            from torch import nn as _nn
            _convs = [_m for _m in one_gpu.modules() if isinstance(_m, _nn.Conv2d)]
            assert [_m.out_channels for _m in _convs] == [48, 128, 192, 192, 256], f"kernels per layer: {[_m.out_channels for _m in _convs]}"
            assert all(_m.groups == 1 for _m in _convs), "one GPU: no groups"
            with torch.no_grad():
                _out = one_gpu(torch.zeros(1, 3, 227, 227))
            assert tuple(_out.shape) == (1, 1000), f"the output for one 227x227 image: {tuple(_out.shape)}"
            _expected = sum(_o * _i * _k * _k + _o for _i, _o, _k in ((3, 48, 11), (48, 128, 5), (128, 192, 3), (192, 192, 3), (192, 256, 3)))
            _expected += sum(_i * _o + _o for _i, _o in ((9216, 4096), (4096, 4096), (4096, 1000)))
            assert count_parameters(one_gpu) == _expected, f"{_expected:,} parameters; yours {count_parameters(one_gpu):,}"
        """),
        wrong=(("nn.Conv2d(192, 256, 3, padding=1)", "nn.Conv2d(192, 128, 3, padding=1)"),
               ("nn.Linear(256 * 6 * 6, 4096)", "nn.Linear(128 * 6 * 6, 4096)")),  # conv5 halved too
        look_for="about 59.8 against 61.0 million parameters; halving conv5 would halve fc6, which holds most of them, so the comparison would be between networks of very different sizes",
    ),
    "ch6-padding": Autograded(
        checks="`unseen` is column 227 only",
        ask="`unseen`: the columns of the padded 228-wide input that no window covers.",
        tests=_one("""
            _covered = np.zeros(228, dtype=bool)
            for _i in range(55):
                _covered[4 * _i : 4 * _i + 11] = True
            assert [int(_c) for _c in unseen] == np.flatnonzero(~_covered).tolist(), f"never covered: {np.flatnonzero(~_covered).tolist()}; yours {list(unseen)}"
        """),
        wrong=(("covered[i * s : i * s + k] = True", "covered[i * s : i * s + k - 1] = True"),),
        prose=False,
    ),
    # --- Chapter 7 ------------------------------------------------------------------------
    "ch7-steps": Autograded(
        checks="`steps` (843,750), `steps_per_second` (1.78) and `images_per_second` (227)",
        ask="`steps`: the paper's number of SGD steps; `steps_per_second` and `images_per_second` over five and a half days.",
        answer="steps_per_second, images_per_second = steps / seconds, images * epochs / seconds",
        tests=_one("""
            _steps, _seconds = 1.2e6 / 128 * 90, 5.5 * 86400
            for _name, _got, _expected in (("steps", steps, _steps), ("steps_per_second", steps_per_second, _steps / _seconds),
                                           ("images_per_second", images_per_second, 1.2e6 * 90 / _seconds)):
                assert abs(_got - _expected) <= 0.01 * _expected, f"{_name}: about {_expected:,.2f}; yours {_got:,.2f}"
        """),
        wrong=(("steps = images / batch * epochs", "steps = images / batch"),),
        prose=False,
    ),
    "ch7-lr": Autograded(
        checks="the plot `ax`: validation error in percent for the rates 0.002 and 0.02 (and 0.2 where it trained)",
        ask=("keep the axes in `ax`, with the validation error (in percent) against the epoch for each rate "
             "that trained, labelled `lr 0.002`, `lr 0.02` and `lr 0.2`."),
        tests=_one("""
            _curves = {_line.get_label(): np.asarray(_line.get_ydata(), dtype=float) for _line in ax.get_lines() if _line.get_label().startswith("lr ")}
            assert {"lr 0.002", "lr 0.02"} <= set(_curves) <= {"lr 0.002", "lr 0.02", "lr 0.2"}, f"curves labelled lr 0.002, lr 0.02 (and lr 0.2); yours {sorted(_curves)}"
            _values = np.concatenate(list(_curves.values()))
            assert len(_values) and np.all((_values >= 0) & (_values <= 100)) and _values.max() > 1, "validation errors in percent (0 to 100)"
        """),
        wrong=(('[100 * r["val_top1_error"] for r in runs]', '[r["val_top1_error"] for r in runs]'),),
        look_for="the measured errors of each rate; the largest stays at chance or diverges (ReLUs dead, loss jumping), and the plateau rule divides a slightly too large rate once progress stalls",
    ),
    "ch7-sgd": Autograded(
        checks="the weights *and the velocity* `sgd_step` returns, with a learning rate that changes between steps",
        tests=_one("""
            _rng = np.random.default_rng(2012)
            _w, _v = _rng.normal(size=(3, 4)), np.zeros((3, 4))
            _mine_w, _mine_v = _w.copy(), _v.copy()
            for _lr in (0.1, 0.05, 0.01):
                _g = _rng.normal(size=(3, 4))
                _v = 0.9 * _v - 5e-4 * _lr * _w - _lr * _g
                _w = _w + _v
                _mine_w, _mine_v = sgd_step(_mine_w.copy(), _g.copy(), _mine_v.copy(), _lr, 0.9, 5e-4)
                assert np.allclose(_mine_v, _v) and np.allclose(_mine_w, _w), f"with the rate changed to {_lr}: v = momentum*v - decay*lr*w - lr*grad, w = w + v"
        """),
        wrong=(("v = momentum * v - weight_decay * lr * w - lr * grad\n    return w + v, v",
                "v = momentum * v + grad + weight_decay * w\n    return w - lr * v, v"),),  # PyTorch's velocity
        keeps=("check",),  # the same steps while the rate stays constant
        prose=False,
    ),
    # --- Chapter 8 ------------------------------------------------------------------------
    "ch8-topk": Autograded(
        checks="`my_topk_error` against the library on other shapes and k",
        tests=_one("""
            _rng = np.random.default_rng(2012)
            for _n, _c in ((37, 7), (12, 100)):
                _scores, _labels = _rng.normal(size=(_n, _c)), _rng.integers(0, _c, size=_n)
                for _k in (1, 3, _c):
                    _expected = evaluate.topk_error(_scores, _labels, ks=(_k,))[_k]
                    _got = float(my_topk_error(_scores.copy(), _labels.copy(), _k))
                    assert abs(_got - _expected) < 1e-9, f"{_n} images, {_c} classes, k={_k}: {_expected:.4f}, yours {_got:.4f}"
        """),
        wrong=(("np.argsort(-scores, axis=1", "np.argsort(scores, axis=1"),),
        prose=False,
    ),
    "ch8-views": Autograded(
        checks="`view_errors` recomputed from `views` and `labels`",
        ask=("`view_errors`: a dict from `\"centre\"`, `\"centre + mirror\"`, `\"five, no mirrors\"` and "
             "`\"all ten\"` to that way's top-1 error (a fraction)."),
        answer=_code("""
            view_errors = {
                name: evaluate.topk_error(views[which].mean(dim=0), labels, ks=(1,))[1]
                for name, which in (
                    ("centre", [4]),
                    ("centre + mirror", [4, 9]),
                    ("five, no mirrors", [0, 1, 2, 3, 4]),
                    ("all ten", list(range(10))),
                )
            }
        """),
        tests=_one("""
            for _name, _which in (("centre", [4]), ("centre + mirror", [4, 9]), ("five, no mirrors", [0, 1, 2, 3, 4]), ("all ten", list(range(10)))):
                _expected = evaluate.topk_error(views[_which].mean(dim=0), labels, ks=(1,))[1]
                assert abs(float(view_errors[_name]) - _expected) < 1e-9, f"{_name}: {_expected:.4f}; yours {float(view_errors[_name]):.4f}"
        """),
        wrong=(("ks=(1,))[1]", "ks=(5,))[5]"),),  # the top-5 errors
        look_for="the four errors compared with the test set's noise (count the images each way gets right and the other wrong), not ranked on a few tenths of a point",
    ),
    "ch8-chance": Autograded(
        checks="the chance-level errors 90%/50% (10 classes) and 99.9%/99.5% (1000)",
        ask=("`chance`: a dict from `\"Imagenette\"` and `\"ImageNet\"` to the pair (top-1 error, top-5 error), "
             "as fractions, of a network that ranks the classes at random."),
        answer='chance = {"Imagenette": (1 - 1 / 10, 1 - 5 / 10), "ImageNet": (1 - 1 / 1000, 1 - 5 / 1000)}',
        tests=_one("""
            for _name, _c in (("Imagenette", 10), ("ImageNet", 1000)):
                assert np.allclose(chance[_name], (1 - 1 / _c, 1 - 5 / _c)), f"{_name}: 1 - k/C = {(1 - 1 / _c, 1 - 5 / _c)}; yours {chance[_name]}"
        """),
        wrong=(("1 - 5 / 1000", "5 / 1000"),),
        prose=False,
    ),
    "ch8-confused": Autograded(
        checks="`mistaken` and `correct` are up to six images of class `t` predicted `q`, and predicted right",
        ask=("`mistaken` and `correct`: the indices (into `images`) of up to six test images of class `t` "
             "taken for `q`, and of up to six of class `t` classified right (from the ten-patch `p`)."),
        tests=_one("""
            _pred = p.argmax(dim=1)
            for _name, _got, _said in (("mistaken", mistaken, int(q)), ("correct", correct, int(t))):
                _got = torch.as_tensor(_got).long().flatten()
                _there = int(((labels == int(t)) & (_pred == _said)).sum())
                assert len(_got) == min(6, _there), f"{_name}: {min(6, _there)} images; yours {len(_got)}"
                assert bool((labels[_got] == int(t)).all() and (_pred[_got] == _said).all()), f"{_name}: images of class {int(t)} predicted {_said}"
        """),
        # the class left out: images predicted `q` of any class (with the chapter's `t` and `q`, the
        # images of class `t` alone can all be predicted `q`, and a test could not tell them apart)
        wrong=(("mistaken = torch.nonzero(of_class & (predicted == int(q)))", "mistaken = torch.nonzero(predicted == int(q))"),),
        look_for="what the mistaken photographs share with the other class (context, pose, size of the object in the picture), from the student's own pair",
    ),
    # --- Chapter 9 ------------------------------------------------------------------------
    "ch9-colour": Autograded(
        checks="`shares` are the colour shares of the changes (not of the trained kernels); `ranking` orders them",
        ask="`shares`: the colour share of each of the 96 changes (`change`); `ranking`: their indices from the lowest share to the highest.",
        tests=_one("""
            _expected = viz.colour_share(change)
            assert np.shape(shares) == _expected.shape, f"shares: one for each of the {len(_expected)} changes, not {np.shape(shares)}"
            assert np.allclose(np.asarray(shares, dtype=float), _expected, atol=1e-6), "shares: viz.colour_share of what training added, change"
            _order = np.asarray(ranking).astype(int)
            assert sorted(_order.tolist()) == list(range(len(_expected))) and np.all(np.diff(_expected[_order]) >= -1e-12), "ranking: every index, lowest share first"
        """),
        wrong=(("shares = viz.colour_share(change)", "shares = viz.colour_share(after)"),),
        look_for="the lowest shares are grey stripes and edges mostly from the first tower, the highest one-colour blobs mostly from the second; the trained kernels are still mostly their random start, so ranking them sorts noise",
    ),
    "ch9-knn": Autograded(
        checks="`knn_guesses` spot-checked against the 10 nearest neighbours; `knn_errors` and `network_error` consistent with them",
        ask=("`knn_guesses`: a dict from `\"last hidden layer\"` and `\"pixels\"` to the 10-nearest-neighbour "
             "classifier's guesses for the test images `sample`; `knn_errors`: the same keys to its top-1 "
             "errors; `network_error`: the network's own top-1 error on them."),
        answer=_code("""
            knn_guesses, knn_errors = {}, {}
            for space, (query, bank) in {
                "last hidden layer": (test_vectors, train_vectors),
                "pixels": (pixels(centre(test_images[sample])), train_pixels),
            }.items():
                knn_guesses[space] = torch.mode(train_labels[viz.nearest(query, bank, k=10)], dim=1).values
                knn_errors[space] = float((knn_guesses[space] != test_labels[sample]).float().mean())
            network_error = float((own != test_labels[sample]).float().mean())
        """),
        tests=_one("""
            _truth = test_labels[sample]
            _some = torch.randperm(len(sample), generator=torch.Generator().manual_seed(2012))[:100]
            for _space, (_query, _bank) in (("last hidden layer", (test_vectors[_some], train_vectors)),
                                            ("pixels", (pixels(centre(test_images[sample[_some]])), train_pixels))):
                _guess = torch.as_tensor(knn_guesses[_space]).long().flatten()
                assert len(_guess) == len(sample), f"{_space}: one guess per test image of sample"
                _counts = torch.nn.functional.one_hot(train_labels[viz.nearest(_query, _bank, k=10)].long(), classes).sum(dim=1)
                _ok = _counts.gather(1, _guess[_some, None]).flatten() == _counts.max(dim=1).values
                assert bool(_ok.all()), f"{_space}: {int((~_ok).sum())} of 100 guesses checked are not the most common class of the 10 nearest"
                _error = float((_guess != _truth).float().mean())
                assert abs(float(knn_errors[_space]) - _error) < 1e-6, f"{_space}: your guesses have error {_error:.3f}; knn_errors says {float(knn_errors[_space]):.3f}"
            with torch.no_grad():
                _own = model(prepare(centre(test_images[sample[_some]]))).argmax(dim=1)
            _network = float((_own != _truth[_some]).float().mean())
            assert abs(float(network_error) - _network) < 0.15, f"the network's error on 100 of the images is {_network:.2f}; yours {float(network_error):.2f} on all"
        """),
        wrong=(("viz.nearest(query, bank, k=10)], dim=1)", "viz.nearest(query, bank, k=1)], dim=1)"),),
        look_for="pixel-space neighbours classify poorly, the hidden layer's nearly as well as the network: the last hidden layer has already separated the classes",
    ),
    "ch9-untrained": Autograded(
        checks="`random_maps` are the untrained network's relu2 maps of the first three photographs of `picks`",
        ask="`random_maps`: the untrained network's `relu2` maps (as `viz.activations` returns them) of the first three photographs of `picks`.",
        tests=_one("""
            _expected = viz.activations(untrained, prepare(centre(test_images[picks[:3]])), ["relu2"])["relu2"]
            assert torch.allclose(torch.as_tensor(random_maps), _expected, atol=1e-5), "random_maps: relu2 of the untrained network (untrained), first three picks"
        """),
        wrong=(("random_maps = viz.activations(\n    untrained,", "random_maps = viz.activations(\n    model,"),),
        look_for="untrained maps are blurred copies of the image, every channel alike; trained channels differ and many are silent: detectors for something specific",
    ),
    "ch9-share": Autograded(
        checks="`my_colour_share` against the library on other kernel shapes",
        tests=_one("""
            _rng = np.random.default_rng(2012)
            for _shape in ((5, 3, 3, 3), (4, 3, 11, 11)):
                _weight = _rng.normal(loc=0.3, size=_shape)
                _got = np.asarray(my_colour_share(_weight.copy()), dtype=float)
                assert np.allclose(_got, viz.colour_share(torch.tensor(_weight)), atol=1e-9), f"kernels {_shape}: wrong shares"
        """),
        wrong=(("centred = weight - weight.mean(axis=(1, 2, 3), keepdims=True)", "centred = weight"),),
        prose=False,
    ),
    # --- Chapter 10 -----------------------------------------------------------------------
    "ch10-se": Autograded(
        checks="`d`, `paired_se`, `half` and `unpaired_se` recomputed from the recorded study",
        ask=("`d`: the differences by seed (PCA colour minus the baseline), `paired_se`, `half` (the half-width "
             "of the 95% interval) and `unpaired_se`, all as fractions."),
        tests=_one("""
            _a = {_r["seed"]: _r["test_top1_error"] for _r in study["runs"] if _r["experiment"] == "with PCA colour augmentation (0.1)"}
            _b = {_r["seed"]: _r["test_top1_error"] for _r in study["runs"] if _r["experiment"] == ablations.EXPERIMENTS[0].name}
            _d = np.array([_a[_s] - _b[_s] for _s in sorted(_a)])
            _se = _d.std(ddof=1) / np.sqrt(len(_d))
            _half = ablations.t_quantile(0.975, len(_d) - 1) * _se
            _va, _vb = np.array(list(_a.values())), np.array(list(_b.values()))
            _unpaired = np.sqrt(_va.var(ddof=1) / len(_va) + _vb.var(ddof=1) / len(_vb))
            assert np.allclose(np.asarray(d, dtype=float), _d), f"d: {np.round(_d, 4)}"
            for _name, _got, _expected in (("paired_se", paired_se, _se), ("half", half, _half), ("unpaired_se", unpaired_se, _unpaired)):
                assert abs(float(_got) - _expected) < 1e-9, f"{_name}: {_expected:.5f} (sample standard deviations, ddof=1); yours {float(_got):.5f}"
        """),
        wrong=(("paired_se = d.std(ddof=1)", "paired_se = d.std()"),),
        look_for="the verdict checked against the table; the paired error uses only how the differences vary, so what a seed does to both runs cancels (it can be larger where the runs of a seed are unalike); t(0.975, 2) = 4.30 makes any interval wide",
    ),
    "ch10-gap": Autograded(
        checks="`gaps` recomputed from the recorded study; `widest` names the removal that widens the gap most",
        ask=("`gaps`: a dict from the three experiments' names (as in the study) to the mean validation-minus-training "
             "error, as a fraction; `widest`: the name of the removal that widens the gap most."),
        answer=_code("""
            gaps = {}
            for name in (ablations.EXPERIMENTS[0].name, "no dropout", "no random patches or flips"):
                runs = [r for r in study["runs"] if r["experiment"] == name]
                gaps[name] = float(np.mean([r["val_top1_error"] - r["train_top1_error"] for r in runs]))
            widest = max(("no dropout", "no random patches or flips"), key=gaps.get)
        """),
        tests=_one("""
            _gaps = {}
            for _name in (ablations.EXPERIMENTS[0].name, "no dropout", "no random patches or flips"):
                _gaps[_name] = float(np.mean([_r["val_top1_error"] - _r["train_top1_error"] for _r in study["runs"] if _r["experiment"] == _name]))
                assert abs(float(gaps[_name]) - _gaps[_name]) < 1e-9, f"{_name}: {_gaps[_name]:+.4f}; yours {float(gaps[_name]):+.4f}"
            assert widest == max(("no dropout", "no random patches or flips"), key=_gaps.get), "widest: the removal with the larger gap"
        """),
        wrong=(('r["val_top1_error"] - r["train_top1_error"] for r in runs]))', 'r["train_top1_error"] - r["val_top1_error"] for r in runs]))'),),
        prose=False,
    ),
    "ch10-modern": Autograded(
        checks="`modern` makes the four changes with the given settings; `result` is its run on the live experiment's base",
        ask="keep the experiment in `modern` and its run (`ablations.run_one`) in `result`.",
        tests=_one("""
            _wanted = {"norm": "batch", "optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.05, "label_smoothing": 0.1, "schedule": "cosine"}
            assert dict(modern.changes) == _wanted, f"the four changes: {_wanted}; yours {dict(modern.changes)}"
            assert result["experiment"] == modern.name and result["epochs"] == base.epochs, f"result: a run of modern for {base.epochs} epoch(s), as the live experiment"
        """),
        wrong=(('        "label_smoothing": 0.1,\n', ""),),
        look_for="one run against two is weak evidence; the gains of changes need not add up (batch normalisation and AdamW overlap), and the cosine schedule weighs most in a short run",
    ),
    "ch10-seeds": Autograded(
        checks="`needed` recomputed from the study's median paired spread",
        ask="`needed`: the number of seeds for a 95% interval of ±0.5 points.",
        tests=_one("""
            _s = float(np.median([_r["vs_baseline_se"] * np.sqrt(_r["pairs"]) for _r in rows if _r["vs_baseline"] is not None]))
            _n = next(_n for _n in range(2, 100_000) if ablations.t_quantile(0.975, _n - 1) * _s / np.sqrt(_n) <= 0.005)
            assert int(needed) == _n, f"with the paired differences' spread {100 * _s:.2f} points: {_n} seeds; yours {needed}"
        """),
        wrong=(('spreads = [r["vs_baseline_se"] * np.sqrt(r["pairs"]) for r in compared]',
                'spreads = [r["vs_baseline_se"] for r in compared]'),),  # the standard error, not the spread
        prose=False,
    ),
    "ch10-smoothing": Autograded(
        checks="`my_smoothed_loss` on logits in the thousands (finite, equal to torch's)",
        tests=_one("""
            _rng = np.random.default_rng(2012)
            _logits, _targets = _rng.normal(size=(5, 12)) * 1000, _rng.integers(0, 12, size=5)
            with np.errstate(all="ignore"):
                _got = float(my_smoothed_loss(_logits.copy(), _targets.copy(), 0.2))
            _expected = float(torch.nn.functional.cross_entropy(torch.tensor(_logits), torch.tensor(_targets), label_smoothing=0.2))
            assert np.isfinite(_got) and abs(_got - _expected) < 1e-6 * max(1.0, abs(_expected)), f"logits near 1000: {_expected:.3f}, yours {_got} (subtract each row's largest logit)"
        """),
        wrong=(("shifted = logits - logits.max(axis=1, keepdims=True)", "shifted = logits"),),
        keeps=("check",),  # the self-check's logits are small
        look_for="the shift changes no probability; it keeps the exponentials finite (overflow beyond about 709 in float64, 88 in float32)",
    ),
}

# Exercises graded by hand only: their answer is a judgement or a measurement of the machine.
BY_HAND: dict[str, str] = {
    "ch4-momentum": "without momentum the same rate is much slower; a rate about ten times larger (1 / (1 - 0.9)) comparable, but noisier",
    "ch5-workers": "the machine's core count next to the numbers; no gain from one worker (copying), gains only with free cores",
    # The book's solution does not show what the exercise asks: its eight steps end on the
    # epoch's last, partial batch (230 training images = 7 x 32 + 6), which the accumulated run
    # takes as a step of its own with the loss halved, so the weights differ by about 2e-3,
    # not by rounding. Autograde it (the difference below 1e-4) once that is fixed.
    "ch7-accumulate": "the measured difference and why: the same gradients added in another order (float32 rounding, about 1e-7), each half-batch loss divided by accumulate; in the book's setup the eighth step is the epoch's partial last batch, which the accumulated run halves (about 2e-3): credit noticing it",
    "ch7-decay": "the measured errors and their number of runs; at this scale not the paper's effect (the recorded study: lower training error without decay)",
    "ch9-square": "small squares hide too little, large ones hide everything; the informative size is that of the object's distinctive parts",
}


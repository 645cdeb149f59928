"""im2col convolution and the hand-written backward pass, against PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from alexnet_lib import conv
from alexnet_lib.conv import ConvShapeError
from alexnet_lib.gradcheck import numerical_gradient, relative_error

from test_conv import conv_case


@settings(max_examples=150, deadline=None)
@given(conv_case())
def test_im2col_forward_matches_torch(case):
    x, w, b, stride, padding, groups = case
    ours = conv.conv2d_im2col(x, w, b, stride=stride, padding=padding, groups=groups)
    ref = F.conv2d(torch.tensor(x), torch.tensor(w), None if b is None else torch.tensor(b),
                   stride=stride, padding=padding, groups=groups).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)
    assert ours.flags.c_contiguous


@settings(max_examples=150, deadline=None)
@given(conv_case())
def test_backward_matches_torch_autograd(case):
    x, w, b, stride, padding, groups = case
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.zeros(w.shape[0], dtype=torch.float64, requires_grad=True)
    out = F.conv2d(xt, wt, bt, stride=stride, padding=padding, groups=groups)
    dout = np.random.default_rng(0).normal(size=out.shape)
    out.backward(torch.tensor(dout))
    dx, dw, db = conv.conv2d_backward(dout, x, w, stride=stride, padding=padding, groups=groups)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(dw, wt.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(db, bt.grad.numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("stride", "padding", "groups"), [(1, 0, 1), (2, 1, 1), (1, 1, 2), (3, 2, 3)])
def test_backward_by_finite_differences(stride, padding, groups):
    rng = np.random.default_rng(stride * 10 + padding)
    x = rng.normal(size=(2, 3 * groups, 7, 7))
    w = rng.normal(size=(2 * groups, 3, 3, 3))
    b = rng.normal(size=2 * groups)
    out = conv.conv2d_im2col(x, w, b, stride=stride, padding=padding, groups=groups, floor=True)
    dout = rng.normal(size=out.shape)
    dx, dw, db = conv.conv2d_backward(dout, x, w, stride=stride, padding=padding, groups=groups, floor=True)

    def f_x(v):
        return conv.conv2d_naive(v, w, b, stride, padding, groups, floor=True)

    def f_w(v):
        return conv.conv2d_naive(x, v, b, stride, padding, groups, floor=True)

    def f_b(v):
        return conv.conv2d_naive(x, w, v, stride, padding, groups, floor=True)

    assert relative_error(dx, numerical_gradient(f_x, x.copy(), dout)) < 1e-7
    assert relative_error(dw, numerical_gradient(f_w, w.copy(), dout)) < 1e-7
    assert relative_error(db, numerical_gradient(f_b, b.copy(), dout)) < 1e-7


def test_im2col_layout_and_col2im_is_its_adjoint():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 6, 5))
    cols, (oh, ow) = conv.im2col(x, 3, stride=1, padding=1)
    assert cols.shape == (3 * 9, 2 * oh * ow) and (oh, ow) == (6, 5)
    # row (c, u, v), column (n, i, j) holds x_pad[n, c, i + u, j + v]
    xp = conv.pad2d(x, 1)
    assert cols[1 * 9 + 2 * 3 + 0, 1 * oh * ow + 4 * ow + 3] == xp[1, 1, 4 + 2, 3 + 0]
    # <im2col(x), c> == <x, col2im(c)>: col2im is the transpose of the unfolding
    c = rng.normal(size=cols.shape)
    back = conv.col2im(c, x.shape, 3, 1, 1)
    assert np.sum(cols * c) == pytest.approx(np.sum(x * back))


def test_col2im_counts_overlaps():
    ones = np.ones((1, 1, 4, 4))
    cols, _ = conv.im2col(ones, 3)
    counts = conv.col2im(cols, ones.shape, 3)
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


def test_float32_stays_float32():
    x = np.ones((1, 2, 5, 5), dtype=np.float32)
    w = np.ones((3, 2, 3, 3), dtype=np.float32)
    assert conv.conv2d_im2col(x, w).dtype == np.float32
    dx, dw, db = conv.conv2d_backward(np.ones((1, 3, 3, 3), dtype=np.float32), x, w)
    assert dx.dtype == dw.dtype == db.dtype == np.float32


def test_errors():
    with pytest.raises(ConvShapeError, match=r"dout has shape \(1, 3, 4, 4\).*\(1, 3, 3, 3\)"):
        conv.conv2d_backward(np.zeros((1, 3, 4, 4)), np.zeros((1, 2, 5, 5)), np.zeros((3, 2, 3, 3)))
    with pytest.raises(ConvShapeError, match="channels do not match"):
        conv.conv2d_im2col(np.zeros((1, 3, 8, 8)), np.zeros((4, 2, 3, 3)))
    with pytest.raises(ConvShapeError, match="not an integer"):
        conv.conv2d_im2col(np.zeros((1, 3, 224, 224)), np.zeros((1, 3, 11, 11)), stride=4)
    with pytest.raises(ConvShapeError, match="larger than the padded input"):
        conv.im2col(np.zeros((1, 1, 2, 2)), 3)
    with pytest.raises(ConvShapeError, match="unfolds to"):
        conv.col2im(np.zeros((5, 5)), (1, 1, 4, 4), 3)


def test_reexports():
    from alexnet_lib import layers

    assert conv.max_pool2d is layers.max_pool2d
    assert conv.local_response_norm is layers.local_response_norm
    with pytest.raises(AttributeError):
        conv.no_such_function  # noqa: B018


# --- Winograd and FFT ------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), groups=st.sampled_from([1, 2]), c_per=st.integers(1, 4), o_per=st.integers(1, 4),
       h=st.integers(3, 14), w_extra=st.integers(0, 3), padding=st.integers(0, 2), m=st.sampled_from([2, 4]))
def test_winograd_matches_torch(n, groups, c_per, o_per, h, w_extra, padding, m):
    rng = np.random.default_rng(h * 7 + padding)
    x = rng.normal(size=(n, c_per * groups, h, h + w_extra))
    w = rng.normal(size=(o_per * groups, c_per, 3, 3))
    b = rng.normal(size=o_per * groups)
    expected = F.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), padding=padding, groups=groups).numpy()
    got = conv.conv2d_winograd(x, w, b, padding=padding, groups=groups, m=m)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)  # float64: exact up to rounding


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), groups=st.sampled_from([1, 2]), c_per=st.integers(1, 3), o_per=st.integers(1, 3),
       h=st.integers(5, 16), k=st.integers(1, 5), stride=st.integers(1, 4), padding=st.integers(0, 2))
def test_fft_matches_torch(n, groups, c_per, o_per, h, k, stride, padding):
    rng = np.random.default_rng(h * 11 + k)
    x = rng.normal(size=(n, c_per * groups, h, h + 1))
    w = rng.normal(size=(o_per * groups, c_per, k, k))
    expected = F.conv2d(torch.tensor(x), torch.tensor(w), stride=stride, padding=padding, groups=groups).numpy()
    got = conv.conv2d_fft(x, w, stride=stride, padding=padding, groups=groups)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-9)


def test_winograd_and_fft_in_float32_and_their_errors():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 16, 13, 13)).astype(np.float32)
    w = (rng.normal(size=(8, 16, 3, 3)) * 0.1).astype(np.float32)
    exact = F.conv2d(torch.tensor(x, dtype=torch.float64), torch.tensor(w, dtype=torch.float64), padding=1).numpy()
    for fn in (lambda: conv.conv2d_winograd(x, w, padding=1, m=2), lambda: conv.conv2d_winograd(x, w, padding=1, m=4),
               lambda: conv.conv2d_fft(x, w, padding=1), lambda: conv.conv2d_im2col(x, w, padding=1)):
        got = fn()
        assert got.dtype == np.float32
        assert np.abs(got - exact).max() < 1e-4 * np.abs(exact).max()


def test_winograd_needs_3x3_at_stride_1_and_says_what_to_use():
    x = np.zeros((1, 2, 8, 8))
    with pytest.raises(conv.ConvShapeError, match="3x3 kernels, got 5x5: use conv2d_im2col or conv2d_fft"):
        conv.conv2d_winograd(x, np.zeros((2, 2, 5, 5)))
    with pytest.raises(conv.ConvShapeError, match="stride-1 outputs, got stride 2"):
        conv.conv2d_winograd(x, np.zeros((2, 2, 3, 3)), stride=2)
    with pytest.raises(ValueError, match="m = 2 and m = 4"):
        conv.conv2d_winograd(x, np.zeros((2, 2, 3, 3)), m=3)
    with pytest.raises(conv.ConvShapeError, match="channels do not match"):
        conv.conv2d_fft(x, np.zeros((2, 3, 3, 3)))


def test_multiplications_counted():
    conv3 = (256, 15, 384, 3, 1, 1)  # 13x13 outputs of 3x3 kernels (15 pixels after padding)
    direct = conv.multiplications("direct", conv3)
    assert direct == 384 * 13 * 13 * 256 * 9
    assert conv.multiplications("winograd", conv3, m=2) == 384 * 256 * 7 * 7 * 16  # 49 tiles of 2x2
    assert conv.multiplications("winograd", conv3, m=4) == 384 * 256 * 4 * 4 * 36  # 16 tiles of 4x4
    # the minimal counts per tile: 2.25 and 4 times fewer than direct, before the ragged last tiles
    assert 9 * 4 / 16 == 2.25 and 9 * 16 / 36 == 4


def test_stage_marks_change_nothing_but_name_the_stages():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 7, 7)), rng.standard_normal((6, 4, 3, 3))
    for fn in (conv.conv2d_im2col, conv.conv2d_winograd):
        names = []
        with_marks = fn(x, w, padding=1, stages=names.append)
        np.testing.assert_array_equal(with_marks, fn(x, w, padding=1))
        assert "the multiplications" in names and names[-1].startswith("the rest (the bias")

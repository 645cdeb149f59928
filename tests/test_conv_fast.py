"""im2col convolution and the hand-written backward pass, against PyTorch and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings

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

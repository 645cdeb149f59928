"""The numpy convolutions on integer and half-precision input: computed in floating point, never
wrapped around (issue 26)."""

from __future__ import annotations

import numpy as np
import pytest

from alexnet_lib import conv


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.uint16, bool])
@pytest.mark.parametrize("function", [conv.conv2d_naive, conv.conv2d_im2col, conv.conv2d_fft, conv.conv2d_winograd])
def test_integer_input_is_computed_in_floating_point(function, dtype):
    value = 1 if dtype is bool else min(100, np.iinfo(dtype).max)
    x = np.full((1, 1, 3, 3), value, dtype=dtype)
    w = np.full((1, 1, 3, 3), value, dtype=dtype)
    out = function(x, w)
    assert out.dtype.kind == "f"
    np.testing.assert_allclose(out, np.full((1, 1, 1, 1), 9.0 * float(value) ** 2), rtol=1e-5)


def test_the_issue_s_example():
    x = np.full((1, 1, 3, 3), 200, dtype=np.uint8)
    assert conv.conv2d_im2col(x, x)[0, 0, 0, 0] == 360_000
    assert conv.conv2d_naive(x, x)[0, 0, 0, 0] == 360_000
    assert conv.correlate2d(x[0, 0], x[0, 0])[0, 0] == 360_000


def test_integer_bias_and_mixed_input():
    x = np.full((1, 2, 4, 4), 250, dtype=np.uint8)
    w = np.ones((3, 2, 3, 3), dtype=np.int64)
    b = np.array([255, 255, 255], dtype=np.uint8)
    expected = 18 * 250 + 255
    for function in (conv.conv2d_naive, conv.conv2d_im2col):
        assert np.all(function(x, w, b) == expected)


def test_the_backward_pass_on_integers():
    x = np.full((1, 1, 3, 3), 200, dtype=np.uint8)
    w = np.full((1, 1, 3, 3), 200, dtype=np.uint8)
    dout = np.full((1, 1, 1, 1), 200, dtype=np.uint8)
    dx, dw, db = conv.conv2d_backward(dout, x, w)
    assert dx.dtype.kind == dw.dtype.kind == db.dtype.kind == "f"
    assert np.all(dx == 40_000) and np.all(dw == 40_000) and db[0] == 200
    cols, _ = conv.im2col(x, 3)
    assert np.all(conv.col2im(cols, x.shape, 3) == 200)


def test_half_precision_does_not_overflow():
    x = np.full((1, 1, 3, 3), 300, dtype=np.float16)
    for function in (conv.conv2d_naive, conv.conv2d_im2col):
        out = function(x, x)
        assert np.isfinite(out).all() and out[0, 0, 0, 0] == 810_000
    assert np.isfinite(conv.correlate2d(x[0, 0], x[0, 0])).all()
    dx, dw, db = conv.conv2d_backward(np.full((1, 1, 1, 1), 300, np.float16), x, x)
    assert np.isfinite(dw).all() and dw[0, 0, 0, 0] == 90_000


@pytest.mark.parametrize("bad", [np.array([["a"]]), np.array([[object()]], dtype=object)])
def test_arrays_that_are_not_numbers_are_refused(bad):
    x = np.broadcast_to(bad, (3, 3))
    with pytest.raises(TypeError, match="numbers"):
        conv.correlate2d(x, np.ones((2, 2)))
    with pytest.raises(TypeError, match="numbers"):
        conv.conv2d_im2col(np.broadcast_to(bad, (1, 1, 3, 3)), np.ones((1, 1, 2, 2)))


def test_complex_input_is_refused():
    with pytest.raises(TypeError, match="real"):
        conv.conv2d_naive(np.ones((1, 1, 3, 3), complex), np.ones((1, 1, 2, 2)))


def test_float64_stays_float64_and_float32_stays_float32():
    x64 = np.random.default_rng(0).normal(size=(1, 2, 5, 5))
    w64 = np.random.default_rng(1).normal(size=(3, 2, 3, 3))
    assert conv.conv2d_im2col(x64, w64).dtype == np.float64
    assert conv.conv2d_im2col(x64.astype(np.float32), w64.astype(np.float32)).dtype == np.float32

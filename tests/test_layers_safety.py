"""The numpy layers on integer and half-precision input (issue 26): no wrap-around, no overflow."""

from __future__ import annotations

import numpy as np

from alexnet_lib import layers


def test_linear_on_integers():
    x = np.full((2, 3), 200, dtype=np.uint8)
    w = np.full((4, 3), 200, dtype=np.uint8)
    b = np.full(4, 200, dtype=np.uint8)
    out = layers.linear(x, w, b)
    assert out.dtype.kind == "f" and np.all(out == 3 * 40_000 + 200)
    dx, dw, db = layers.linear_backward(np.full((2, 4), 200, dtype=np.uint8), x, w)
    assert np.all(dx == 4 * 40_000) and np.all(dw == 2 * 40_000) and np.all(db == 400)


def test_linear_in_half_precision_does_not_overflow():
    x = np.full((1, 16), 100, dtype=np.float16)
    assert np.isfinite(layers.linear(x, x)).all() and layers.linear(x, x)[0, 0] == 160_000


def test_softmax_and_cross_entropy_on_integers():
    logits = np.array([[1, 200]], dtype=np.uint8)
    p = layers.softmax(logits)
    assert p.dtype.kind == "f" and p[0, 1] > 0.999
    loss, grad = layers.softmax_cross_entropy(logits, np.array([1]))
    assert loss < 1e-6 and grad.dtype.kind == "f"
    loss, _ = layers.softmax_cross_entropy(np.array([[0, 100]], dtype=np.int8), np.array([0]))
    assert abs(loss - 100) < 1e-4


def test_softmax_in_half_precision():
    p = layers.softmax(np.array([[60000, 0]], dtype=np.float16))
    assert np.isfinite(p).all() and abs(p.sum() - 1) < 1e-3


def test_tanh_backward_on_integers():
    assert layers.tanh_backward(np.ones(1, np.uint8), np.array([200], np.uint8))[0] == 1 - 40_000
    assert layers.tanh(np.array([1], np.uint8)).dtype == np.float32


def test_pooling_backward_and_lrn_on_integers():
    x = np.arange(16, dtype=np.uint8).reshape(1, 1, 4, 4) * 16
    assert layers.max_pool2d(x, 2)[0, 0, 1, 1] == 240
    dx = layers.max_pool2d_backward(np.full((1, 1, 2, 2), 200, np.uint8), x, 2)
    assert dx.dtype.kind == "f" and dx.sum() == 800
    assert layers.local_response_norm(np.full((1, 5, 1, 1), 200, np.uint8)).dtype.kind == "f"


def test_relu_backward_on_integers():
    assert layers.relu_backward(np.array([200], np.uint8), np.array([3], np.int8))[0] == 200

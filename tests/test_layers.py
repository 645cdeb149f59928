"""Pooling, LRN, activations, dropout, linear and softmax cross-entropy against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from alexnet_lib import layers
from alexnet_lib.conv import ConvShapeError
from alexnet_lib.gradcheck import numerical_gradient, relative_error


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(3, 11), w=st.integers(3, 11),
    k=st.integers(1, 3), s=st.integers(1, 3), relu_first=st.booleans(), seed=st.integers(0, 2**31 - 1),
)
def test_max_pool_matches_torch(n, c, h, w, k, s, relu_first, seed):
    x = np.random.default_rng(seed).normal(size=(n, c, h, w))
    if relu_first:  # many exact ties (zeros): the gradient must go to the first maximum
        x = np.maximum(x, 0)
    xt = torch.tensor(x, requires_grad=True)
    out = F.max_pool2d(xt, k, s)
    np.testing.assert_array_equal(layers.max_pool2d(x, k, s), out.detach().numpy())
    dout = np.random.default_rng(seed + 1).normal(size=out.shape)
    out.backward(torch.tensor(dout))
    np.testing.assert_allclose(layers.max_pool2d_backward(dout, x, k, s), xt.grad.numpy(), atol=1e-12)


def test_overlapping_pool_sends_two_gradients_to_a_shared_maximum():
    x = np.zeros((1, 1, 3, 5))
    x[0, 0, 1, 2] = 1.0  # in the middle: inside both 3x3 windows (stride 2)
    assert layers.max_pool2d(x, 3, 2).shape == (1, 1, 1, 2)
    dx = layers.max_pool2d_backward(np.ones((1, 1, 1, 2)), x, 3, 2)
    assert dx[0, 0, 1, 2] == 2.0 and dx.sum() == 2.0


@pytest.mark.parametrize("size", [1, 3, 5, 7])
def test_lrn_equals_torch_with_alpha_times_size(size):
    x = np.random.default_rng(size).normal(scale=10, size=(2, 9, 4, 5))
    ours = layers.local_response_norm(x, size=size, alpha=1e-3, beta=0.75, k=2.0)
    ref = torch.nn.LocalResponseNorm(size, alpha=1e-3 * size, beta=0.75, k=2.0)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
    # ... and torch with the same alpha is a different (weaker) normalisation
    weaker = torch.nn.LocalResponseNorm(size, alpha=1e-3, beta=0.75, k=2.0)(torch.tensor(x)).numpy()
    assert size == 1 or not np.allclose(ours, weaker)


def test_lrn_paper_formula_by_hand():
    a = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 4, 1, 1)
    b = layers.local_response_norm(a, size=3, alpha=0.1, beta=0.5, k=1.0)
    # channel 0 sees channels 0..1, channel 2 sees 1..3
    assert b[0, 0, 0, 0] == pytest.approx(1 / np.sqrt(1 + 0.1 * (1 + 4)))
    assert b[0, 2, 0, 0] == pytest.approx(3 / np.sqrt(1 + 0.1 * (4 + 9 + 16)))


@pytest.mark.parametrize("size", [2, 5])
def test_lrn_backward(size):
    rng = np.random.default_rng(size)
    x = rng.normal(scale=5, size=(2, 7, 3, 3))
    dout = rng.normal(size=x.shape)
    params = dict(size=size, alpha=1e-2, beta=0.75, k=2.0)
    dx = layers.local_response_norm_backward(dout, x, **params)
    numeric = numerical_gradient(lambda v: layers.local_response_norm(v, **params), x.copy(), dout)
    assert relative_error(dx, numeric) < 1e-7
    if size % 2:
        xt = torch.tensor(x, requires_grad=True)
        torch.nn.LocalResponseNorm(size, alpha=1e-2 * size, beta=0.75, k=2.0)(xt).backward(torch.tensor(dout))
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_activations():
    x = np.random.default_rng(0).normal(size=(3, 4))
    dout = np.ones_like(x)
    np.testing.assert_array_equal(layers.relu(x), np.maximum(x, 0))
    np.testing.assert_array_equal(layers.relu_backward(dout, x), (x > 0).astype(float))
    assert relative_error(layers.tanh_backward(dout, np.tanh(x)), numerical_gradient(np.tanh, x.copy(), dout)) < 1e-8


@pytest.mark.parametrize("mode", ["inverted", "paper"])
def test_dropout_expectations_match_between_train_and_test(mode):
    rng = np.random.default_rng(0)
    x = np.ones((200, 500))
    train, mask = layers.dropout(x, 0.5, mode=mode, rng=rng)
    test, _ = layers.dropout(x, 0.5, train=False, mode=mode)
    assert np.mean(train == 0) == pytest.approx(0.5, abs=0.01)
    scale = 1.0 if mode == "paper" else 2.0
    assert set(np.unique(train)) == {0.0, scale}
    assert np.mean(train) == pytest.approx(np.mean(test), rel=0.01)  # same expectation
    np.testing.assert_array_equal(layers.dropout_backward(np.ones_like(x), mask), mask)


def test_dropout_inverted_matches_torch_in_distribution():
    x = torch.ones(100_000)
    y = F.dropout(x, 0.5, training=True)
    ours, _ = layers.dropout(x.numpy(), 0.5, rng=np.random.default_rng(1))
    assert set(torch.unique(y).tolist()) == set(np.unique(ours).tolist()) == {0.0, 2.0}


def test_dropout_errors():
    with pytest.raises(ValueError, match="0 <= p < 1"):
        layers.dropout(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="'inverted' or 'paper'"):
        layers.dropout(np.ones(3), 0.5, mode="modern")


def test_linear_matches_torch():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(4, 2, 3)), rng.normal(size=(5, 6)), rng.normal(size=5)
    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
    out = F.linear(xt.reshape(4, -1), wt, bt)
    np.testing.assert_allclose(layers.linear(x, w, b), out.detach().numpy())
    dout = rng.normal(size=(4, 5))
    out.backward(torch.tensor(dout))
    for ours, ref in zip(layers.linear_backward(dout, x, w), (xt.grad, wt.grad, bt.grad)):
        np.testing.assert_allclose(ours, ref.numpy(), atol=1e-12)
    with pytest.raises(ConvShapeError, match="6 features per example.*expects 7"):
        layers.linear(x, rng.normal(size=(5, 7)))


def test_softmax_cross_entropy_matches_torch():
    rng = np.random.default_rng(0)
    logits, targets = rng.normal(scale=5, size=(8, 10)), rng.integers(0, 10, size=8)
    lt = torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(lt, torch.tensor(targets))
    loss.backward()
    ours, dlogits = layers.softmax_cross_entropy(logits, targets)
    assert ours == pytest.approx(loss.item())
    np.testing.assert_allclose(dlogits, lt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(layers.softmax(logits).sum(axis=1), 1.0)
    big, _ = layers.softmax_cross_entropy(np.array([[1000.0, 0.0]]), np.array([1]))
    assert big == pytest.approx(1000.0)  # no overflow


def test_softmax_cross_entropy_errors():
    with pytest.raises(ConvShapeError, match=r"targets must be \(2,\)"):
        layers.softmax_cross_entropy(np.zeros((2, 3)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match=r"targets must be in 0..2"):
        layers.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="integer class indices"):
        layers.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_pool_and_lrn_errors():
    with pytest.raises(ConvShapeError, match="4-D"):
        layers.max_pool2d(np.zeros((3, 3)), 2)
    with pytest.raises(ValueError, match=">= 1"):
        layers.max_pool2d(np.zeros((1, 1, 4, 4)), 0)
    with pytest.raises(ValueError, match="size must be a positive int"):
        layers.local_response_norm(np.zeros((1, 3, 2, 2)), size=0)
    with pytest.raises(ConvShapeError, match="dout has shape"):
        layers.max_pool2d_backward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 4, 4)), 2)

"""The hand-written CNN: its gradients, its optimiser, and its agreement with torch.nn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from alexnet_lib import tinycnn
from alexnet_lib.gradcheck import numerical_gradient, relative_error

CONFIG = tinycnn.TinyCNNConfig(in_channels=2, size=8, channels=(3, 4), num_classes=5)


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(4, 2, 8, 8)), rng.integers(0, 5, size=4)


def test_shapes_and_init():
    params = tinycnn.init_params(tinycnn.TinyCNNConfig(), seed=0)
    logits, _ = tinycnn.forward(params, np.zeros((3, 1, 8, 8)))
    assert logits.shape == (3, 10)
    assert params["W3"].shape == (10, 16 * 2 * 2)
    assert abs(params["W2"].std() - np.sqrt(2 / 72)) < 0.05
    with pytest.raises(ValueError, match="divisible by 4"):
        tinycnn.TinyCNNConfig(size=10)


def test_backward_by_finite_differences(batch):
    x, y = batch
    params = tinycnn.init_params(CONFIG, seed=1)
    _, grads, _ = tinycnn.loss_and_grads(params, x, y)
    for name in params:
        def loss_of(value, name=name):
            saved = params[name]
            params[name] = value
            loss, _, _ = tinycnn.loss_and_grads(params, x, y)
            params[name] = saved
            return np.array(loss)

        numeric = numerical_gradient(loss_of, params[name].copy(), np.array(1.0))
        assert relative_error(grads[name], numeric) < 1e-6, name


def test_matches_torch_autograd(batch):
    x, y = batch
    params = tinycnn.init_params(CONFIG, seed=2)
    loss, grads, logits = tinycnn.loss_and_grads(params, x, y)
    model = tinycnn.to_torch(params, CONFIG)
    out = model(torch.tensor(x))
    ref = F.cross_entropy(out, torch.tensor(y))
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(logits, out.detach().numpy(), atol=1e-12)
    for layer, w, b in ((model.conv1, "W1", "b1"), (model.conv2, "W2", "b2"), (model.fc, "W3", "b3")):
        np.testing.assert_allclose(grads[w], layer.weight.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(grads[b], layer.bias.grad.numpy(), atol=1e-10)


def test_training_steps_agree_with_torch_sgd(batch):
    x, y = batch
    params = tinycnn.init_params(CONFIG, seed=3)
    model = tinycnn.to_torch(params, CONFIG)
    ours = tinycnn.SGDMomentum(lr=0.05, momentum=0.9, weight_decay=5e-4)
    theirs = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    for _ in range(5):
        loss, grads, _ = tinycnn.loss_and_grads(params, x, y)
        ours.step(params, grads)
        theirs.zero_grad()
        ref = F.cross_entropy(model(torch.tensor(x)), torch.tensor(y))
        ref.backward()
        theirs.step()
        assert loss == pytest.approx(ref.item(), rel=1e-10)
    np.testing.assert_allclose(params["W1"], model.conv1.weight.detach().numpy(), atol=1e-10)


def test_to_torch_keeps_dtype():
    model = tinycnn.to_torch(tinycnn.init_params(dtype=np.float32))
    assert isinstance(model, tinycnn.TorchTinyCNN) and model.conv1.weight.dtype == torch.float32


def test_optimizer_arguments():
    with pytest.raises(ValueError, match="lr > 0"):
        tinycnn.SGDMomentum(lr=0)

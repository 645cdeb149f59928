"""A small CNN written with the library's numpy layers, forward and backward (Chapter 4).

::

    image (C, S, S)
    -> conv 3x3, padding 1 (channels[0])  -> ReLU -> max pool 2x2
    -> conv 3x3, padding 1 (channels[1])  -> ReLU -> max pool 2x2
    -> fully connected -> class scores

Parameters live in a plain dict of arrays (``W1, b1, W2, b2, W3, b3``), so the reader
sees every number that training changes. :class:`TorchTinyCNN` is the same network in
``torch.nn``, and :func:`to_torch` copies the numpy weights into it, so the two can be
compared step by step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .conv import conv2d_backward, conv2d_im2col
from .layers import (
    linear,
    linear_backward,
    max_pool2d,
    max_pool2d_backward,
    relu,
    relu_backward,
    softmax_cross_entropy,
)

Params = dict[str, np.ndarray]

__all__ = ["SGDMomentum", "TinyCNNConfig", "TorchTinyCNN", "backward", "forward", "init_params", "loss_and_grads", "to_torch"]


@dataclass(frozen=True)
class TinyCNNConfig:
    """Shapes of the network: input channels and size, the two conv widths, the classes."""

    in_channels: int = 1
    size: int = 8
    channels: tuple[int, int] = (8, 16)
    num_classes: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or self.size < 4 or self.size % 4:
            raise ValueError(f"size must be divisible by 4 (two 2x2 poolings), and at least 4, got {self.size!r}")
        if self.in_channels < 1 or len(self.channels) != 2 or min(self.channels) < 1:
            raise ValueError(f"in_channels and both channels must be at least 1, got {self.in_channels} and "
                             f"{self.channels}")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {self.num_classes}")

    @property
    def flat_features(self) -> int:
        return self.channels[1] * (self.size // 4) ** 2


def init_params(config: TinyCNNConfig = TinyCNNConfig(), seed: int = 0, dtype: Any = np.float64) -> Params:
    """Weights from N(0, 2 / fan_in) ("He" initialisation, suited to ReLU), biases 0."""
    rng = np.random.default_rng(seed)
    c0, (c1, c2) = config.in_channels, config.channels

    def he(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)

    return {
        "W1": he((c1, c0, 3, 3), c0 * 9), "b1": np.zeros(c1, dtype),
        "W2": he((c2, c1, 3, 3), c1 * 9), "b2": np.zeros(c2, dtype),
        "W3": he((config.num_classes, config.flat_features), config.flat_features),
        "b3": np.zeros(config.num_classes, dtype),
    }


def forward(params: Params, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Class scores for a batch ``x`` of shape ``(N, C, S, S)``, and what the backward pass needs."""
    a1 = conv2d_im2col(x, params["W1"], params["b1"], padding=1)
    r1 = relu(a1)
    p1 = max_pool2d(r1, 2, 2)
    a2 = conv2d_im2col(p1, params["W2"], params["b2"], padding=1)
    r2 = relu(a2)
    p2 = max_pool2d(r2, 2, 2)
    logits = linear(p2, params["W3"], params["b3"])
    return logits, {"x": x, "a1": a1, "r1": r1, "p1": p1, "a2": a2, "r2": r2, "p2": p2}


def backward(dlogits: np.ndarray, params: Params, cache: dict[str, np.ndarray]) -> Params:
    """Gradients of the loss with respect to every parameter: the forward pass, in reverse."""
    grads: Params = {}
    dp2, grads["W3"], grads["b3"] = linear_backward(dlogits, cache["p2"], params["W3"])
    dr2 = max_pool2d_backward(dp2, cache["r2"], 2, 2)
    da2 = relu_backward(dr2, cache["a2"])
    dp1, grads["W2"], grads["b2"] = conv2d_backward(da2, cache["p1"], params["W2"], padding=1)
    dr1 = max_pool2d_backward(dp1, cache["r1"], 2, 2)
    da1 = relu_backward(dr1, cache["a1"])
    _, grads["W1"], grads["b1"] = conv2d_backward(da1, cache["x"], params["W1"], padding=1)
    return grads


def loss_and_grads(params: Params, x: np.ndarray, y: np.ndarray) -> tuple[float, Params, np.ndarray]:
    """Mean cross-entropy of the batch, the gradients of every parameter, and the scores."""
    logits, cache = forward(params, x)
    loss, dlogits = softmax_cross_entropy(logits, y)
    return loss, backward(dlogits, params, cache), logits


class SGDMomentum:
    """Stochastic gradient descent with momentum, in PyTorch's form::

        v = momentum * v + grad      (v starts as the first gradient)
        p = p - lr * v

    The paper writes the same method as ``v = 0.9 v - lr * grad; w = w + v`` (with weight
    decay added to the gradient); for a constant learning rate the two produce the same
    weights. ``weight_decay`` adds ``weight_decay * p`` to each gradient.
    """

    def __init__(self, lr: float, momentum: float = 0.9, weight_decay: float = 0.0) -> None:
        if not (np.isfinite(lr) and lr > 0 and 0 <= momentum < 1 and np.isfinite(weight_decay) and weight_decay >= 0):
            raise ValueError(f"need lr > 0, 0 <= momentum < 1, weight_decay >= 0; got {lr}, {momentum}, {weight_decay}")
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity: Params = {}

    def step(self, params: Params, grads: Params) -> None:
        """Update ``params`` in place."""
        for name, grad in grads.items():
            if name not in params:
                raise KeyError(f"a gradient for {name!r}, which is not among the parameters {sorted(params)}")
            if np.shape(grad) != np.shape(params[name]) or not np.issubdtype(np.asarray(params[name]).dtype, np.floating):
                raise ValueError(f"{name}: the gradient {np.shape(grad)} must match the parameter "
                                 f"{np.shape(params[name])}, a float array (it is updated in place)")
            if self.weight_decay:
                grad = grad + self.weight_decay * params[name]
            if name in self.velocity:
                self.velocity[name] = self.momentum * self.velocity[name] + grad
            else:
                self.velocity[name] = grad.copy()
            params[name] -= self.lr * self.velocity[name]


class TorchTinyCNN(nn.Module):
    """The same network with ``torch.nn`` layers; autograd does the backward pass."""

    def __init__(self, config: TinyCNNConfig = TinyCNNConfig()) -> None:
        super().__init__()
        c0, (c1, c2) = config.in_channels, config.channels
        self.conv1 = nn.Conv2d(c0, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.fc = nn.Linear(config.flat_features, config.num_classes)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


def to_torch(params: Params, config: TinyCNNConfig = TinyCNNConfig()):
    """A :class:`TorchTinyCNN` holding exactly the numpy weights ``params``."""
    model = TorchTinyCNN(config)
    dtype = torch.float64 if params["W1"].dtype == np.float64 else torch.float32
    model = model.to(dtype)
    with torch.no_grad():
        for (layer, w, b) in ((model.conv1, "W1", "b1"), (model.conv2, "W2", "b2"), (model.fc, "W3", "b3")):
            layer.weight.copy_(torch.from_numpy(params[w]))
            layer.bias.copy_(torch.from_numpy(params[b]))
    return model

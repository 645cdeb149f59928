"""Local response normalisation in PyTorch: three readings of the paper's constants, within towers, and fast.

Chapter 3 writes the paper's formula (section 3.3) in numpy
(:func:`alexnet_lib.layers.local_response_norm`); the networks use this module.

**Three readings of the constants.** The paper prints (section 3.3)

    b[c] = a[c] / (k + alpha * sum of a[j]**2 over the n channels around c)**beta

with k=2, n=5, alpha=1e-4, beta=0.75. The code of the paper's own two-GPU run was never
released; what was released computes other things, and :data:`LRN_READINGS` names each
reading by its source:

- ``"printed"``: the formula as printed, ``2 + 1e-4 * sum``.
- ``"cuda-convnet"``: Krizhevsky's 2012 release divides the configured scale by the
  window size and fixes the added constant at 1 in its kernels, ``1 + (1e-4 / 5) * sum``.
- ``"cuda-convnet2"``: the 2014 release's ImageNet layer files (``scale=0.0001``,
  ``pow=0.75``, ``minDiv=2``) with the same division, ``2 + (1e-4 / 5) * sum``: an
  *average* of the squares, as in Caffe and ``torch.nn.LocalResponseNorm``.

The book's networks use ``"cuda-convnet2"`` (the default): the paper's k=2 and its
alpha read as the released codes read it. That this is what trained the paper's
network is an inference from the two releases, not a documented fact. With the paper's
constants the printed formula is five times stronger in its sum than both codes.

The constants of :func:`tower_local_response_norm` and :class:`TowerLocalResponseNorm` mean what
they mean in ``torch.nn.LocalResponseNorm`` (``alpha`` is divided by ``size``), and the
window is the same (``size // 2`` channels before, ``(size - 1) // 2`` after).

**Within towers.** In the paper each GPU holds half of a layer's kernel maps and the
normalisation sums over "adjacent kernel maps" on the same GPU: with ``groups=2`` the
first channel of the second tower has no neighbour in the first.

**Fast.** PyTorch builds ``LocalResponseNorm`` from a 3-D average pool over the squares,
and its backward pass from the autograd of several steps; on a CPU that took about half
of the paper network's training step. Here the window sum is a few shifted additions and
the backward pass is written out (the formula of
:func:`alexnet_lib.layers.local_response_norm_backward`). The training benchmark's
reference loop uses the composed layer (:class:`ComposedTowerLRN`), and the tests check
that the two give the same values and gradients.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["DEFAULT_READING", "LRN_READINGS", "ComposedTowerLRN", "TowerLocalResponseNorm", "channel_window_sum",
           "paper_lrn", "tower_local_response_norm"]

# The paper's constants (section 3.3): n, alpha, beta, k.
PAPER_SIZE, PAPER_ALPHA, PAPER_BETA, PAPER_K = 5, 1e-4, 0.75, 2.0

# (alpha as torch.nn.LocalResponseNorm takes it, which divides it by size; k) for each reading.
LRN_READINGS: dict[str, tuple[float, float]] = {
    "cuda-convnet2": (PAPER_ALPHA, PAPER_K),  # 2014 release, ImageNet files: 2 + (1e-4 / 5) * sum
    "cuda-convnet": (PAPER_ALPHA, 1.0),  # 2012 release: 1 + (1e-4 / 5) * sum (its kernels add 1)
    "printed": (PAPER_ALPHA * PAPER_SIZE, PAPER_K),  # section 3.3 as printed: 2 + 1e-4 * sum
}
DEFAULT_READING = "cuda-convnet2"


def channel_window_sum(x: torch.Tensor, size: int, groups: int = 1, *, transpose: bool = False) -> torch.Tensor:
    """For each channel, the sum of ``x`` over the ``size`` channels around it, within each of ``groups``.

    The window of channel ``c`` is ``c - size // 2 .. c + (size - 1) // 2`` (clipped to its
    group); ``transpose=True`` gives the mirrored window, which the backward pass needs
    for an even ``size``. ``x`` is ``(N, C, ...)``.
    """
    n, c = x.shape[:2]
    if c % groups:
        raise ValueError(f"{c} channels do not split into {groups} towers")
    before, after = size // 2, (size - 1) // 2
    if transpose:
        before, after = after, before
    parts = x.reshape(n, groups, c // groups, -1)
    out = parts.clone()
    for shift in range(1, min(before, c // groups - 1) + 1):
        out[:, :, shift:] += parts[:, :, :-shift]
    for shift in range(1, min(after, c // groups - 1) + 1):
        out[:, :, :-shift] += parts[:, :, shift:]
    return out.reshape(x.shape)


class _LocalResponseNorm(torch.autograd.Function):
    """``y = x * d**-beta`` with ``d = k + alpha / size * window_sum(x**2)``, and its gradient."""

    @staticmethod
    def forward(ctx, x, size, alpha, beta, k, groups):  # type: ignore[override]
        d = channel_window_sum(x * x, size, groups).mul_(alpha / size).add_(k)
        p = torch.pow(d, -beta)
        ctx.save_for_backward(x, d, p)
        ctx.constants = (size, alpha, beta, groups)
        return x * p

    @staticmethod
    def backward(ctx, dy):  # type: ignore[override]
        x, d, p = ctx.saved_tensors
        size, alpha, beta, groups = ctx.constants
        direct = dy * p
        # every d[c] whose window holds channel j passes on dy[c] * x[c] * d sums' derivative
        neighbours = channel_window_sum(torch.mul(direct, x).div_(d), size, groups, transpose=True)
        dx = direct.sub_(neighbours.mul_(x), alpha=2 * alpha * beta / size)
        return dx, None, None, None, None, None


def tower_local_response_norm(x: torch.Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0,
                              groups: int = 1) -> torch.Tensor:
    """``torch.nn.functional.local_response_norm`` (same constants, same window), within ``groups``
    towers, with a hand-written backward pass. Inputs ``(N, C, ...)`` of any float dtype."""
    if size < 1 or k <= 0 or alpha < 0:
        raise ValueError(f"need size >= 1, k > 0 and alpha >= 0, got size={size}, k={k}, alpha={alpha}")
    if x.dim() < 3:
        raise ValueError(f"expected (N, C, ...) with at least one position axis, got {tuple(x.shape)}")
    return _LocalResponseNorm.apply(x, size, alpha, beta, k, groups)


class TowerLocalResponseNorm(nn.LocalResponseNorm):
    """Local response normalisation done separately within each tower's channels.

    In the paper each GPU holds half of a layer's kernel maps, and the GPUs exchange
    activations only at conv3 and the fully connected layers (section 3.2). Normalising
    across "adjacent kernel maps" is therefore done within one GPU's maps: channel 47 of
    conv1 (the last on the first GPU) has no neighbour 48. A plain
    ``nn.LocalResponseNorm`` over all 96 channels would mix the towers there; this one
    sums within each of ``groups`` equal parts. The constants mean what they mean in
    ``nn.LocalResponseNorm`` (``alpha`` is divided by ``size``).
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0, groups: int = 2) -> None:
        super().__init__(size, alpha=alpha, beta=beta, k=k)
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return tower_local_response_norm(x, self.size, self.alpha, self.beta, self.k, self.groups)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", groups={self.groups}"


def paper_lrn(groups: int = 2, reading: str = DEFAULT_READING) -> TowerLocalResponseNorm:
    """The paper's normalisation (n=5, beta=0.75) within each of ``groups`` towers, in one reading.

    ``"cuda-convnet2"`` (default) computes ``2 + (1e-4 / 5) * sum``, ``"cuda-convnet"``
    ``1 + (1e-4 / 5) * sum`` and ``"printed"`` ``2 + 1e-4 * sum`` (see :data:`LRN_READINGS`).
    """
    if reading not in LRN_READINGS:
        raise ValueError(f"reading must be one of {', '.join(LRN_READINGS)}, got {reading!r}")
    alpha, k = LRN_READINGS[reading]
    return TowerLocalResponseNorm(PAPER_SIZE, alpha=alpha, beta=PAPER_BETA, k=k, groups=groups)


class ComposedTowerLRN(nn.Module):
    """The same layer as :class:`TowerLocalResponseNorm`, composed the plain way: the channels split
    into towers and ``torch.nn.functional.local_response_norm`` on each, its backward pass left to
    autograd. What a straightforward PyTorch implementation does; the training benchmark's
    reference loop uses it, and the tests compare the two."""

    def __init__(self, like: TowerLocalResponseNorm) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k, self.groups = like.size, like.alpha, like.beta, like.k, like.groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = x.chunk(self.groups, dim=1)
        return torch.cat([F.local_response_norm(p, self.size, self.alpha, self.beta, self.k) for p in parts], dim=1)

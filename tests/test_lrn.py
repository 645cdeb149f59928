"""The networks' LRN layer: PyTorch's constants and window, within towers, with a hand-written backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from alexnet_lib import layers, lrn
from alexnet_lib.lrn import TowerLocalResponseNorm


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 12), h=st.integers(1, 5), size=st.integers(1, 7),
       alpha=st.floats(1e-4, 1.0), beta=st.floats(0.1, 1.5), k=st.floats(0.5, 3.0))
def test_matches_torch_forward_and_backward(n, c, h, size, alpha, beta, k):
    x = (torch.randn(n, c, h, h + 1, dtype=torch.float64) * 3).requires_grad_()
    ours = lrn.tower_local_response_norm(x, size, alpha, beta, k)
    theirs = F.local_response_norm(x, size, alpha, beta, k)
    torch.testing.assert_close(ours, theirs)
    g = torch.randn_like(ours)
    torch.testing.assert_close(torch.autograd.grad(ours, x, g)[0], torch.autograd.grad(theirs, x, g)[0])


@pytest.mark.parametrize("size", [2, 4, 5])
def test_towers_normalise_apart_and_the_gradient_checks(size):
    x = torch.randn(2, 8, 3, 3, dtype=torch.float64, requires_grad=True)
    together = lrn.tower_local_response_norm(x, size, 0.5, 0.75, 2.0, groups=2)
    apart = torch.cat([F.local_response_norm(p, size, 0.5, 0.75, 2.0) for p in x.chunk(2, dim=1)], dim=1)
    torch.testing.assert_close(together, apart)
    assert torch.autograd.gradcheck(lambda t: lrn.tower_local_response_norm(t, size, 0.5, 0.75, 2.0, groups=2), (x,))


def test_the_three_readings_of_the_paper():
    x = np.random.default_rng(0).normal(scale=20, size=(2, 16, 3, 3))
    t = torch.tensor(x)
    read = {name: lrn.paper_lrn(groups=1, reading=name)(t).numpy() for name in lrn.LRN_READINGS}
    assert lrn.DEFAULT_READING == "cuda-convnet2"
    # section 3.3 as printed: 2 + 1e-4 * sum
    np.testing.assert_allclose(read["printed"], layers.local_response_norm(x), rtol=1e-10)
    # cuda-convnet2's ImageNet files (scale=0.0001, minDiv=2; the scale divided by the size)
    np.testing.assert_allclose(read["cuda-convnet2"], layers.local_response_norm(x, alpha=1e-4 / 5), rtol=1e-10)
    # the 2012 cuda-convnet: the same division, 1 added in its kernels
    np.testing.assert_allclose(read["cuda-convnet"], layers.local_response_norm(x, alpha=1e-4 / 5, k=1.0),
                               rtol=1e-10)
    with pytest.raises(ValueError, match="reading must be one of"):
        lrn.paper_lrn(reading="caffe")


def test_bad_arguments():
    with pytest.raises(ValueError, match="do not split into 2 towers"):
        lrn.tower_local_response_norm(torch.zeros(1, 5, 2, 2), 5, groups=2)
    with pytest.raises(ValueError, match="need size >= 1, k > 0"):
        lrn.tower_local_response_norm(torch.zeros(1, 4, 2, 2), 5, k=0.0)


def test_the_composed_layer_of_the_benchmark_s_reference_is_the_same_layer():
    layer = lrn.paper_lrn(groups=2)
    composed = lrn.ComposedTowerLRN(layer)
    x = torch.randn(2, 8, 4, 4, dtype=torch.float64, requires_grad=True) * 10
    torch.testing.assert_close(layer(x), composed(x))


def test_tower_local_lrn_normalises_each_half_separately():
    x = torch.rand(2, 8, 5, 5) * 3
    norm = TowerLocalResponseNorm(5, alpha=1e-2, beta=0.75, k=2.0, groups=2)
    plain = nn.LocalResponseNorm(5, alpha=1e-2, beta=0.75, k=2.0)
    expected = torch.cat([plain(x[:, :4]), plain(x[:, 4:])], dim=1)
    torch.testing.assert_close(norm(x), expected)
    # Away from the boundary between the towers it is the plain LRN; at it, it is not.
    whole = plain(x)
    torch.testing.assert_close(norm(x)[:, :2], whole[:, :2])
    assert not torch.allclose(norm(x)[:, 3], whole[:, 3])
    with pytest.raises(ValueError, match="do not split"):
        norm(torch.rand(1, 7, 3, 3))

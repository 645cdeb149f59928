"""topk_error and the paper's PCA colour augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alexnet_lib.data import PCALighting, rgb_pca
from alexnet_lib.evaluate import topk_error


def test_topk_error_by_hand():
    logits = np.array([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5], [0.3, 0.3, 0.4]])
    targets = np.array([2, 0, 0, 1])
    # ranks of the correct class: 1, 0, 2, 2 (last row: 0.4 is higher, and the tie with class 0 comes first)
    assert topk_error(logits, targets, ks=(1, 2, 3)) == {1: 0.75, 2: 0.5, 3: 0.0}


def test_topk_error_matches_torch_topk():
    torch.manual_seed(0)
    logits = torch.randn(500, 100)
    targets = torch.randint(0, 100, (500,))
    ours = topk_error(logits, targets)
    for k in (1, 5):
        top = logits.topk(k, dim=1).indices
        expected = 1 - (top == targets[:, None]).any(dim=1).float().mean().item()
        assert ours[k] == pytest.approx(expected)


def test_topk_error_errors():
    with pytest.raises(ValueError, match=r"each k must be an int from 1 to the number of classes \(3\)"):
        topk_error(np.zeros((2, 3)), np.array([0, 1]), ks=(5,))
    with pytest.raises(ValueError, match="targets must be in 0..2"):
        topk_error(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"targets must be \(2,\)"):
        topk_error(np.zeros((2, 3)), np.array([0]))
    with pytest.raises(TypeError, match="integer class indices"):
        topk_error(np.zeros((2, 3)), np.array([0.0, 1.0]))


@pytest.fixture
def pca():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 8, 8, 3), dtype=np.uint8)
    return rgb_pca(images)


def test_rgb_pca_is_an_eigendecomposition(pca):
    eigval, eigvec = pca
    assert eigval.shape == (3,) and eigvec.shape == (3, 3)
    assert torch.all(eigval[:-1] >= eigval[1:])
    torch.testing.assert_close(eigvec.T @ eigvec, torch.eye(3), atol=1e-5, rtol=0)


def test_pca_lighting_adds_one_offset_per_image(pca):
    eigval, eigvec = pca
    img = torch.rand(3, 5, 7)
    out = PCALighting(0.1, eigval, eigvec, generator=torch.Generator().manual_seed(0))(img)
    offset = (out - img).reshape(3, -1)
    torch.testing.assert_close(offset, offset[:, :1].expand_as(offset))  # the same RGB offset everywhere
    assert not torch.equal(out, img)


def test_offset_lies_in_the_span_of_the_eigenvectors():
    eigval = torch.tensor([2.0, 0.0, 0.0])  # only the first component can move the colour
    eigvec = torch.eye(3)[:, [2, 0, 1]]      # first component: the blue axis
    out = PCALighting(0.5, eigval, eigvec, generator=torch.Generator().manual_seed(1))(torch.zeros(3, 2, 2))
    assert torch.all(out[:2] == 0) and torch.all(out[2] != 0)


def test_alphastd_zero_is_the_identity_and_seeds_reproduce(pca):
    eigval, eigvec = pca
    img = torch.rand(3, 4, 4)
    assert torch.equal(PCALighting(0.0, eigval, eigvec)(img), img)
    a = PCALighting(0.1, eigval, eigvec, generator=torch.Generator().manual_seed(7))(img)
    b = PCALighting(0.1, eigval, eigvec, generator=torch.Generator().manual_seed(7))(img)
    assert torch.equal(a, b)
    batch = PCALighting(0.1, eigval, eigvec)(torch.rand(4, 3, 2, 2))
    assert batch.shape == (4, 3, 2, 2)


def test_pca_lighting_errors(pca):
    eigval, eigvec = pca
    with pytest.raises(TypeError, match="float tensors"):
        PCALighting(0.1, eigval, eigvec)(torch.zeros(3, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(3, H, W\) image"):
        PCALighting(0.1, eigval, eigvec)(torch.zeros(4, 2, 2))
    with pytest.raises(ValueError, match="alphastd must be >= 0"):
        PCALighting(-1, eigval, eigvec)
    with pytest.raises(ValueError, match=r"eigval must be \(3,\)"):
        PCALighting(0.1, torch.ones(2), eigvec)

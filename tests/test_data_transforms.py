"""alexnet_lib.data.transforms: the paper's transforms, image statistics, PCA colour augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms import v2

from alexnet_lib import data
from alexnet_lib.data import PCALighting, rgb_pca


def test_paper_transform_shapes_and_small_images():
    small = torch.randint(0, 256, (3, 10, 12), dtype=torch.uint8)  # smaller than the crop
    for train in (True, False):
        assert data.paper_transform(train)(small).shape == (3, 224, 224)
        assert data.paper_transform(train, 227, normalize="none")(small).shape == (3, 227, 227)
    mean_image = torch.full((3, 256, 256), 0.5)
    out = data.paper_transform(False, normalize="image", mean_image=mean_image)(small)
    assert out.shape == (3, 224, 224) and -0.51 <= out.min() and out.max() <= 0.51
    with pytest.raises(ValueError, match="mean_image"):
        data.paper_transform(True, normalize="image")
    with pytest.raises(ValueError, match="normalize"):
        data.paper_transform(True, normalize="batch")
    with pytest.raises(ValueError, match="crop"):
        data.paper_transform(True, crop=300)


def test_training_crops_are_windows_of_the_central_square():
    torch.manual_seed(0)
    image = torch.randint(0, 256, (3, 300, 400), dtype=torch.uint8)
    base = v2.Compose([v2.Resize(256, antialias=True), v2.CenterCrop(256)])(image)
    test = data.uint8_transform(False)(image)
    assert torch.equal(test, base[:, 16:240, 16:240])
    flips = 0
    for _ in range(8):
        crop = data.uint8_transform(True)(image)
        found = None
        for candidate, flipped in ((base, False), (base.flip(-1), True)):
            for top in range(33):
                row = candidate[:, top:top + 224]
                for left in range(33):
                    if torch.equal(row[:, :, left:left + 224], crop):
                        found = flipped
        assert found is not None, "a training crop must be a 224x224 window of the 256x256 square (or its mirror)"
        flips += found
    assert 0 < flips < 8


def test_image_statistics():
    images = [torch.full((3, 50, 60), v, dtype=torch.uint8) for v in (0, 255)]
    stats = data.image_statistics(images, scale=32)
    assert stats["mean_image"].shape == (3, 32, 32)
    torch.testing.assert_close(stats["mean"], torch.full((3,), 0.5))
    # All channels move together: one eigenvalue, 3 x the variance 0.25 (unbiased, 2 x 16 subsampled pixels).
    torch.testing.assert_close(stats["eigval"], torch.tensor([0.75 * 32 / 31, 0, 0]), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="at least one"):
        data.image_statistics([])


# --- PCA lighting ---------------------------------------------------------------------------


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

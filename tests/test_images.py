"""alexnet_lib.images: sample images, greyscale and downsampling."""

from __future__ import annotations

import numpy as np
import pytest

from alexnet_lib import images


def test_sample_images():
    cat = images.sample_image("chelsea")
    assert cat.shape == (300, 451, 3) and cat.dtype == np.float32
    assert 0.0 <= cat.min() and cat.max() <= 1.0
    assert images.sample_image("camera").ndim == 2
    with pytest.raises(ValueError, match="unknown sample image 'dog'; choose one of"):
        images.sample_image("dog")


def test_grayscale_uses_bt601_weights():
    pixel = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]], dtype=np.float32)
    np.testing.assert_allclose(images.to_grayscale(pixel)[0], [0.299, 0.587, 0.114], rtol=1e-6)
    assert images.to_grayscale(np.full((2, 2, 3), 255, dtype=np.uint8)).max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="RGB image"):
        images.to_grayscale(np.zeros((4, 4, 4)))


def test_downsample_shape():
    small = images.downsample(np.ones((40, 60, 3)), (10, 15))
    assert small.shape == (10, 15, 3)
    np.testing.assert_allclose(small, 1.0, atol=1e-6)

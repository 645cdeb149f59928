"""alexnet_lib.datasets.generated: generated images and scikit-learn's digits."""

from __future__ import annotations

import numpy as np
import pytest

from alexnet_lib import datasets


def test_synthetic_and_digits():
    a = datasets.synthetic_images(50, 16, 5, seed=3)
    b = datasets.synthetic_images(50, 16, 5, seed=3)
    assert a.images.shape == (50, 16, 16, 3) and a.images.dtype == np.uint8
    np.testing.assert_array_equal(a.images, b.images)
    assert set(np.unique(a.labels)) <= set(range(5)) and "generated" in a.source
    digits = datasets.load_digits()
    assert digits.images.shape == (1797, 8, 8) and len(digits.class_names) == 10
    with pytest.raises(ValueError, match="classes >= 2"):
        datasets.synthetic_images(10, 16, 1)
    assert len(a.subset(10)) == 10 and len(a.subset(10, seed=0)) == 10
    with pytest.raises(ValueError, match="asked for 60 examples"):
        a.subset(60)

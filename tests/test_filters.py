"""alexnet_lib.filters: the classic filters and their presets."""

from __future__ import annotations

import numpy as np
import pytest

from alexnet_lib import filters
from alexnet_lib.conv import correlate2d


@pytest.mark.parametrize("size", [3, 5, 7])
def test_blurs_and_sharpen_keep_brightness(size):
    for make in (filters.box, filters.gaussian, filters.sharpen, filters.identity):
        assert make(size).sum() == pytest.approx(1.0, abs=1e-6)
        assert make(size).shape == (size, size)
        assert make(size).dtype == np.float32


@pytest.mark.parametrize("size", [3, 5])
def test_edge_filters_ignore_flat_patches(size):
    for make in (filters.sobel_x, filters.sobel_y, filters.laplacian, filters.outline):
        assert make(size).sum() == pytest.approx(0.0, abs=1e-6)
        flat = np.full((size + 4, size + 4), 0.7)
        np.testing.assert_allclose(correlate2d(flat, make(size)), 0.0, atol=1e-5)


def test_sobel_values_and_orientation():
    np.testing.assert_array_equal(filters.sobel_x(), [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(filters.sobel_y(), filters.sobel_x().T)
    np.testing.assert_array_equal(filters.sobel_x(5)[2], [-6, -12, 0, 12, 6])
    ramp = np.tile(np.arange(6.0), (6, 1))  # brighter to the right
    assert (correlate2d(ramp, filters.sobel_x()) > 0).all()
    np.testing.assert_allclose(correlate2d(ramp, filters.sobel_y()), 0.0)


def test_named_presets():
    assert set(filters.presets(3)) == set(filters.PRESET_NAMES)
    np.testing.assert_array_equal(filters.preset("sharpen"), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    with pytest.raises(KeyError, match="unknown filter 'emboss'; choose one of"):
        filters.preset("emboss")
    with pytest.raises(ValueError, match="odd positive int"):
        filters.box(4)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        filters.gaussian(5, sigma=0)

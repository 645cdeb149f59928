"""Datasets made without a download: scikit-learn's digits and generated stripes.
"""

from __future__ import annotations

import numpy as np

from .policy import ArrayDataset

__all__ = [
    "load_digits",
    "synthetic_images",
]



def load_digits() -> ArrayDataset:
    """scikit-learn's handwritten digits: 1,797 images of 8x8 pixels, values 0-16, 10 classes."""
    from sklearn.datasets import load_digits as sk_digits

    digits = sk_digits()
    return ArrayDataset(
        digits.images.astype(np.float32),
        digits.target.astype(np.int64),
        tuple(str(d) for d in range(10)),
        f"scikit-learn digits (embedded, {len(digits.target):,} images of 8x8)",
    )


def synthetic_images(n: int = 1000, size: int = 32, classes: int = 10, *, seed: int = 0) -> ArrayDataset:
    """A generated dataset of striped colour patches, one orientation and hue per class.

    Learnable in a few epochs by a small CNN, and made without any download: the
    ``smoke`` profile and the tests use it where real photos are not at hand.
    """
    if not all(isinstance(v, (int, np.integer)) for v in (n, size, classes)) or n < 1 or size < 4 or classes < 2:
        raise ValueError(f"need whole numbers n >= 1, size >= 4 and classes >= 2, got n={n!r}, size={size!r}, "
                         f"classes={classes!r}")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    angles = np.pi * labels / classes + rng.normal(0, 0.05, n)
    freq = rng.uniform(2.5, 4.0, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    stripes = np.sin(2 * np.pi * freq[:, None, None]
                     * (np.cos(angles)[:, None, None] * xx + np.sin(angles)[:, None, None] * yy) + phase[:, None, None])
    hue = labels / classes
    colour = 0.5 + 0.5 * np.stack([np.cos(2 * np.pi * (hue + k / 3)) for k in range(3)], axis=-1)  # (n, 3)
    images = 0.5 + 0.35 * stripes[..., None] * colour[:, None, None, :] + rng.normal(0, 0.08, (n, size, size, 3))
    images = (np.clip(images, 0, 1) * 255).astype(np.uint8)
    return ArrayDataset(
        images, labels.astype(np.int64), tuple(f"class {k}" for k in range(classes)),
        f"generated stripes (embedded, {n:,} images of {size}x{size}, seed {seed})",
    )

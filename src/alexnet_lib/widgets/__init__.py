"""Interactive explorers. Their logic runs in JavaScript, so they stay live in the static book."""

from __future__ import annotations

from ..lazy import lazy_names

# Each name comes from its module when first asked for (PEP 562): Chapter 1's sliding-filter
# explorer does not import the feature-map explorer's data code, and torchvision with it.
_WHERE = {"SlidingFilterExplorer": "explorer", "explorer_image": "explorer",
          "FeatureMapExplorer": "feature_maps", "square_image": "feature_maps"}

__all__ = ["FeatureMapExplorer", "SlidingFilterExplorer", "explorer_image", "square_image"]

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

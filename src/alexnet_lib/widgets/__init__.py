"""Interactive explorers. Their logic runs in JavaScript, so they stay live in the static book."""

from .explorer import SlidingFilterExplorer, explorer_image
from .feature_maps import FeatureMapExplorer, square_image

__all__ = ["FeatureMapExplorer", "SlidingFilterExplorer", "explorer_image", "square_image"]

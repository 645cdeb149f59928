"""Interactive explorers. Their logic runs in JavaScript, so they stay live in the static book."""

from .explorer import SlidingFilterExplorer, explorer_image

__all__ = ["SlidingFilterExplorer", "explorer_image"]

"""Interactive explorers. Their logic runs in JavaScript, so they stay live in the static book."""

from __future__ import annotations

import importlib
from typing import Any

# Each name comes from its module when first asked for (PEP 562): Chapter 1's sliding-filter
# explorer does not import the feature-map explorer's data code, and torchvision with it.
_WHERE = {"SlidingFilterExplorer": "explorer", "explorer_image": "explorer",
          "FeatureMapExplorer": "feature_maps", "square_image": "feature_maps"}

__all__ = ["FeatureMapExplorer", "SlidingFilterExplorer", "explorer_image", "square_image"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value  # asked once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))

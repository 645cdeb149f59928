"""Showing things in notebooks: source code, images, kernels and arrays of numbers."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["show_array", "show_images", "show_kernel", "show_source"]


def show_source(obj: Any) -> Any:
    """Display the library's own source of a function or class, syntax-highlighted.

    Notebooks use this instead of pasting library code, so what the reader sees is
    exactly what runs.
    """
    from IPython.display import Markdown

    source = inspect.getsource(obj)
    module = inspect.getmodule(obj)
    where = f"`{module.__name__}.{obj.__qualname__}`" if module else f"`{obj.__qualname__}`"
    return Markdown(f"Source of {where}:\n\n```python\n{source.rstrip()}\n```")


def _diverging_limits(image: np.ndarray) -> tuple[float, float]:
    m = float(np.max(np.abs(image))) or 1.0
    return -m, m


def show_images(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    cmap: str | Sequence[str | None] | None = "gray",
    signed: bool | Sequence[bool] = False,
    columns: int | None = None,
    size: float = 3.2,
    colorbar: bool = False,
) -> Any:
    """Show images side by side.

    Args:
        images: 2-D (grey) or ``(H, W, 3)`` (colour) arrays.
        titles: one title per image.
        cmap: colour map for grey images (one, or one per image).
        signed: show values around 0 with a diverging colour map centred on 0
            (for edge-filter outputs, which are negative as often as positive).
        columns: images per row (default: all in one row, at most 4).
        size: width of one panel in inches.
        colorbar: add a colour bar to each panel.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    n = len(images)
    columns = columns or min(n, 4)
    rows = (n + columns - 1) // columns
    cmaps = [cmap] * n if cmap is None or isinstance(cmap, str) else list(cmap)
    signs = [signed] * n if isinstance(signed, bool) else list(signed)
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= n:
            continue
        image = np.asarray(images[index])
        if image.ndim == 2 and signs[index]:
            lo, hi = _diverging_limits(image)
            shown = ax.imshow(image, cmap="RdBu_r", vmin=lo, vmax=hi)
        elif image.ndim == 2:
            shown = ax.imshow(image, cmap=cmaps[index] or "gray")
        else:
            shown = ax.imshow(np.clip(image, 0, 1))
        if titles is not None:
            ax.set_title(titles[index], fontsize=10)
        if colorbar and image.ndim == 2:
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def show_array(
    array: np.ndarray,
    ax: Any = None,
    *,
    title: str | None = None,
    fmt: str = "{:.2g}",
    signed: bool = False,
    cmap: str = "gray",
    fontsize: float = 8,
) -> Any:
    """Draw a small 2-D array as coloured cells with its numbers written in them."""
    import matplotlib.pyplot as plt

    a = np.asarray(array, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.45 * a.shape[1] + 0.6, 0.45 * a.shape[0] + 0.6))
    if signed:
        lo, hi = _diverging_limits(a)
        ax.imshow(a, cmap="RdBu_r", vmin=lo, vmax=hi)
        norm = np.abs(a) / (hi or 1.0)
        dark = norm > 0.6
    else:
        ax.imshow(a, cmap=cmap)
        span = (a.max() - a.min()) or 1.0
        dark = (a - a.min()) / span < 0.5 if cmap == "gray" else np.zeros_like(a, dtype=bool)
    for (i, j), value in np.ndenumerate(a):
        ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=fontsize,
                color="white" if dark[i, j] else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def show_kernel(kernel: np.ndarray, ax: Any = None, *, title: str | None = None) -> Any:
    """Draw a filter's weights: blue negative, red positive, numbers written in."""
    return show_array(kernel, ax, title=title, fmt="{:.3g}", signed=True, fontsize=9)

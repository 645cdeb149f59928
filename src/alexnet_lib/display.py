"""Showing things in notebooks: source code, images, kernels and arrays of numbers."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["record", "show_array", "show_images", "show_kernel", "show_source"]


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


def record(key: str, text: str) -> None:
    """Keep a measured result for another page of the book, without showing it here.

    The book's page "The paper side by side" shows the numbers the chapters measured, as
    the chapters computed them when the book was built: each chapter records them under a
    key (myst-nb's *glue*), and the page pastes them. Outside the book build (Colab, a plain
    Jupyter without myst-nb) nothing is recorded. Returns nothing, so that a call that ends a
    cell prints nothing either.
    """
    try:
        from myst_nb import glue
    except ImportError:
        return
    glue(key, _Result(text), display=False)


class _Result:
    """A recorded text that pastes as itself (plain text without quotes, or Markdown)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return self.text


def _diverging_limits(image: np.ndarray, percentile: float = 99.5) -> tuple[float, float]:
    """Symmetric colour limits around 0 that ignore the most extreme 0.5% of values.

    Edge-filter outputs have a few very strong responses; scaling to the single
    largest one would leave everything else pale.
    """
    m = float(np.percentile(np.abs(image), percentile)) or float(np.max(np.abs(image))) or 1.0
    return -m, m


def _format_weight(value: float, digits: int) -> str:
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value)))
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def show_images(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    cmap: str | Sequence[str | None] | None = "gray",
    signed: bool | Sequence[bool] = False,
    columns: int | None = None,
    size: float = 3.2,
    colorbar: bool = False,
    vrange: tuple[float, float] | None = (0.0, 1.0),
) -> Any:
    """Show images side by side.

    Args:
        images: 2-D (grey) or ``(H, W, 3)`` (colour) arrays.
        titles: one title per image.
        cmap: colour map for grey images (one, or one per image).
        signed: show values around 0 with a diverging colour map centred on 0
            (for edge-filter outputs, which are negative as often as positive),
            scaled so that the strongest 0.5% of values saturate.
        columns: images per row (default: all in one row, at most 4).
        size: width of one panel in inches.
        colorbar: add a colour bar to each panel.
        vrange: the values shown as black and white in grey images that are not
            ``signed``; the default ``(0, 1)`` shows brightness as it is (values
            outside are clipped). ``None`` stretches each image to its own range.

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
            lo, hi = vrange if vrange is not None else (None, None)
            shown = ax.imshow(image, cmap=cmaps[index] or "gray", vmin=lo, vmax=hi)
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
    digits: int | None = None,
    signed: bool = False,
    cmap: str = "gray",
    fontsize: float | None = None,
) -> Any:
    """Draw a small 2-D array as coloured cells with its numbers written in them.

    Whole numbers are written without decimals; others with ``digits`` decimals
    (default: 2, or 3 when every value is below 0.5 in size).
    """
    import matplotlib.pyplot as plt

    a = np.asarray(array, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.45 * a.shape[1] + 0.6, 0.45 * a.shape[0] + 0.6))
    if digits is None:
        digits = 3 if np.max(np.abs(a)) < 0.5 else 2
    if fontsize is None:
        fontsize = 9 if max(a.shape) <= 3 else 8 if max(a.shape) <= 8 else 6.5
    if signed:
        m = float(np.max(np.abs(a))) or 1.0
        ax.imshow(a, cmap="RdBu_r", vmin=-m, vmax=m)
        dark = np.abs(a) / m > 0.6
    else:
        ax.imshow(a, cmap=cmap)
        span = (a.max() - a.min()) or 1.0
        dark = (a - a.min()) / span < 0.5 if cmap == "gray" else np.zeros_like(a, dtype=bool)
    for (i, j), value in np.ndenumerate(a):
        ax.text(j, i, _format_weight(value, digits), ha="center", va="center", fontsize=fontsize,
                color="white" if dark[i, j] else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def show_kernel(kernel: np.ndarray, ax: Any = None, *, title: str | None = None) -> Any:
    """Draw a filter's weights: blue negative, red positive, numbers written in."""
    return show_array(kernel, ax, title=title, signed=True)

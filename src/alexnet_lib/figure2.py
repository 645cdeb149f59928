"""The paper's Figure 2, drawn from the network itself (Chapter 6).

The paper's figure shows the two GPUs' halves of every layer, one above the other, and
which layers read across. :func:`stages` reads the same facts off an ``AlexNet`` by
running one image through it (:func:`alexnet_lib.summary.layer_table`): every learned
layer's output shape, whether it reads both towers (a convolution with one group, a fully
connected layer) or only its own (``groups=2``), and what follows it (LRN, pooling).
:func:`draw` lays them out as boxes, one row per tower, with the arrows between them: a
change to the model changes the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, Rectangle
from torch import nn

from .summary import layer_table

__all__ = ["Stage", "draw", "stages"]


@dataclass(frozen=True)
class Stage:
    """One learned layer and what comes after it, as the figure shows it."""

    name: str  # conv1 ... fc8
    shape: tuple[int, ...]  # the output of the stage (after pooling), for the whole layer
    towers: int  # 2 where the layer's output is split between the towers
    crosses: bool  # it reads both towers' outputs of the layer before
    then: tuple[str, ...]  # what follows it: "LRN", "max pool"
    what: str  # the layer, in short: "96 x 11x11x3, stride 4"


def stages(model: nn.Module, input_size: Sequence[int] = (3, 227, 227)) -> list[Stage]:
    """The learned layers of ``model`` (an :class:`~alexnet_lib.models.AlexNet`) with their output shapes
    after the pooling that follows them, and whether each reads across the towers."""
    rows = layer_table(model, input_size)
    found: list[dict] = []
    for row in rows:
        short = row.name.split(".")[-1]
        if row.kind in ("Conv2d", "Linear"):
            module = model.get_submodule(row.name)
            groups = getattr(module, "groups", 1)
            found.append({"name": short, "shape": row.output, "groups": groups, "then": [], "what": row.what})
        elif found and row.kind in ("MaxPool2d", "LocalResponseNorm", "TowerLocalResponseNorm"):
            found[-1]["shape"] = row.output
            found[-1]["then"].append("max pool" if row.kind == "MaxPool2d" else "LRN")
    split = any(f["groups"] > 1 for f in found)  # a two-tower network: every hidden layer is halved
    return [Stage(f["name"], f["shape"], 2 if split and i < len(found) - 1 else 1, f["groups"] == 1,
                  tuple(f["then"]), f["what"]) for i, f in enumerate(found)]


def _label(shape: Sequence[int], parts: int) -> str:
    """A tower's share of an output shape, as text: ``48 x 27 x 27``."""
    return " x ".join(str(v) for v in (shape[0] // parts, *shape[1:]))


def draw(model: nn.Module, input_size: Sequence[int] = (3, 227, 227), title: str | None = None):
    """Draw :func:`stages` of ``model``: one row of boxes per tower (one row for a one-tower network),
    box heights growing with the maps' size, straight arrows within a tower and crossed arrows
    where a layer reads both. Returns the figure."""
    layout = stages(model, input_size)
    towers = max(s.towers for s in layout)
    columns = [("input", tuple(input_size), 1, "", "")] + [(s.name, s.shape, s.towers, ", ".join(s.then), s.what)
                                                         for s in layout]
    fig, ax = plt.subplots(figsize=(1.25 * len(columns) + 1, 1.9 * towers + 1.1))
    rows_y = [1.0, -1.0] if towers == 2 else [0.0]
    for i, (name, shape, parts, then, what) in enumerate(columns):
        size = shape[1] if len(shape) == 3 else 1
        h = 0.3 + 1.1 * (min(size, 227) / 227) ** 0.5
        ys = rows_y if parts == 2 else [0.0]
        for y in ys:
            colour = "#dbe8f6" if len(shape) == 3 else "#f6e3cf"
            ax.add_patch(Rectangle((i - 0.32, y - h / 2), 0.64, h, facecolor=colour, edgecolor="0.3", lw=0.8))
            ax.text(i, y, _label(shape, parts), ha="center", va="center", fontsize=6.5)
        ax.text(i, max(rows_y) + 0.95, name, ha="center", va="bottom", fontsize=8, weight="bold")
        ax.text(i, max(rows_y) + 0.8, what.replace(", ", "\n", 1), ha="center", va="top", fontsize=5.5, color="0.35")
        if then:
            ax.text(i, min(rows_y) - 0.85, then, ha="center", va="top", fontsize=6.5, color="0.35")
    for i in range(1, len(columns)):
        previous_parts, parts = columns[i - 1][2], columns[i][2]
        crosses = layout[i - 1].crosses
        sources = rows_y if previous_parts == 2 else [0.0]
        targets = rows_y if parts == 2 else [0.0]
        for y0 in sources:
            for y1 in targets:
                if y0 != y1 and not crosses and previous_parts == 2:
                    continue  # within towers: no arrow to the other tower
                across = y0 != y1 and previous_parts == 2
                ax.add_patch(FancyArrowPatch((i - 1 + 0.33, y0), (i - 0.33, y1), arrowstyle="-|>", mutation_scale=7,
                                             color="tab:red" if across else "0.35", lw=0.8))
    ax.set_xlim(-0.6, len(columns) - 0.4)
    ax.set_ylim(min(rows_y) - 1.3, max(rows_y) + 1.35)
    ax.axis("off")
    if towers == 2:
        ax.text(-0.55, rows_y[0], "tower 1\n(GPU 1)", ha="right", va="center", fontsize=7)
        ax.text(-0.55, rows_y[1], "tower 2\n(GPU 2)", ha="right", va="center", fontsize=7)
    ax.set_title(title or "drawn from the model: each box a tower's share of a layer's output after its pooling "
                 "(channels x height x width); red arrows cross between the towers", fontsize=9)
    fig.tight_layout()
    return fig

"""Looking inside a trained AlexNet: the paper's Figures 3 and 4, and occlusion maps.

- :func:`kernel_grid` lays out the first layer's kernels as coloured patches (Figure 3);
  :func:`colour_share` measures how much of each kernel is colour rather than brightness.
- :func:`activations` records what chosen layers output for a batch (feature maps).
- :func:`hidden_features` returns the last hidden layer's vector (4096 numbers in the
  paper's network), and :func:`nearest` finds the closest training images to a query
  in that space or in pixel space (Figure 4, right).
- :func:`five_best` draws an image with its five best guesses as bars (Figure 4, left).
- :func:`occlusion_map` slides a grey square over an image and records how much the
  correct class's probability drops; :func:`draw_occlusion` draws it in line with its image,
  and :func:`occlusion_grid` photographs above their maps.
- :func:`class_errors` draws the error of each class beside the confusion matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from .models import named_layers

__all__ = ["activations", "class_errors", "colour_share", "draw_occlusion", "five_best", "hidden_features", "kernel_grid",
           "nearest", "occlusion_grid", "occlusion_map"]


def kernel_grid(weight: torch.Tensor, columns: int | None = None, gap: int = 1, upscale: int = 1) -> np.ndarray:
    """The kernels of a first convolution layer, ``(out, 3, k, k)``, as one RGB picture.

    Each kernel is stretched to [0, 1] on its own, so that every kernel's pattern and colours
    show whatever the size of its weights (the paper does not say how its Figure 3 was
    scaled; the ``shownet.py`` of Krizhevsky's 2012 cuda-convnet stretches all kernels of a
    layer together, by one lowest and one highest weight),
    and the kernels are laid out row by row, ``columns`` to a row, separated by ``gap``
    white pixels. ``upscale`` repeats every pixel to make small kernels visible.
    Returns an ``(H, W, 3)`` float array in [0, 1].
    """
    w = torch.as_tensor(weight).detach().float().cpu()
    if w.dim() != 4 or w.shape[1] != 3:
        raise ValueError(f"expected first-layer weights (out, 3, k, k), got {tuple(w.shape)}")
    n, _, kh, kw = w.shape
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    lo = w.amin(dim=(1, 2, 3), keepdim=True)
    hi = w.amax(dim=(1, 2, 3), keepdim=True)
    scaled = ((w - lo) / (hi - lo).clamp_min(1e-12)).permute(0, 2, 3, 1).numpy()
    if upscale > 1:
        scaled = scaled.repeat(upscale, axis=1).repeat(upscale, axis=2)
        kh, kw = kh * upscale, kw * upscale
    grid = np.ones((rows * (kh + gap) + gap, columns * (kw + gap) + gap, 3))
    for i, kernel in enumerate(scaled):
        r, c = divmod(i, columns)
        grid[gap + r * (kh + gap):gap + r * (kh + gap) + kh, gap + c * (kw + gap):gap + c * (kw + gap) + kw] = kernel
    return grid


def colour_share(weight: torch.Tensor) -> np.ndarray:
    """For each kernel of ``(out, 3, k, k)``: the share of its weights' variation that is colour.

    A kernel's weights split into a grey part (at each position, the mean over R, G and B)
    and a colour part (what is left). The share is the colour part's sum of squares over the
    whole kernel's, after removing the kernel's overall mean: 0 for a kernel that treats R, G
    and B alike (it sees brightness only), near 1 for one that sees colour contrasts only.
    """
    w = torch.as_tensor(weight).detach().double().cpu()
    if w.dim() != 4 or w.shape[1] != 3:
        raise ValueError(f"expected first-layer weights (out, 3, k, k), got {tuple(w.shape)}")
    centred = w - w.mean(dim=(1, 2, 3), keepdim=True)
    colour = centred - centred.mean(dim=1, keepdim=True)
    total = centred.pow(2).sum(dim=(1, 2, 3)).clamp_min(1e-24)
    return (colour.pow(2).sum(dim=(1, 2, 3)) / total).numpy()


def activations(model: nn.Module, x: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
    """What each named layer (``"conv1"``, ``"relu2"``, ``"fc7"``...) outputs for the batch ``x``.

    Layers go by the book's names in every variant (:func:`alexnet_lib.models.named_layers`).

    The model runs once in eval mode without gradients; forward hooks copy the outputs.
    """
    wanted = list(layers)
    available = named_layers(model)
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ValueError(f"no layer named {missing}; the model has {list(available)}")
    found: dict[str, torch.Tensor] = {}
    hooks = [available[name].register_forward_hook(
        lambda _m, _i, out, name=name: found.__setitem__(name, out.detach().clone())) for name in wanted]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return {name: found[name] for name in wanted}


def hidden_features(model: nn.Module, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """The last hidden layer (after ``relu7``; 4096 numbers per image in the paper's network)."""
    return torch.cat([activations(model, chunk, ["relu7"])["relu7"] for chunk in x.split(batch)])


def nearest(query: torch.Tensor, bank: torch.Tensor, k: int = 5, chunk: int = 1024) -> torch.Tensor:
    """Indices ``(Q, k)`` of the ``k`` rows of ``bank`` closest to each row of ``query`` (Euclidean).

    Both are flattened to vectors first, so images ``(N, 3, H, W)`` compare in pixel space.
    The queries go ``chunk`` at a time, so memory grows with ``chunk x len(bank)``
    distances, not with all of them at once (10,000 queries against 50,000 images would
    otherwise need a 4 GB matrix).
    """
    q = torch.as_tensor(query).flatten(1)
    b = torch.as_tensor(bank).flatten(1).double()
    if q.shape[1] != b.shape[1]:
        raise ValueError(f"query vectors have {q.shape[1]} numbers and bank vectors {b.shape[1]}")
    if not 0 < k <= len(b):
        raise ValueError(f"k must be between 1 and {len(b)}, got {k}")
    return torch.cat([torch.cdist(part.double(), b).topk(k, largest=False).indices for part in q.split(chunk)])


def _height_width_channels(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """An image ``(3, H, W)`` or ``(H, W, 3)`` as matplotlib draws it, ``(H, W, 3)``."""
    picture = np.asarray(image)
    return picture.transpose(1, 2, 0) if picture.ndim == 3 and picture.shape[0] == 3 else picture


def five_best(ax_image, ax_bars, image: torch.Tensor | np.ndarray, probabilities: torch.Tensor,
              label: int, names: Sequence[str], title: str | None = None) -> None:
    """An image (``(3, H, W)`` or ``(H, W, 3)``, uint8 or [0, 1]) with its five best guesses as bars
    under it, the correct class in red when it is among them (the paper's Figure 4, left).

    ``label`` is the correct class, or -1 where it is unknown (no bar is red then). The
    image's title is ``title``, or else the correct class's name.
    """
    picture = _height_width_channels(image)
    if not -1 <= label < len(names):
        raise ValueError(f"label {label} is not a class index (0 to {len(names) - 1}) or -1 for unknown")
    ax_image.imshow(picture, interpolation="nearest")
    ax_image.set_title(title if title is not None else names[label] if label >= 0 else "(class unknown)", fontsize=9)
    ax_image.axis("off")
    top = torch.as_tensor(probabilities).float().topk(min(5, len(names)))
    classes = top.indices.tolist()
    ax_bars.barh(np.arange(len(classes)), top.values.numpy(),
                 color=["tab:red" if c == label else "tab:blue" for c in classes])
    ax_bars.set_yticks(np.arange(len(classes)), [names[c] for c in classes], fontsize=7)
    ax_bars.invert_yaxis()
    ax_bars.set_xlim(0, 1)
    ax_bars.tick_params(axis="x", labelsize=6)


def occlusion_map(model: nn.Module, image: torch.Tensor, label: int, size: int, stride: int = 1,
                  fill: float = 0.0, prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
                  batch: int = 256) -> torch.Tensor:
    """The probability of class ``label`` with a ``size x size`` square of the image covered,
    for every position of the square (stride ``stride``): an ``(rows, columns)`` map.

    ``image`` is ``(3, H, W)`` as the model takes it (already normalised; ``fill=0`` is
    then the mean colour, a neutral grey), or anything ``prepare`` turns into that. Where
    covering a region makes the probability fall, the network relied on that region.
    """
    x = torch.as_tensor(image)
    if x.dim() != 3:
        raise ValueError(f"expected one image (3, H, W), got {tuple(x.shape)}")
    _, h, w = x.shape
    if not 0 < size <= min(h, w) or stride < 1:
        raise ValueError(f"the square ({size}) must fit the image ({h}x{w}) and the stride be positive")
    tops, lefts = range(0, h - size + 1, stride), range(0, w - size + 1, stride)
    covered = x.unsqueeze(0).repeat(len(tops) * len(lefts), 1, 1, 1)
    for i, (top, left) in enumerate((t, lf) for t in tops for lf in lefts):
        covered[i, :, top:top + size, left:left + size] = fill
    model.eval()
    with torch.no_grad():
        p = torch.cat([model(prepare(c) if prepare else c).float().softmax(dim=1)[:, label]
                       for c in covered.split(batch)])
    return p.view(len(tops), len(lefts))


def draw_occlusion(ax, heat: torch.Tensor | np.ndarray, size: int, stride: int, image_shape: tuple[int, int],
                   **imshow: object):
    """Draw an :func:`occlusion_map` where it belongs on its ``(height, width)`` image.

    Each value is painted over the ``stride x stride`` cell around the position the square's
    centre took; the axes span the whole image, so a map drawn under its photo lines up
    with it (the border the square's centre never reached stays empty). Colours default to
    ``magma`` from 0 to 1. Returns the ``AxesImage`` (for a colour bar).
    """
    values = np.asarray(heat)
    if values.ndim != 2:
        raise ValueError(f"expected an occlusion map (rows, columns), got shape {values.shape}")
    rows, columns = values.shape
    height, width = image_shape
    start = (size - stride) / 2  # the first cell's edge: the first centre, size / 2, less half a stride
    shown = ax.imshow(values, extent=(start, start + columns * stride, start + rows * stride, start),
                      **{"cmap": "magma", "vmin": 0, "vmax": 1, **imshow})
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    return shown


def occlusion_grid(pictures: Sequence[torch.Tensor | np.ndarray], heats: Sequence[torch.Tensor | np.ndarray],
                   size: int, stride: int, titles: Sequence[str], map_titles: Sequence[str], suptitle: str, *,
                   figsize: tuple[float, float] | None = None, map_fontsize: int = 8):
    """Photographs (``(3, H, W)`` or ``(H, W, 3)``) above their :func:`occlusion_map` (squares of
    ``size`` moved by ``stride``), one column each, drawn in line (:func:`draw_occlusion`), with
    one colour bar for the maps. Returns the figure."""
    import matplotlib.pyplot as plt

    columns = max(len(pictures), 1)
    fig, axes = plt.subplots(2, columns, figsize=figsize or (2.4 * columns, 4.6), squeeze=False)
    shown = None
    for column, (picture, heat, title, map_title) in enumerate(zip(pictures, heats, titles, map_titles)):
        picture = _height_width_channels(picture)
        axes[0, column].imshow(picture)
        axes[0, column].set_title(title, fontsize=8)
        shown = draw_occlusion(axes[1, column], heat, size, stride, picture.shape[:2])
        axes[1, column].set_title(map_title, fontsize=map_fontsize)
        for ax in axes[:, column]:
            ax.set_xticks([])
            ax.set_yticks([])
    if shown is not None:
        fig.colorbar(shown, ax=axes[1].tolist(), shrink=0.8)
    fig.suptitle(suptitle, fontsize=10)
    return fig


def class_errors(per_class: np.ndarray, counts: np.ndarray, names: Sequence[str], *,
                 matrix_title: str | None = None, suptitle: str | None = None):
    """Two panels: each class's top-1 error as bars, hardest at the top, and the confusion matrix
    (``counts[true, predicted]``, each cell coloured by its share of the row, the count written
    in it). Returns the figure."""
    import matplotlib.pyplot as plt

    per_class, counts = np.asarray(per_class), np.asarray(counts)
    classes = len(names)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [1, 1.25]})
    order = np.argsort(per_class)
    ax1.barh(np.arange(classes), 100 * per_class[order], color="tab:blue")
    ax1.set_yticks(np.arange(classes), [names[i] for i in order])
    ax1.set_xlabel("top-1 error (%)")
    ax1.set_title("error per class (ten patches)")
    share = counts / counts.sum(axis=1, keepdims=True)
    ax2.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for true in range(classes):
        for guess in range(classes):
            if counts[true, guess]:
                ax2.text(guess, true, counts[true, guess], ha="center", va="center", fontsize=6,
                         color="white" if share[true, guess] > 0.5 else "black")
    ax2.set_xticks(np.arange(classes), names, rotation=60, ha="right", fontsize=8)
    ax2.set_yticks(np.arange(classes), names, fontsize=8)
    ax2.set_xlabel("predicted class")
    ax2.set_ylabel("true class")
    if matrix_title:
        ax2.set_title(matrix_title)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return fig

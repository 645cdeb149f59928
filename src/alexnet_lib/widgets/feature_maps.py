"""The feature-map explorer: an image, a layer, a channel, and what that channel computed.

Python computes the activations of a few layers for a few small images once; the widget
carries them as bytes (each channel stretched to 0..255) and its JavaScript
(``feature_maps.js``) draws them. Choosing the image, the layer and the channel is all
done in the browser, so the explorer stays interactive in the book's static pages. A new
image (the upload box, or :meth:`FeatureMapExplorer.add_image`) needs a running kernel,
since its activations have to be computed.
"""

from __future__ import annotations

import base64
import io
import pathlib
from collections.abc import Callable, Sequence

import anywidget
import numpy as np
import torch
import traitlets
from torch import nn

from ..data import square_steps
from ..viz import activations

__all__ = ["FeatureMapExplorer", "square_image"]

_HERE = pathlib.Path(__file__).parent
MAX_BYTES = 4_000_000  # all maps together: a static page should stay light


def square_image(image: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """An ``(H, W, 3)`` or ``(3, H, W)`` uint8 photo as the paper's square: shorter side to ``size``,
    central ``size x size``; returns ``uint8 (3, size, size)``."""
    x = image if isinstance(image, torch.Tensor) else torch.from_numpy(np.array(image))  # a copy: PIL arrays are read-only
    if x.dim() != 3:
        raise ValueError(f"expected one RGB image, got shape {tuple(x.shape)}")
    if x.shape[0] != 3 and x.shape[-1] == 3:
        x = x.permute(2, 0, 1)
    if x.dtype != torch.uint8:
        raise ValueError(f"expected uint8 pixels, got {x.dtype}")
    for step in square_steps(size):
        x = step(x)
    return x.contiguous()


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.uint8).tobytes()).decode("ascii")


def _stretch(maps: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` floats -> uint8, each channel stretched from its own minimum to maximum."""
    flat = maps.flatten(1).float()
    lo = flat.min(dim=1, keepdim=True).values
    hi = flat.max(dim=1, keepdim=True).values
    scaled = (flat - lo) / (hi - lo).clamp_min(1e-12) * 255
    return scaled.round().to(torch.uint8).view_as(maps).numpy()


class FeatureMapExplorer(anywidget.AnyWidget):
    """Browse the feature maps of a trained network.

    Args:
        model: an :class:`alexnet_lib.models.AlexNet` (any variant), trained.
        images: photos as ``(H, W, 3)`` or ``(3, H, W)`` uint8 arrays; each is cut to the
            network's input square of side ``size`` (:func:`square_image`).
        names: a name for each photo.
        size: the network's input size (28 for the book's CIFAR network, 224 for ImageNet's).
        prepare: turns a ``uint8 (N, 3, size, size)`` batch into the network's input
            (normalisation), e.g. ``lambda x: data.to_float_batch(x, mean=..., std=...)``.
        layers: names of the layers to show, e.g. ``("relu1", "relu2", "relu5")``.

    The state lives in traits that the browser reads: ``images``, ``layers``, ``maps``
    and the current ``image_index``, ``layer_index`` and ``channel``.
    """

    _esm = _HERE / "feature_maps.js"
    _css = _HERE / "feature_maps.css"

    images = traitlets.List().tag(sync=True)
    layers = traitlets.List(traitlets.Unicode()).tag(sync=True)
    maps = traitlets.List().tag(sync=True)
    image_index = traitlets.Int(0).tag(sync=True)
    layer_index = traitlets.Int(0).tag(sync=True)
    channel = traitlets.Int(0).tag(sync=True)
    upload = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)

    def __init__(self, model: nn.Module, images: Sequence[np.ndarray | torch.Tensor], names: Sequence[str], *,
                 size: int, prepare: Callable[[torch.Tensor], torch.Tensor],
                 layers: Sequence[str] = ("relu1", "relu2", "relu5"), **kwargs: object) -> None:
        if len(images) != len(names) or not images:
            raise ValueError(f"give one name per image and at least one image ({len(images)} images, {len(names)} names)")
        super().__init__(**kwargs)
        self._model, self._size, self._prepare = model, size, prepare
        self.layers = list(layers)
        for image, name in zip(images, names):
            self.add_image(image, name, select=False)
        self.observe(self._on_upload, names="upload")

    def add_image(self, image: np.ndarray | torch.Tensor, name: str, *, select: bool = True) -> None:
        """Compute the chosen layers' maps for one more image and show it (needs a kernel)."""
        square = square_image(image, self._size)
        found = activations(self._model, self._prepare(square.unsqueeze(0)), self.layers)
        maps = []
        for layer in self.layers:
            out = found[layer][0]
            if out.dim() != 3:
                raise ValueError(f"layer {layer} gives {tuple(out.shape)}, not feature maps (C, H, W): "
                                 "choose convolution, ReLU or pooling layers")
            maps.append({"channels": out.shape[0], "height": out.shape[1], "width": out.shape[2],
                         "data": _b64(_stretch(out))})
        entry = {"name": name, "height": self._size, "width": self._size,
                 "rgb": _b64(square.permute(1, 2, 0).numpy())}
        total = sum(len(m["data"]) for row in self.maps for m in row) + sum(len(m["data"]) for m in maps)
        if total > MAX_BYTES:
            raise ValueError(f"the maps would take {total / 1e6:.1f} MB; use fewer or smaller images or layers")
        self.images = [*self.images, entry]
        self.maps = [*self.maps, maps]
        if select:
            self.image_index = len(self.images) - 1

    def feature_map(self, image: int | None = None, layer: int | None = None, channel: int | None = None) -> np.ndarray:
        """The uint8 map the browser shows for (image, layer, channel) (default: the current ones)."""
        image = self.image_index if image is None else image
        layer = self.layer_index if layer is None else layer
        channel = self.channel if channel is None else channel
        m = self.maps[image][layer]
        data = np.frombuffer(base64.b64decode(m["data"]), dtype=np.uint8)
        return data.reshape(m["channels"], m["height"], m["width"])[channel]

    def _on_upload(self, change: dict) -> None:
        url = change["new"]
        if not url:
            return
        from PIL import Image, UnidentifiedImageError

        try:
            raw = base64.b64decode(url.split(",", 1)[1])
            with Image.open(io.BytesIO(raw)) as img:
                picture = np.asarray(img.convert("RGB"))
            self.add_image(picture, f"your image {len(self.images) + 1}")
            self.status = "your image was added"
        except (IndexError, ValueError, OSError, UnidentifiedImageError) as err:
            self.status = f"could not read that file as an image ({type(err).__name__})"

"""Trained networks ready to classify: the book's own, shipped, and torchvision's, downloaded.

**The book's network** (:func:`book_network`) is the recorded full-width run of Chapter 7
(:mod:`alexnet_lib.full_run`): the paper's AlexNet trained on Imagenette's ten classes at
128 pixels. It ships inside the package, so it needs no training and no network. Its
23.4 million weights are stored in 8 or 4 bits: each output channel (a conv filter, a row of a
fully connected layer) keeps its own scale, ``w ~ scale * round(w / scale)``. The filter
banks and fc8 use 8 bits (``scale = max|w| / 127``); fc6 and fc7, 21 of the 23 million
weights, use 4 bits (levels -7..7, each row's scale chosen to make its squared rounding
error smallest, :func:`quantise`); the biases stay in float32. That makes the file eight
times smaller than float32 (11.6 MB instead of 93 MB); what the rounding costs in
validation and test error is measured and recorded (``results/imagenette_full_*.json``,
key ``shipped``). The file is checked against its SHA-256 before it is read, and it is read with
``numpy.load(..., allow_pickle=False)``: no code in it can run.

**torchvision's AlexNet** trained on ImageNet is found or downloaded and verified.

The file is looked for, in order, in the data folders of the book's data policy
(``ALEXNET_DATA_DIR``, then ``data/``; each may hold it directly or under
``weights/``) and in PyTorch's hub cache, where ``torchvision`` itself keeps it. If it
is nowhere, it is downloaded into ``data/weights/`` (233 MB). torchvision names the
file after the first 8 hex digits of its SHA-256 (``alexnet-owt-7be5be79.pth``) and
publishes nothing longer, so that prefix is what every copy is checked against before
``torch.load(..., weights_only=True)`` reads it.

The 1000 ImageNet class names come with torchvision and need no download
(:func:`imagenet_classes`).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision.transforms import v2

from . import datasets
from .data import IMAGENET_MEAN, IMAGENET_STD, read_image, square_steps
from .models import AlexNet
from .run_data import square_size

__all__ = ["BOOK_NETWORK_FILE", "BOOK_NETWORK_SHA256", "FOUR_BIT", "STORAGE", "BookNetwork", "TORCHVISION_FILE",
           "TORCHVISION_SHA256_PREFIX", "TORCHVISION_URL", "book_network", "book_network_meta", "dequantise",
           "find_torchvision_weights", "imagenet_classes", "load_torchvision_alexnet", "pack4", "quantise",
           "sample_photos", "save_book_network", "stored_weights", "unpack4"]

BOOK_NETWORK_FILE = Path(__file__).resolve().parent / "weights" / "imagenette_alexnet.npz"
BOOK_NETWORK_SHA256 = "ebafc0cb8137d153c928a3e66cbc2b0c74d2bb89b22bebcbbca9724f5da3aad6"
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"

TORCHVISION_FILE = "alexnet-owt-7be5be79.pth"
TORCHVISION_URL = "https://download.pytorch.org/models/" + TORCHVISION_FILE
TORCHVISION_SHA256_PREFIX = "7be5be79"


def _candidates(root: str | os.PathLike[str] | None) -> list[Path]:
    places = []
    for folder in datasets.search_roots(root):
        places += [folder / TORCHVISION_FILE, folder / "weights" / TORCHVISION_FILE]
    places.append(Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE)
    return places


def find_torchvision_weights(root: str | os.PathLike[str] | None = None, *, download: bool = True,
                             progress: bool = True) -> Path:
    """The path of a verified copy of torchvision's AlexNet weights.

    Raises:
        datasets.ChecksumMismatch: a copy was found but is corrupt (its path is named).
        datasets.DataNotFound: no copy, and ``download=False`` or the download failed;
            the message says where to put the file.
    """
    for path in _candidates(root):
        if path.is_file():
            if not datasets.file_sha256(path).startswith(TORCHVISION_SHA256_PREFIX):
                raise datasets.ChecksumMismatch(
                    f"{path} is not torchvision's AlexNet weight file (its SHA-256 does not start with "
                    f"{TORCHVISION_SHA256_PREFIX}); it may be truncated. Delete it and try again."
                )
            return path
    dest = datasets.cache_dir() / "weights" / TORCHVISION_FILE
    fix = (f"Download {TORCHVISION_URL} on a machine with a network and put it in {datasets.describe_folder(dest.parent)} "
           f"(or in the folder that {datasets.ENV_VAR} names).")
    if not download:
        raise datasets.DataNotFound(f"torchvision's AlexNet weights are not on this machine. {fix}")
    try:
        return datasets.download(TORCHVISION_URL, dest, TORCHVISION_SHA256_PREFIX, progress=progress)
    except datasets.DownloadFailed as err:
        raise datasets.DataNotFound(f"torchvision's AlexNet weights could not be downloaded ({err}). {fix}") from err


def load_torchvision_alexnet(root: str | os.PathLike[str] | None = None, *, download: bool = True,
                             progress: bool = True) -> AlexNet:
    """``AlexNet(variant="torchvision")`` with torchvision's ImageNet weights, in eval mode.

    Its inputs are 224x224 RGB images scaled to [0, 1] and normalised with ImageNet's
    per-channel mean (0.485, 0.456, 0.406) and standard deviation (0.229, 0.224, 0.225).
    """
    path = find_torchvision_weights(root, download=download, progress=progress)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = AlexNet(num_classes=1000, variant="torchvision")
    model.load_state_dict(state, strict=True)
    return model.eval()


def imagenet_classes() -> list[str]:
    """The 1000 ILSVRC-2012 class names, in the order of the network's outputs (from torchvision)."""
    from torchvision.models import AlexNet_Weights

    return list(AlexNet_Weights.IMAGENET1K_V1.meta["categories"])


# --- the book's network -------------------------------------------------------------------


# The weights stored in 4 bits: fc6 and fc7 hold 21 of the network's 23.4 million weights. In
# 4 bits they cost no measurable error (results/imagenette_full_*.json, "shipped"); the filter
# banks and fc8, small and closer to the input or the output, keep 8 bits.
FOUR_BIT = ("classifier.fc6.weight", "classifier.fc7.weight")
STORAGE = ("per output channel: fc6 and fc7 in 4 bits (-7..7, the scale of least squared error), "
           "the filter banks and fc8 in 8 bits (scale = max|w| / 127); biases float32")
_CLIPS = np.linspace(0.3, 1.0, 15)  # the 4-bit scales tried per row, as fractions of max|w| / 7


def quantise(weight: torch.Tensor, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """``int8`` values and ``float32`` scales, one per output channel (the first axis), such that
    ``values * scale`` approximates ``weight``.

    ``bits=8``: 255 levels between ``-max|w|`` and ``max|w|`` (``scale = max|w| / 127``).
    ``bits=4``: 15 levels, ``-7..7``; with so few, a row's few largest weights would leave most of
    the others on two or three levels, so each row's scale is the one among ``c * max|w| / 7``
    (``c`` from 0.3 to 1) whose rounding error, summed over the row, is smallest (the largest
    weights are then clipped to ``+-7 * scale``). The values of ``bits=4`` lie in -7..7 and
    are stored two to a byte (:func:`pack4`).
    """
    if bits not in (4, 8):
        raise ValueError(f"bits must be 8 or 4, got {bits}")
    w = weight.detach().to(torch.float32).cpu().reshape(len(weight), -1)
    tiny = torch.finfo(torch.float32).tiny
    if bits == 8:
        scale = w.abs().amax(dim=1).clamp_min(tiny) / 127
        values = torch.round(w / scale[:, None]).clamp_(-127, 127)
    else:
        peak = w.abs().amax(dim=1).clamp_min(tiny)
        best_error = torch.full((len(w),), float("inf"))
        scale, values = torch.empty(len(w)), torch.empty_like(w)
        for clip in _CLIPS:
            s = (peak * float(clip) / 7).clamp_min(tiny)
            v = torch.round(w / s[:, None]).clamp_(-7, 7)
            error = ((v * s[:, None] - w) ** 2).sum(dim=1)
            better = error < best_error
            best_error[better], scale[better], values[better] = error[better], s[better], v[better]
    return values.to(torch.int8).reshape(weight.shape).numpy(), scale.numpy()


def pack4(values: np.ndarray) -> np.ndarray:
    """``int8`` values in -8..7, shape ``(rows, columns)`` with an even number of columns, two to a
    byte: ``uint8 (rows, columns / 2)``, the first of each pair in the low four bits (ONNX's
    ``INT4`` layout, so the exporter copies these bytes as they are)."""
    if values.ndim != 2 or values.shape[1] % 2 or values.min(initial=0) < -8 or values.max(initial=0) > 7:
        raise ValueError(f"pack4 needs int values in -8..7 with an even number of columns, got {values.shape}")
    nibbles = values.astype(np.uint8) & 0x0F
    return nibbles[:, 0::2] | (nibbles[:, 1::2] << 4)


def unpack4(packed: np.ndarray) -> np.ndarray:
    """The ``int8`` values (-8..7) that :func:`pack4` packed, shape ``(rows, 2 * columns)``."""
    low, high = (packed & 0x0F).astype(np.int8), (packed >> 4).astype(np.int8)
    values = np.empty((packed.shape[0], 2 * packed.shape[1]), dtype=np.int8)
    values[:, 0::2], values[:, 1::2] = low, high
    return np.where(values > 7, values - 16, values).astype(np.int8)


def dequantise(values: np.ndarray, scale: np.ndarray) -> torch.Tensor:
    """The float32 weights that :func:`quantise` stored."""
    shape = (-1,) + (1,) * (values.ndim - 1)
    return torch.from_numpy(values.astype(np.float32) * scale.astype(np.float32).reshape(shape))


def save_book_network(model: AlexNet, meta: dict[str, Any], path: str | os.PathLike[str],
                      four_bit: Iterable[str] = FOUR_BIT) -> str:
    """Write ``model``'s weights and ``meta`` (its settings, classes and preprocessing, as JSON) to
    ``path``, an ``.npz`` file; returns its SHA-256. Weights named in ``four_bit`` are stored in
    4 bits (``<name>.int4``, packed), the other matrices and filter banks in 8 (``<name>.int8``),
    each with its scales (``<name>.scale``); biases stay float32."""
    arrays: dict[str, np.ndarray] = {}
    four_bit = set(four_bit)
    unknown = four_bit - set(model.state_dict())
    if unknown:
        raise ValueError(f"four_bit names weights the model does not have: {sorted(unknown)}")
    if any(model.state_dict()[name].dim() != 2 for name in four_bit):
        raise ValueError("only matrices (fully connected layers) are stored in 4 bits")
    for name, tensor in model.state_dict().items():
        if name in four_bit:
            values, arrays[name + ".scale"] = quantise(tensor, bits=4)
            arrays[name + ".int4"] = pack4(values.reshape(len(values), -1))
        elif tensor.dim() >= 2:
            arrays[name + ".int8"], arrays[name + ".scale"] = quantise(tensor)
        else:
            arrays[name] = tensor.detach().cpu().to(torch.float32).numpy()
    arrays["meta.json"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    os.replace(tmp, path)
    return datasets.file_sha256(path)


def stored_weights(path: str | os.PathLike[str]) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """``{parameter name: (int8 values, float32 scale per output channel, bits)}`` of a network
    file, exactly as :func:`save_book_network` wrote them (4-bit values unpacked, each still in
    -7..7; a 4-bit matrix has the shape ``(rows, columns)``)."""
    with open(path, "rb") as file, np.load(file, allow_pickle=False) as arrays:
        return _stored(arrays)


def _stored(arrays: Any) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """:func:`stored_weights` of a network file already open (``numpy.load``'s ``NpzFile``)."""
    stored = {}
    for key in arrays.files:
        name, _, kind = key.rpartition(".")
        if kind == "int8":
            stored[name] = (arrays[key], arrays[name + ".scale"], 8)
        elif kind == "int4":
            stored[name] = (unpack4(arrays[key]), arrays[name + ".scale"], 4)
    return stored


class BookNetwork(AlexNet):
    """The book's trained network: an :class:`AlexNet` (the paper's variant) that also knows its
    classes and the preprocessing its photographs need.

    ``classes`` are readable names ("tench", "church", ...), ``wnids`` their WordNet ids, in the
    order of the outputs. :meth:`preprocess` turns photographs into the network's input;
    :meth:`classify` gives the ``k`` best guesses for each.
    """

    def __init__(self, meta: dict[str, Any]) -> None:
        settings = meta["settings"]
        super().__init__(num_classes=len(meta["wnids"]), variant="paper", width=settings["width"],
                         lrn=settings["lrn"], image_size=meta["image_size"], dropout=settings["dropout"])
        self.meta = meta
        self.wnids: list[str] = list(meta["wnids"])
        self.classes: list[str] = datasets.readable(self.wnids)
        self.image_size, self.scale = int(meta["image_size"]), int(meta["scale"])
        self.mean, self.std = tuple(meta["mean"]), tuple(meta["std"])

    def patch(self, image: torch.Tensor | str | os.PathLike[str]) -> torch.Tensor:
        """The ``uint8`` patch ``(3, size, size)`` the network sees of one photograph (a path, or an
        RGB ``uint8`` tensor ``(3, H, W)``): shorter side to ``scale``, the central square, its
        central ``size x size`` patch (the recorded run's test patch)."""
        x = read_image(image) if isinstance(image, (str, os.PathLike)) else image
        if not (isinstance(x, torch.Tensor) and x.dim() == 3 and x.shape[0] == 3 and x.dtype == torch.uint8):
            raise ValueError("expected a path or an RGB uint8 tensor (3, H, W), got "
                             f"{getattr(x, 'dtype', type(x).__name__)} {tuple(getattr(x, 'shape', ()))}")
        return v2.Compose([*square_steps(self.scale), v2.CenterCrop(self.image_size)])(x)

    def normalise(self, patches: torch.Tensor) -> torch.Tensor:
        """``uint8`` patches ``(N, 3, size, size)`` (from :meth:`patch`) as the network's float
        input: scaled to [0, 1], then normalised with the per-channel mean and standard deviation."""
        if not (isinstance(patches, torch.Tensor) and patches.dim() == 4 and patches.dtype == torch.uint8):
            raise ValueError("expected uint8 patches (N, 3, H, W), got "
                             f"{getattr(patches, 'dtype', type(patches).__name__)} {tuple(getattr(patches, 'shape', ()))}")
        mean, std = torch.tensor(self.mean).view(1, 3, 1, 1), torch.tensor(self.std).view(1, 3, 1, 1)
        return (patches.to(torch.float32).div(255) - mean) / std

    def preprocess(self, images: Iterable[torch.Tensor | str | os.PathLike[str]]) -> torch.Tensor:
        """A float batch ``(N, 3, size, size)`` for the network: each photograph's :meth:`patch`,
        then :meth:`normalise`."""
        return self.normalise(torch.stack([self.patch(image) for image in images]))

    @torch.no_grad()
    def classify(self, images: Iterable[torch.Tensor | str | os.PathLike[str]], k: int = 5
                 ) -> list[list[tuple[str, float]]]:
        """For each photograph, the ``k`` most probable classes with their probabilities."""
        probabilities = torch.softmax(self.eval()(self.preprocess(images)), dim=1)
        top = probabilities.topk(min(k, len(self.classes)), dim=1)
        return [[(self.classes[int(c)], float(p)) for p, c in zip(ps, cs)] for ps, cs in zip(*top)]


def _read_book_network(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    with open(path, "rb") as file, np.load(file, allow_pickle=False) as arrays:
        meta = json.loads(arrays["meta.json"].tobytes().decode())
        state = {key: torch.from_numpy(arrays[key].copy()) for key in arrays.files
                 if key.rpartition(".")[2] not in ("int8", "int4", "scale") and key != "meta.json"}
        for name, (values, scale, _) in _stored(arrays).items():  # the file is read once
            state[name] = dequantise(values, scale)
    return state, meta


def book_network(path: str | os.PathLike[str] | None = None, *, check: bool = True) -> BookNetwork:
    """The book's network, trained on Imagenette (Chapter 7's recorded run), in eval mode on the CPU.

    It classifies photographs into Imagenette's ten classes::

        net = book_network()
        net.classify(["photo.jpg"])     # [[('church', 0.93), ('parachute', 0.02), ...]]

    The shipped file is checked against :data:`BOOK_NETWORK_SHA256` first (``check=False``
    skips that, for a file of your own given as ``path``).

    Raises:
        datasets.DataNotFound: the file is missing (an installation without its package data).
        datasets.ChecksumMismatch: the file is damaged.
    """
    file = Path(path) if path is not None else BOOK_NETWORK_FILE
    if not file.is_file():
        raise datasets.DataNotFound(f"the book's network is not at {file}: reinstall the package "
                                    "(pip install --force-reinstall alexnet-lib) or pass the file's path")
    if check and path is None and datasets.file_sha256(file) != BOOK_NETWORK_SHA256:
        raise datasets.ChecksumMismatch(f"{file} does not match its SHA-256 ({BOOK_NETWORK_SHA256[:12]}...): "
                                        "it is damaged; reinstall the package")
    try:
        state, meta = _read_book_network(file)
        model = BookNetwork(meta)
        model.load_state_dict(state, strict=True)
    except (OSError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise datasets.ChecksumMismatch(f"{file} is not a network file of this library ({err})") from err
    return model.eval()


def sample_photos() -> list[tuple[Path, str]]:
    """The ten photographs that ship with the library (one per Imagenette class, from its test
    split) and their classes' names, in the order of the network's classes."""
    rows = (SAMPLES_DIR / "labels.csv").read_text().splitlines()[1:]
    return [(SAMPLES_DIR / row.split(",")[0], row.split(",")[2]) for row in rows if row]


def book_network_meta(cfg: Any, wnids: list[str], source: str) -> dict[str, Any]:
    """What :func:`book_network` needs besides the weights, from a run's settings ``cfg``."""
    return {"settings": {"width": cfg.width, "lrn": cfg.lrn, "dropout": cfg.dropout, "init": cfg.init},
            "wnids": list(wnids), "image_size": cfg.image_size, "scale": square_size(cfg.image_size),
            "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "source": source,
            "storage": STORAGE}

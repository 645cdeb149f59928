"""The book's network as one ONNX file, for the page that runs it in the reader's browser.

The page "Try it: AlexNet on your photograph" classifies a reader's photograph with
:func:`alexnet_lib.pretrained.book_network` without Python: ONNX Runtime Web runs this
file in the page. :func:`export_onnx` writes it with ``torch.onnx.export`` when the book is
built (it is not committed):

- **one input, two outputs.** ``image`` is a batch ``(N, 3, 128, 128)`` prepared as
  :meth:`BookNetwork.preprocess <alexnet_lib.pretrained.BookNetwork.preprocess>` prepares
  it; ``logits`` are the ten classes' scores and ``relu1`` conv1's 96 feature maps after
  its ReLU (30 x 30 each), which the page shows. A caller asks ONNX Runtime for the
  outputs it needs, so a batch of occlusion runs fetches only the logits.
- **LRN as ONNX's own operator.** ONNX's ``LRN`` divides alpha by the window size and adds
  ``bias`` (our ``k``): the library's reading of the paper's constants exactly. The
  library's layer normalises within each of the two towers
  (:class:`~alexnet_lib.lrn.TowerLocalResponseNorm`, ``groups=2``), so it is exported as
  ``Split`` into the towers, one ``LRN`` per tower and ``Concat``. (Traced as it is
  written, the library's fast LRN would become about fifty small operators per layer.)
- **8- and 4-bit weights, as shipped.** The package stores the filter banks and fc8 as
  ``int8`` and fc6 and fc7 as 4-bit integers, each with one ``float32`` scale per output
  channel (:func:`~alexnet_lib.pretrained.quantise`). The ONNX file keeps exactly those
  values (ONNX's ``INT4`` type packs two to a byte, as the package does), and a
  ``DequantizeLinear`` node per weight (``axis=0``) multiplies them back: the weights the page
  computes with are the library's, to the last bit, and the file is about an eighth of
  float32's size (about 13 MB instead of 93 MB). The activations stay ``float32``. ``INT4``
  needs opset 21: the graph is exported at opset 18 (what the LRN translation is written for)
  and then converted.

:func:`page_assets` writes everything the page needs besides ONNX Runtime: the model
(also gzipped: the page inflates it with the browser's ``DecompressionStream``), conv1's
kernels as bytes, and :func:`page_config`, the constants the page's JavaScript reads
(sizes, mean and standard deviation, class names, the occlusion square...), taken from
the library so that none of them is typed twice.

It needs the ``book`` extra (``onnx``, ``onnxscript``), ``onnxruntime`` (the ``test`` extra) to
run the file in Python, and PyTorch 2.6 or later (its exporter's ``custom_translation_table``).

    python -m alexnet_lib.onnx_export OUT_FOLDER [--weights FILE.npz]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import pretrained
from .full_run import OCCLUSION_SIZE, OCCLUSION_STRIDE
from .lrn import TowerLocalResponseNorm, tower_local_response_norm
from .models import paper_map_sizes
from .viz import kernel_grid

try:  # the `book` extra (building the page) and the `test` extra: the exporter and the runtime
    import onnx
    import onnxruntime
    from onnx import helper, numpy_helper, version_converter
    from onnxscript import opset18 as op
except ImportError:  # pragma: no cover - the module still imports; exporting says what is missing
    onnx = onnxruntime = None

__all__ = ["INPUT", "LOGITS", "MAPS", "OPSET", "export_onnx", "kernel_pixels", "page_assets", "page_config",
           "run_onnx"]

INPUT, LOGITS, MAPS = "image", "logits", "relu1"
EXPORT_OPSET = 18  # what the exporter writes (the LRN translation uses onnxscript's opset 18)
OPSET = 21  # the file's: DequantizeLinear of INT4 values since opset 21 (LRN since 1)
MODEL_FILE, KERNELS_FILE, CONFIG_FILE = "model.onnx", "conv1_kernels.bin", "config.json"
MAX_BYTES = 25_000_000  # the page downloads this file: the book's limit for it
# The ONNX Runtime setting that folds the weights once (the page sets it too, from page_config).
SESSION_CONFIG = ("session.disable_quant_qdq", "1")


def _need_onnx() -> None:
    if onnx is None or onnxruntime is None:
        raise ImportError("exporting the network needs onnx, onnxscript and onnxruntime: pip install -e '.[book,test]'")


# --- LRN as one operator per tower ---------------------------------------------------------

@torch.library.custom_op("alexnet_book::lrn", mutates_args=())
def _lrn(x: torch.Tensor, size: int, alpha: float, beta: float, k: float) -> torch.Tensor:
    """One tower's LRN, computed by the library (the exporter sees one operator)."""
    return tower_local_response_norm(x, size, alpha, beta, k, groups=1)


@_lrn.register_fake
def _lrn_shape(x: torch.Tensor, size: int, alpha: float, beta: float, k: float) -> torch.Tensor:
    return torch.empty_like(x)


def _lrn_onnx(x, size: int, alpha: float, beta: float, k: float):
    """The translation the exporter uses for ``alexnet_book::lrn``: ONNX's LRN, whose ``alpha``
    is divided by ``size`` and whose ``bias`` is ``k`` (the library's meaning of both)."""
    return op.LRN(x, size=size, alpha=alpha, beta=beta, bias=k)


class _TowerLRN(nn.Module):
    """:class:`TowerLocalResponseNorm` as the exporter should see it: split, LRN per tower, concatenate."""

    def __init__(self, like: TowerLocalResponseNorm) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k, self.groups = like.size, like.alpha, like.beta, like.k, like.groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        towers = x.chunk(self.groups, dim=1)
        return torch.cat([_lrn(t, self.size, self.alpha, self.beta, self.k) for t in towers], dim=1)


class _TwoOutputs(nn.Module):
    """The network's layers in order, returning ``(logits, relu1)``; the same computation as
    ``net(x)`` in eval mode (dropout does nothing there), with LRN per tower."""

    def __init__(self, net: pretrained.BookNetwork) -> None:
        super().__init__()
        self.features = nn.ModuleDict({name: _TowerLRN(layer) if isinstance(layer, TowerLocalResponseNorm) else layer
                                       for name, layer in net.features.named_children()})
        self.classifier = net.classifier

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        maps = x
        for name, layer in self.features.items():
            x = layer(x)
            if name == MAPS:
                maps = x.clone()  # ReLU works in place; the next layers must not change what we return
        return self.classifier(torch.flatten(x, 1)), maps


# --- the weights as the package stores them --------------------------------------------------

def _quantise_initialisers(model, stored: dict[str, tuple[np.ndarray, np.ndarray, int]]) -> int:
    """Replace each float weight of ``model`` (an ``onnx.ModelProto``) that the file stores in 8 or
    4 bits by those values and a ``DequantizeLinear`` node; returns how many were replaced."""
    graph = model.graph
    nodes, kept, replaced = [], [], 0
    for init in graph.initializer:
        if init.name not in stored:
            kept.append(init)
            continue
        values, scale, bits = stored[init.name]
        current = numpy_helper.to_array(init)
        if current.shape != values.shape:
            raise ValueError(f"{init.name}: the graph holds {current.shape}, the file {values.shape}")
        if not np.array_equal(current, pretrained.dequantise(values, scale).numpy()):
            raise ValueError(f"{init.name}: the exported weights are not the file's (was another network exported?)")
        if bits == 4:
            quantised = helper.make_tensor(init.name + "_int4", onnx.TensorProto.INT4, values.shape,
                                           pretrained.pack4(values).tobytes(), raw=True)
        else:
            quantised = numpy_helper.from_array(values, init.name + "_int8")
        kept += [quantised, numpy_helper.from_array(scale.astype(np.float32), init.name + "_scale")]
        nodes.append(helper.make_node("DequantizeLinear", [quantised.name, init.name + "_scale"], [init.name],
                                      name=init.name + "_dequantise", axis=0))
        replaced += 1
    missing = set(stored) - {init.name for init in graph.initializer}
    if missing:
        raise ValueError(f"the exported graph has no weights named {sorted(missing)}")
    del graph.initializer[:]
    graph.initializer.extend(kept)
    body = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + body)  # the weights first: nodes must come after what they read
    onnx.checker.check_model(model)
    return replaced


def export_onnx(path: str | os.PathLike[str], weights: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Write the book's network (:func:`~alexnet_lib.pretrained.book_network`, or the network file
    ``weights``) to ``path`` as one ONNX file; returns a summary (operators, size, SHA-256).

    Raises ``ValueError`` when the file would exceed :data:`MAX_BYTES`.
    """
    _need_onnx()
    net = pretrained.book_network(weights) if weights is not None else pretrained.book_network()
    view = _TwoOutputs(net).eval()
    example = torch.zeros(2, 3, net.image_size, net.image_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals
        program = torch.onnx.export(
            view, (example,), dynamo=True, opset_version=EXPORT_OPSET, input_names=[INPUT], output_names=[LOGITS, MAPS],
            dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},),
            custom_translation_table={torch.ops.alexnet_book.lrn.default: _lrn_onnx}, verbose=False)
    model = version_converter.convert_version(program.model_proto, OPSET)
    replaced = _quantise_initialisers(model, pretrained.stored_weights(weights or pretrained.BOOK_NETWORK_FILE))
    # Strip what the exporter records for debugging (source lines, node names in PyTorch).
    for node in model.graph.node:
        node.doc_string = ""
        del node.metadata_props[:]
    del model.metadata_props[:]
    model.doc_string = f"alexnet_lib's book network ({net.meta.get('source', '?')}), 8- and 4-bit weights"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path), save_as_external_data=False)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"{path} is {size:,} bytes, over the page's limit of {MAX_BYTES:,}")
    ops: dict[str, int] = {}
    for node in model.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return {"path": str(path), "bytes": size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "operators": ops, "quantised_weights": replaced, "opset": OPSET}


def run_onnx(path: str | os.PathLike[str], x: torch.Tensor | np.ndarray, outputs: tuple[str, ...] = (LOGITS, MAPS)
             ) -> list[np.ndarray]:
    """Run the exported file with ONNX Runtime (Python, one thread) on a prepared batch ``x``."""
    _need_onnx()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    # Fold the DequantizeLinear nodes into float32 weights once, when the session starts (ONNX
    # Runtime keeps them by default, for quantised models, and then repeats them at every run).
    options.add_session_config_entry(SESSION_CONFIG[0], SESSION_CONFIG[1])
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(list(outputs), {INPUT: np.ascontiguousarray(np.asarray(x, dtype=np.float32))})


# --- what the page reads ---------------------------------------------------------------------

def kernel_pixels(net: nn.Module) -> np.ndarray:
    """conv1's kernels as ``uint8 (96, 11, 11, 3)`` pictures, each stretched to 0..255 on its own
    as :func:`alexnet_lib.viz.kernel_grid` shows them (Chapter 9's Figure 3)."""
    weight = net.features.conv1.weight.detach()
    return np.stack([np.round(kernel_grid(weight[i:i + 1], columns=1, gap=0) * 255).astype(np.uint8)
                     for i in range(len(weight))])


def _colour_table(name: str) -> str:
    """A matplotlib colour map as 256 RGB colours, hex digits (the page colours maps with it)."""
    from matplotlib import colormaps

    rgb = np.round(colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    return rgb.tobytes().hex()


def page_config(net: pretrained.BookNetwork) -> dict[str, Any]:
    """The constants the page's JavaScript works with, from the library: its preprocessing, its
    classes, conv1's shapes and the occlusion square of Chapter 9's recorded maps."""
    conv1 = net.features.conv1
    return {
        "image_size": net.image_size, "scale": net.scale, "mean": list(net.mean), "std": list(net.std),
        "classes": list(net.classes), "wnids": list(net.wnids), "source": net.meta.get("source", ""),
        "input": INPUT, "logits": LOGITS, "maps": MAPS, "session_config": dict([SESSION_CONFIG]),
        "map_channels": conv1.out_channels, "map_size": paper_map_sizes(net.image_size)["conv1"],
        "kernel_size": conv1.kernel_size[0],
        "occlusion": {"size": OCCLUSION_SIZE, "stride": OCCLUSION_STRIDE, "fill": 0.0},
        "colours": {"maps": _colour_table("viridis"), "occlusion": _colour_table("magma")},
    }


def _gzip(src: Path, dest: Path) -> None:
    with open(src, "rb") as f, gzip.GzipFile(dest, "wb", compresslevel=9, mtime=0) as out:
        shutil.copyfileobj(f, out)


def page_assets(folder: str | os.PathLike[str], weights: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Write the page's files into ``folder``: ``model.onnx`` and ``model.onnx.gz``,
    ``conv1_kernels.bin`` and ``config.json`` (:func:`page_config` plus the files' sizes and
    SHA-256, and the network file's SHA-256, so that a test knows which network a page runs).
    Returns the configuration."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    net = pretrained.book_network(weights) if weights is not None else pretrained.book_network()
    summary = export_onnx(folder / MODEL_FILE, weights)
    _gzip(folder / MODEL_FILE, folder / (MODEL_FILE + ".gz"))
    (folder / KERNELS_FILE).write_bytes(kernel_pixels(net).tobytes())
    config = page_config(net)
    config["weights_sha256"] = hashlib.sha256(Path(weights or pretrained.BOOK_NETWORK_FILE).read_bytes()).hexdigest()
    config["files"] = {name: {"bytes": (folder / name).stat().st_size,
                              "sha256": hashlib.sha256((folder / name).read_bytes()).hexdigest()}
                       for name in (MODEL_FILE, MODEL_FILE + ".gz", KERNELS_FILE)}
    config["export"] = {k: summary[k] for k in ("operators", "quantised_weights", "opset")}
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=1, sort_keys=True))
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alexnet_lib.onnx_export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", help="where to write model.onnx, model.onnx.gz, conv1_kernels.bin, config.json")
    parser.add_argument("--weights", default=None,
                        help="a network file written by pretrained.save_book_network (default: the shipped one)")
    args = parser.parse_args(argv)
    config = page_assets(args.folder, args.weights)
    for name, info in config["files"].items():
        print(f"{name}: {info['bytes']:,} bytes")
    print("operators:", ", ".join(f"{op} {n}" for op, n in sorted(config["export"]["operators"].items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m alexnet_lib.bench conv``: the library's convolutions against PyTorch's (Chapter 2).

:func:`alexnet_lib.conv.conv2d_im2col`, Winograd's F(2x2, 3x3) and F(4x4, 3x3)
(:func:`~alexnet_lib.conv.conv2d_winograd`, for the 3x3 layers) and the FFT
(:func:`~alexnet_lib.conv.conv2d_fft`) against ``torch.nn.functional.conv2d`` (fp32, the same
number of threads for both, runs interleaved, medians) on the five convolution layers of
AlexNet as the paper describes them (227 px input, the two-GPU towers as groups), forward
(each algorithm, with its multiplications counted, and the best of them) and
forward+backward (im2col), with a pause before each timed run so that one library's idle
threads do not slow the other; and the loops of :func:`alexnet_lib.conv.conv2d_naive`
against im2col on a small layer.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from ..conv import conv2d_backward, conv2d_fft, conv2d_im2col, conv2d_naive, conv2d_winograd, multiplications
from ..machine import benchmark_threads, describe
from .timing import median_interleaved, stage_times

__all__ = ["ALEXNET_CONV_LAYERS", "ALGORITHMS", "SMALL_LAYER", "TARGETS", "ConvLayer", "bench_conv", "bench_stages",
           "format_conv", "format_stages"]


@dataclass(frozen=True)
class ConvLayer:
    """One convolution layer's shapes."""

    name: str
    in_channels: int
    size: int  # input height = width
    out_channels: int
    kernel: int
    stride: int
    padding: int
    groups: int

    def x_shape(self, batch: int) -> tuple[int, int, int, int]:
        return (batch, self.in_channels, self.size, self.size)

    def w_shape(self) -> tuple[int, int, int, int]:
        return (self.out_channels, self.in_channels // self.groups, self.kernel, self.kernel)

    @property
    def out_size(self) -> int:
        return (self.size + 2 * self.padding - self.kernel) // self.stride + 1

    def random_inputs(self, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
        """A random float32 batch, weights of the scale 0.01 and zero biases for this layer, and
        the layer's ``stride``, ``padding`` and ``groups`` as keyword arguments."""
        x = rng.standard_normal(self.x_shape(batch), dtype=np.float32)
        w = rng.standard_normal(self.w_shape(), dtype=np.float32) * 0.01
        b = np.zeros(self.out_channels, dtype=np.float32)
        return x, w, b, {"stride": self.stride, "padding": self.padding, "groups": self.groups}

    def macs(self, batch: int) -> int:
        """Multiply-adds of the forward pass."""
        per_output = self.in_channels // self.groups * self.kernel**2
        return batch * self.out_channels * self.out_size**2 * per_output


# The paper's five convolutions (section 3.5, Figure 2), on a 227x227 input so the
# sizes work out: 55 -> pool 27 -> 27 -> pool 13 -> 13 -> 13 -> 13.
ALEXNET_CONV_LAYERS: tuple[ConvLayer, ...] = (
    ConvLayer("conv1", 3, 227, 96, 11, 4, 0, 1),
    ConvLayer("conv2", 96, 27, 256, 5, 1, 2, 2),
    ConvLayer("conv3", 256, 13, 384, 3, 1, 1, 1),
    ConvLayer("conv4", 384, 13, 384, 3, 1, 1, 2),
    ConvLayer("conv5", 384, 13, 256, 3, 1, 1, 2),
)
SMALL_LAYER = ConvLayer("small", 16, 16, 32, 3, 1, 1, 1)


ALGORITHMS = ("im2col", "winograd2", "winograd4", "fft")


def _algorithm(name: str, layer: ConvLayer):
    """The library's forward function called ``name`` for ``layer``, or None where it does not apply
    (Winograd: 3x3 kernels at stride 1 only)."""
    if name == "im2col":
        return conv2d_im2col
    if name.startswith("winograd"):
        if layer.kernel != 3 or layer.stride != 1:
            return None
        m = int(name[-1])
        return lambda x, w, b, **args: conv2d_winograd(x, w, b, m=m, **args)
    if name == "fft":
        return conv2d_fft
    raise ValueError(f"unknown algorithm {name!r}: choose from {', '.join(ALGORITHMS)}")


def _multiplications(name: str, layer: ConvLayer, batch: int) -> int:
    shape = (layer.in_channels, layer.size + 2 * layer.padding, layer.out_channels, layer.kernel, layer.stride,
             layer.groups)
    if name == "im2col":
        return batch * multiplications("direct", shape)
    if name.startswith("winograd"):
        return batch * multiplications("winograd", shape, m=int(name[-1]))
    return batch * multiplications("fft", shape)


def bench_conv(
    batch: int = 32, repeats: int = 5, threads: int | None = None, small_repeats: int = 3, settle: float = 0.2,
    algorithms: tuple[str, ...] = ALGORITHMS, strided_fft: bool = True,
) -> dict[str, Any]:
    """Time the library's convolutions against PyTorch's on AlexNet's conv layers, and loops against im2col.

    Every layer runs forward with each of ``algorithms`` that applies to it (im2col; Winograd's
    F(2x2, 3x3) and F(4x4, 3x3) for 3x3 kernels at stride 1; FFT), and forward+backward with
    im2col and the hand-written backward pass. The best of the library's forwards is compared
    with PyTorch's per layer and in total. Uses ``threads`` threads for both libraries (default:
    :func:`~alexnet_lib.machine.benchmark_threads`), and leaves PyTorch's thread count as it
    found it. ``strided_fft=False`` leaves out the FFT on layers with a stride (conv1), where it
    computes sixteen outputs for every one it keeps and takes seconds a batch: a chapter's run
    stays within its time.
    """
    for name in algorithms:
        _algorithm(name, ALEXNET_CONV_LAYERS[2])  # an unknown name fails here, before any timing
    threads = threads or benchmark_threads()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _bench_conv(batch, repeats, threads, small_repeats, settle, algorithms, strided_fft)
    finally:
        torch.set_num_threads(previous_threads)


def bench_stages(layer: str = "conv3", batch: int = 32, repeats: int = 5, threads: int | None = None,
                 settle: float = 0.2) -> dict[str, Any]:
    """Where the time of one layer's forward goes: im2col's and Winograd F(4x4, 3x3)'s stages.

    Each algorithm runs on the same random batch ``repeats`` times (after one untimed run),
    with its stages timed through the ``stages=`` argument of :func:`~alexnet_lib.conv.conv2d_im2col`
    and :func:`~alexnet_lib.conv.conv2d_winograd`; medians in seconds. ``layer`` is one of
    AlexNet's 3x3 layers (conv3, conv4, conv5), where Winograd's algorithm applies.
    """
    by_name = {spec.name: spec for spec in ALEXNET_CONV_LAYERS}
    if layer not in by_name or _algorithm("winograd4", by_name[layer]) is None:
        raise ValueError(f"layer must be one of AlexNet's 3x3 layers (conv3, conv4, conv5), got {layer!r}")
    spec = by_name[layer]
    threads = threads or benchmark_threads()
    x, w, b, args = spec.random_inputs(batch, np.random.default_rng(0))
    with threadpool_limits(limits=threads):
        stages = {
            "im2col": stage_times(lambda mark: conv2d_im2col(x, w, b, **args, stages=mark), repeats, settle=settle),
            "winograd4": stage_times(lambda mark: conv2d_winograd(x, w, b, **args, m=4, stages=mark), repeats,
                                     settle=settle),
        }
    return {"benchmark": "conv stages", "machine": describe(threads), "layer": asdict(spec), "batch": batch,
            "repeats": repeats, "seconds": stages,
            "multiplications": {name: _multiplications(name, spec, batch) for name in stages}}


# the stages of conv2d_im2col and conv2d_winograd, in the order the table shows them
STAGE_ORDER = ("padding, channels innermost", "copying the input into columns", "copying the input into tiles",
               "transforming the input tiles", "transforming the kernels", "the multiplications",
               "transforming the output tiles", "putting the output tiles together", "the rest (the bias, a last copy)",
               "the rest (the bias)")


def format_stages(result: dict[str, Any]) -> str:
    """The stage table as text: milliseconds per stage, one column per algorithm."""
    columns = list(result["seconds"])
    found = {name for column in columns for name in result["seconds"][column]} - {"whole"}
    names = [n for n in STAGE_ORDER if n in found] + sorted(found - set(STAGE_ORDER))
    title = (f"{result['layer']['name']}, batch {result['batch']}, medians of {result['repeats']} runs, "
             f"milliseconds ({result['machine']['processor']}, {result['machine']['threads']} threads)")
    # the page's output box holds 80 characters: a long processor name wraps
    lines = [textwrap.fill(title, 80, break_on_hyphens=False),
             f"{'stage':36s}" + "".join(f"{c:>11s}" for c in columns)]
    for name in [*names, "whole"]:
        cells = [result["seconds"][c].get(name) for c in columns]
        lines.append(f"{name:36s}" + "".join(f"{1000 * v:11.1f}" if v is not None else f"{'':>11s}" for v in cells))
    return "\n".join(lines)


TARGETS = {"ratio_fwd_at_most": 1.5, "ratio_fwd_bwd_at_most": 2.5, "naive_over_im2col_at_least": 100,
           "best_fwd_at_most": 1.2, "best_conv3_to_conv5_at_most": 1.0}


def _bench_conv(batch: int, repeats: int, threads: int, small_repeats: int, settle: float,
                algorithms: tuple[str, ...], strided_fft: bool = True) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    layers = []
    with threadpool_limits(limits=threads):
        for layer in ALEXNET_CONV_LAYERS:
            x, w, b, args = layer.random_inputs(batch, rng)
            out_shape = (batch, layer.out_channels, layer.out_size, layer.out_size)
            dout = rng.standard_normal(out_shape, dtype=np.float32)
            xt, wt, bt, dt = (torch.from_numpy(a) for a in (x, w, b, dout))
            xg, wg = xt.clone().requires_grad_(True), wt.clone().requires_grad_(True)

            def ours_fwd() -> object:
                return conv2d_im2col(x, w, b, **args)

            def torch_fwd() -> object:
                with torch.no_grad():
                    return F.conv2d(xt, wt, bt, **args)

            def ours_fwd_bwd() -> object:
                conv2d_im2col(x, w, b, **args)
                return conv2d_backward(dout, x, w, **args)

            def torch_fwd_bwd() -> object:
                xg.grad = wg.grad = None
                F.conv2d(xg, wg, bt, **args).backward(dt)
                return xg.grad

            functions = {"ours_fwd": ours_fwd, "torch_fwd": torch_fwd, "ours_fwd_bwd": ours_fwd_bwd,
                         "torch_fwd_bwd": torch_fwd_bwd}
            for name in algorithms:
                fn = _algorithm(name, layer)
                if name == "fft" and layer.stride > 1 and not strided_fft:
                    continue
                if fn is not None and name != "im2col":
                    functions[name] = (lambda fn=fn: fn(x, w, b, **args))
            t = median_interleaved(functions, repeats, settle=settle)
            forward = {"im2col": t["ours_fwd"], **{k: v for k, v in t.items() if k in algorithms}}
            best = min(forward, key=forward.get)
            cols_bytes = layer.in_channels * layer.kernel**2 * batch * layer.out_size**2 * 4
            layers.append(
                {
                    **asdict(layer),
                    "gmacs": layer.macs(batch) / 1e9,
                    "seconds": t,
                    "ratio_fwd": t["ours_fwd"] / t["torch_fwd"],
                    "ratio_fwd_bwd": t["ours_fwd_bwd"] / t["torch_fwd_bwd"],
                    "input_mib": x.nbytes / 2**20,
                    "im2col_mib": cols_bytes / 2**20,
                    "forward_seconds": forward,
                    "multiplications": {k: _multiplications(k, layer, batch) for k in forward},
                    "best": best,
                    "best_ratio_fwd": forward[best] / t["torch_fwd"],
                }
            )

        small = SMALL_LAYER
        xs = rng.standard_normal(small.x_shape(2), dtype=np.float32)
        ws = rng.standard_normal(small.w_shape(), dtype=np.float32)
        s_args = dict(stride=small.stride, padding=small.padding, groups=small.groups)
        # im2col takes well under a millisecond here: time 20 calls in a row and divide,
        # so that waking the thread pool does not dominate.
        def im2col_20() -> None:
            for _ in range(20):
                conv2d_im2col(xs, ws, **s_args)

        ts = median_interleaved(
            {"naive": lambda: conv2d_naive(xs, ws, **s_args), "im2col": im2col_20}, small_repeats, settle=settle
        )
        ts["im2col"] /= 20

    total = {k: sum(layer["seconds"][k] for layer in layers) for k in ("ours_fwd", "torch_fwd", "ours_fwd_bwd",
                                                                         "torch_fwd_bwd")}
    best_total = sum(layer["forward_seconds"][layer["best"]] for layer in layers)
    later = [layer for layer in layers if layer["name"] in ("conv3", "conv4", "conv5")]
    best_later = sum(layer["forward_seconds"][layer["best"]] for layer in later)
    torch_later = sum(layer["seconds"]["torch_fwd"] for layer in later)
    result = {
        "benchmark": "conv",
        "machine": describe(threads),
        "batch": batch,
        "repeats": repeats,
        "settle_seconds": settle,
        "layers": layers,
        "total_seconds": total,
        "ratio_fwd": total["ours_fwd"] / total["torch_fwd"],
        "ratio_fwd_bwd": total["ours_fwd_bwd"] / total["torch_fwd_bwd"],
        "algorithms": list(algorithms),
        "best_ratio_fwd": best_total / total["torch_fwd"],
        "best_ratio_conv3_to_conv5": best_later / torch_later if later else None,
        "small_layer": {**asdict(small), "batch": 2, "seconds": ts, "naive_over_im2col": ts["naive"] / ts["im2col"]},
        "targets": TARGETS,
    }
    result["targets_met"] = {
        "ratio_fwd": result["ratio_fwd"] <= TARGETS["ratio_fwd_at_most"],
        "ratio_fwd_bwd": result["ratio_fwd_bwd"] <= TARGETS["ratio_fwd_bwd_at_most"],
        "naive_over_im2col": result["small_layer"]["naive_over_im2col"] >= TARGETS["naive_over_im2col_at_least"],
        "best_fwd": result["best_ratio_fwd"] <= TARGETS["best_fwd_at_most"],
        "best_conv3_to_conv5": (result["best_ratio_conv3_to_conv5"] or 0) <= TARGETS["best_conv3_to_conv5_at_most"],
    }
    return result


def format_conv(result: dict[str, Any]) -> str:
    """The report as text, every line at most 80 characters (the book's output box)."""
    m = result["machine"]
    lines = [
        f"conv benchmark: batch {result['batch']}, fp32, {m['threads']} thread(s), median of {result['repeats']}",
        textwrap.fill(f"numpy {m['numpy']}, torch {m['torch']}, {m['processor']}, {m['cpu_count']} CPUs", 80,
                      break_on_hyphens=False),
        f"{'layer':5s} {'GMAC':>6s} {'ours fwd':>9s} {'torch fwd':>10s} {'ratio':>6s}"
        f" {'ours f+b':>9s} {'torch f+b':>10s} {'ratio':>6s} {'im2col MiB':>11s}",
    ]
    for layer in result["layers"]:
        t = layer["seconds"]
        lines.append(
            f"{layer['name']:5s} {layer['gmacs']:6.2f} {t['ours_fwd'] * 1e3:7.1f}ms {t['torch_fwd'] * 1e3:8.1f}ms"
            f" {layer['ratio_fwd']:6.2f} {t['ours_fwd_bwd'] * 1e3:7.1f}ms {t['torch_fwd_bwd'] * 1e3:8.1f}ms"
            f" {layer['ratio_fwd_bwd']:6.2f} {layer['im2col_mib']:11.1f}"
        )
    t = result["total_seconds"]
    lines.append(
        f"{'total':5s} {'':6s} {t['ours_fwd'] * 1e3:7.1f}ms {t['torch_fwd'] * 1e3:8.1f}ms {result['ratio_fwd']:6.2f}"
        f" {t['ours_fwd_bwd'] * 1e3:7.1f}ms {t['torch_fwd_bwd'] * 1e3:8.1f}ms {result['ratio_fwd_bwd']:6.2f}"
    )
    s = result["small_layer"]
    lines.append(
        f"loops vs im2col on a small layer ({s['batch']}x{s['in_channels']}x{s['size']}x{s['size']},"
        f" {s['out_channels']} 3x3 filters):\n  {s['seconds']['naive'] * 1e3:.1f} ms vs"
        f" {s['seconds']['im2col'] * 1e3:.2f} ms = {s['naive_over_im2col']:.0f}x"
    )
    # the library's forwards as two tables, one column per algorithm (blank where it does not apply)
    algos = [a for a in ALGORITHMS if any(a in layer["forward_seconds"] for layer in result["layers"])]
    algos += sorted({a for layer in result["layers"] for a in layer["forward_seconds"]} - set(algos))
    header = f"{'layer':5s}" + "".join(f" {a:>10s}" for a in algos)
    lines += ["the library's forwards per layer, in ms, and the best against torch:", f"{header}  best"]
    for layer in result["layers"]:
        cells = "".join(f" {1e3 * layer['forward_seconds'][a]:10.1f}" if a in layer["forward_seconds"]
                        else f" {'':10s}" for a in algos)
        lines.append(f"{layer['name']:5s}{cells}  {layer['best']} {layer['best_ratio_fwd']:.2f}x")
    lines += ["their multiplications, in G (10^9):", header]
    for layer in result["layers"]:
        cells = "".join(f" {layer['multiplications'][a] / 1e9:10.2f}" if a in layer["multiplications"]
                        else f" {'':10s}" for a in algos)
        lines.append(f"{layer['name']:5s}{cells}")
    lines.append(f"best forwards over the five layers: {result['best_ratio_fwd']:.2f}x torch; on conv3-conv5: "
                 f"{result['best_ratio_conv3_to_conv5']:.2f}x")
    met = result["targets_met"]
    lines.append(
        "targets: im2col fwd <= 1.5x torch: {};\n  fwd+bwd <= 2.5x: {}; loops >= 100x slower than im2col: {};\n"
        "  best fwd <= 1.2x: {}; best on conv3-conv5 <= 1.0x: {}".format(
            *("met" if met[k] else "NOT met"
              for k in ("ratio_fwd", "ratio_fwd_bwd", "naive_over_im2col", "best_fwd", "best_conv3_to_conv5"))
        )
    )
    return "\n".join(lines)

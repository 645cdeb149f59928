"""Benchmarks that print numbers: ``python -m alexnet_lib.bench conv [--json]``.

Speed targets are checked here, by measuring, not by timed tests.

``conv``
    :func:`alexnet_lib.conv.conv2d_im2col` against ``torch.nn.functional.conv2d`` (fp32,
    the same number of threads for both, runs interleaved, medians) on the five
    convolution layers of AlexNet as the paper describes them (227 px input, the
    two-GPU towers as groups), forward and forward+backward, with a pause before each
    timed run so that one library's idle threads do not slow the other; and the loops of
    :func:`alexnet_lib.conv.conv2d_naive` against im2col on a small layer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np


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


def median_interleaved(
    fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1, settle: float = 0.2
) -> dict[str, float]:
    """Median seconds of each function, running them in turn so that drift hits all alike.

    Before each timed run the machine rests for ``settle`` seconds: numpy's and PyTorch's
    thread pools keep spinning for a while after their work, and a run that starts while
    the other library's threads still spin is slowed down by them (measured here: a small
    PyTorch convolution took 15 times longer right after a numpy matrix product).
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            time.sleep(settle)
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo on Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(threads: int) -> dict[str, Any]:
    import torch

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "processor": cpu_name(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
    }


def bench_conv(
    batch: int = 32, repeats: int = 5, threads: int | None = None, small_repeats: int = 3, settle: float = 0.2
) -> dict[str, Any]:
    """Time im2col against PyTorch on AlexNet's conv layers, and loops against im2col.

    Uses ``threads`` threads (default: all CPUs) for both libraries, and leaves PyTorch's
    thread count as it found it.
    """
    import torch

    threads = threads or os.cpu_count() or 1
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _bench_conv(batch, repeats, threads, small_repeats, settle)
    finally:
        torch.set_num_threads(previous_threads)


def _bench_conv(batch: int, repeats: int, threads: int, small_repeats: int, settle: float) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F
    from threadpoolctl import threadpool_limits

    from .conv import conv2d_backward, conv2d_im2col, conv2d_naive

    rng = np.random.default_rng(0)
    layers = []
    with threadpool_limits(limits=threads):
        for layer in ALEXNET_CONV_LAYERS:
            x = rng.standard_normal(layer.x_shape(batch), dtype=np.float32)
            w = rng.standard_normal(layer.w_shape(), dtype=np.float32) * 0.01
            b = np.zeros(layer.out_channels, dtype=np.float32)
            args = dict(stride=layer.stride, padding=layer.padding, groups=layer.groups)
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

            t = median_interleaved(
                {"ours_fwd": ours_fwd, "torch_fwd": torch_fwd, "ours_fwd_bwd": ours_fwd_bwd, "torch_fwd_bwd": torch_fwd_bwd},
                repeats,
                settle=settle,
            )
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

    total = {k: sum(layer["seconds"][k] for layer in layers) for k in layers[0]["seconds"]}
    result = {
        "benchmark": "conv",
        "machine": machine_info(threads),
        "batch": batch,
        "repeats": repeats,
        "settle_seconds": settle,
        "layers": layers,
        "total_seconds": total,
        "ratio_fwd": total["ours_fwd"] / total["torch_fwd"],
        "ratio_fwd_bwd": total["ours_fwd_bwd"] / total["torch_fwd_bwd"],
        "small_layer": {**asdict(small), "batch": 2, "seconds": ts, "naive_over_im2col": ts["naive"] / ts["im2col"]},
        "targets": {"ratio_fwd_at_most": 1.5, "ratio_fwd_bwd_at_most": 2.5, "naive_over_im2col_at_least": 100},
    }
    result["targets_met"] = {
        "ratio_fwd": result["ratio_fwd"] <= 1.5,
        "ratio_fwd_bwd": result["ratio_fwd_bwd"] <= 2.5,
        "naive_over_im2col": result["small_layer"]["naive_over_im2col"] >= 100,
    }
    return result


def format_conv(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"conv benchmark: batch {result['batch']}, fp32, {m['threads']} thread(s), median of {result['repeats']}"
        f" | numpy {m['numpy']}, torch {m['torch']}, {m['processor']}, {m['cpu_count']} CPUs",
        f"{'layer':6s} {'GMAC':>6s} {'ours fwd':>9s} {'torch fwd':>10s} {'ratio':>6s}"
        f" {'ours f+b':>9s} {'torch f+b':>10s} {'ratio':>6s} {'im2col MiB':>11s}",
    ]
    for layer in result["layers"]:
        t = layer["seconds"]
        lines.append(
            f"{layer['name']:6s} {layer['gmacs']:6.2f} {t['ours_fwd'] * 1e3:7.1f}ms {t['torch_fwd'] * 1e3:8.1f}ms"
            f" {layer['ratio_fwd']:6.2f} {t['ours_fwd_bwd'] * 1e3:7.1f}ms {t['torch_fwd_bwd'] * 1e3:8.1f}ms"
            f" {layer['ratio_fwd_bwd']:6.2f} {layer['im2col_mib']:11.1f}"
        )
    t = result["total_seconds"]
    lines.append(
        f"{'total':6s} {'':6s} {t['ours_fwd'] * 1e3:7.1f}ms {t['torch_fwd'] * 1e3:8.1f}ms {result['ratio_fwd']:6.2f}"
        f" {t['ours_fwd_bwd'] * 1e3:7.1f}ms {t['torch_fwd_bwd'] * 1e3:8.1f}ms {result['ratio_fwd_bwd']:6.2f}"
    )
    s = result["small_layer"]
    lines.append(
        f"loops vs im2col on a small layer ({s['batch']}x{s['in_channels']}x{s['size']}x{s['size']},"
        f" {s['out_channels']} 3x3 filters): {s['seconds']['naive'] * 1e3:.1f} ms vs"
        f" {s['seconds']['im2col'] * 1e3:.2f} ms = {s['naive_over_im2col']:.0f}x"
    )
    met = result["targets_met"]
    lines.append(
        "targets: fwd <= 1.5x torch: {}; fwd+bwd <= 2.5x: {}; loops >= 100x slower than im2col: {}".format(
            *("met" if met[k] else "NOT met" for k in ("ratio_fwd", "ratio_fwd_bwd", "naive_over_im2col"))
        )
    )
    return "\n".join(lines)


# --- data loading -------------------------------------------------------------------------


class _Files:
    """A list of image files, each read and transformed by ``load`` (a picklable dataset for workers)."""

    def __init__(self, files: list[str], load: Callable[[str], Any]) -> None:
        self.files, self.load = files, load

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Any:
        return self.load(self.files[i]), 0


class _ClassicLoad:
    """PyTorch's ImageNet example: PIL decode, RandomResizedCrop, flip, ToTensor, Normalize."""

    def __init__(self) -> None:
        from .data import classic_transform

        self.transform = classic_transform(224)

    def __call__(self, path: str) -> Any:
        from PIL import Image

        with open(path, "rb") as f:
            return self.transform(Image.open(f).convert("RGB"))


class _OursLoad:
    """Ours: torchvision.io decode and the paper's crops on uint8 tensors."""

    def __init__(self) -> None:
        from .data import uint8_transform

        self.transform = uint8_transform(train=True, crop=224)

    def __call__(self, path: str) -> Any:
        from .data import read_image

        return self.transform(read_image(path))


def find_sample_images() -> Path:
    """The folder of real ImageNet photos the data benchmark reads (``imagenet_samples``)."""
    candidates = []
    if os.environ.get("ALEXNET_DATA_DIR"):
        candidates.append(Path(os.environ["ALEXNET_DATA_DIR"]) / "imagenet_samples")
    here = Path(__file__).resolve().parents[2]
    candidates += [here / "data" / "imagenet_samples", here.parent / "shared" / "data" / "imagenet_samples"]
    for folder in candidates:
        if folder.is_dir() and any(folder.glob("*.JPEG")):
            return folder
    raise FileNotFoundError(
        "no imagenet_samples folder with .JPEG files found (looked in: "
        + ", ".join(str(c) for c in candidates)
        + "); pass --images FOLDER or set ALEXNET_DATA_DIR to the folder that holds imagenet_samples/"
    )


def bench_data(images: str | os.PathLike[str] | None = None, workers: int = 2, batch: int = 32,
               passes: int = 4, repeats: int = 3, threads: int = 1) -> dict[str, Any]:
    """Training images per second: our pipeline against the classic PIL pipeline.

    Both read the same JPEG files (``passes`` times over per run) with the same number
    of worker processes and batch size; runs alternate between the two and the median is
    reported. Ours includes the final step, float conversion and normalisation of each
    batch, done in the main process (on a GPU it would run there).
    """
    import torch

    from .data import fast_loader, to_float_batch

    folder = Path(images) if images is not None else find_sample_images()
    files = sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png")) * passes
    if not files:
        raise FileNotFoundError(f"{folder} holds no .jpg/.jpeg/.png images")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        classic = fast_loader(_Files(files, _ClassicLoad()), batch, workers=workers, pin_memory=False)
        ours = fast_loader(_Files(files, _OursLoad()), batch, workers=workers, pin_memory=False)

        def run_classic() -> None:
            for x, _ in classic:
                pass

        def run_ours() -> None:
            for x, _ in ours:
                to_float_batch(x)

        seconds = median_interleaved({"classic": run_classic, "ours": run_ours}, repeats=repeats, settle=0.2)
    finally:
        torch.set_num_threads(previous)
    per_second = {name: len(files) / s for name, s in seconds.items()}
    ratio = per_second["ours"] / per_second["classic"]
    return {
        "benchmark": "data",
        "machine": machine_info(threads),
        "images": len(files) // passes,
        "folder": folder.name,
        "workers": workers,
        "batch": batch,
        "images_per_run": len(files),
        "images_per_second": {k: round(v, 1) for k, v in per_second.items()},
        "ratio": round(ratio, 2),
        "target": 1.5,
        "target_met": ratio >= 1.5,
    }


def format_data(result: dict[str, Any]) -> str:
    ips = result["images_per_second"]
    return "\n".join([
        f"data loading, {result['images']} photos x {result['images_per_run'] // result['images']} passes, "
        f"{result['workers']} workers, batch {result['batch']} ({result['machine']['processor']})",
        f"  classic (PIL, RandomResizedCrop, ToTensor, Normalize): {ips['classic']:8.1f} images/s",
        f"  ours (torchvision.io, uint8 crops, batch normalise):   {ips['ours']:8.1f} images/s",
        f"  ours / classic: {result['ratio']:.2f}x (target {result['target']}x: "
        f"{'met' if result['target_met'] else 'NOT met'})",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alexnet_lib.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="benchmark", required=True)
    p_conv = sub.add_parser("conv", help="im2col convolution vs PyTorch on AlexNet's conv layers")
    p_conv.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    p_conv.add_argument("--repeats", type=int, default=5, help="timed runs per function (default 5)")
    p_conv.add_argument("--threads", type=int, default=None, help="threads for numpy and torch (default: all CPUs)")
    p_conv.add_argument("--settle", type=float, default=0.2,
                        help="seconds of rest before each timed run, so idle thread pools stop spinning (default 0.2)")
    p_conv.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p_data = sub.add_parser("data", help="training data pipeline: ours vs PyTorch's ImageNet example")
    p_data.add_argument("--images", default=None, help="folder of JPEG photos (default: imagenet_samples)")
    p_data.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (default 2)")
    p_data.add_argument("--batch", type=int, default=32)
    p_data.add_argument("--passes", type=int, default=4, help="passes over the photos per timed run")
    p_data.add_argument("--repeats", type=int, default=3)
    p_data.add_argument("--json", action="store_true", help="print machine-readable JSON")
    args = parser.parse_args(argv)
    if args.benchmark == "data":
        if args.batch < 1 or args.repeats < 1 or args.passes < 1 or args.workers < 0:
            parser.error("--batch, --repeats and --passes must be positive, --workers at least 0")
        try:
            result = bench_data(args.images, workers=args.workers, batch=args.batch, passes=args.passes,
                                repeats=args.repeats)
        except FileNotFoundError as err:
            parser.error(str(err))
        print(json.dumps(result, indent=2) if args.json else format_data(result))
        return 0
    if args.batch < 1 or args.repeats < 1 or (args.threads is not None and args.threads < 1) or args.settle < 0:
        parser.error("--batch, --repeats and --threads must be positive, --settle at least 0")
    result = bench_conv(batch=args.batch, repeats=args.repeats, threads=args.threads, settle=args.settle)
    print(json.dumps(result, indent=2) if args.json else format_conv(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

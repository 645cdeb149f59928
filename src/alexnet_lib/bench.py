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


# --- training ---------------------------------------------------------------------------

TRAIN_MODES: dict[str, dict[str, Any]] = {
    # our trainer with its defaults: fp32, contiguous tensors, JPEGs decoded by workers each epoch
    "plain": {},
    # bf16 autocast, channels-last, the photos decoded once into uint8 squares (--predecode)
    "fast": {"amp": "bf16", "channels_last": True, "predecode": True},
    # the same without bf16, for processors whose bf16 is slower than their fp32
    "fast_fp32": {"channels_last": True, "predecode": True},
}
TRAIN_TARGETS = {"cpu": {"plain": 1.0, "fast": 2.0}, "cuda": {"fast": 3.0}}


def _linked_image_folder(images: Path, root: Path, copies: int) -> int:
    """An ImageNet-style folder of links to the photos, one class per photo (its wnid):
    ``train/<wnid>/`` holds ``copies`` links to it, ``val/<wnid>/`` one. Returns the class count."""
    photos = sorted(p for p in images.iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
    if not photos:
        raise FileNotFoundError(f"{images} holds no .jpg/.jpeg/.png images")
    for photo in photos:
        wnid = photo.stem.split("_")[0]
        for split, n in (("train", copies), ("val", 1)):
            folder = root / split / wnid
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                link = folder / f"{photo.stem}_{i}{photo.suffix}"
                if not link.exists():
                    link.symlink_to(photo.resolve())
    return len({p.stem.split("_")[0] for p in photos})


class _StepClock:
    """Marks the time (and the loader wait) after warm-up steps and after the last step."""

    def __init__(self, device: Any, warmup: int, last: int) -> None:
        self.device, self.warmup, self.last = device, warmup, last
        self.marks: dict[int, tuple[float, float]] = {}

    def __call__(self, step: int, data_seconds: float) -> None:
        if step in (self.warmup, self.last):
            import torch

            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.marks[step] = (time.perf_counter(), data_seconds)

    def result(self, batch: int) -> tuple[float, float]:
        """(images per second, share of the time spent waiting for data) between the two marks."""
        (t0, d0), (t1, d1) = self.marks[self.warmup], self.marks[self.last]
        return (self.last - self.warmup) * batch / (t1 - t0), (d1 - d0) / (t1 - t0)


def _reference_loader(cfg: Any, device: Any) -> Any:
    """The example's loader: ``ImageFolder`` (PIL) and its training transform, shuffled."""
    from torch.utils.data import DataLoader
    from torchvision import datasets

    from .data import classic_transform

    dataset = datasets.ImageFolder(str(Path(cfg.data) / "train"), classic_transform(cfg.image_size))
    return DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, num_workers=cfg.workers,
                      pin_memory=device.type == "cuda")


def loader_rate(cfg: Any, device: Any, warmup: int, steps: int, reference: bool) -> float:
    """Images per second that a mode's data pipeline alone delivers to the device, ready for the
    model (ours: cropped, flipped and normalised there), with no training: the most the training
    loop could do if the model took no time."""
    from . import train as trainer
    from .data import BatchPreparer

    if reference:
        loader = _reference_loader(cfg, device)

        def prepare(x: Any, y: Any) -> Any:
            return x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    else:
        train_set = trainer.build_data(cfg).train
        preparer = BatchPreparer.for_dataset(train_set, trainer.crop_size(cfg), channels_last=cfg.channels_last,
                                             device=device)
        loader = trainer.batch_loader(train_set, trainer.EpochBatches(len(train_set), cfg.batch_size, cfg.seed),
                                      cfg, device)

        def prepare(x: Any, y: Any) -> Any:
            return preparer(x, train=True), y.to(device, non_blocking=True)
    clock = _StepClock(device, warmup, warmup + steps)
    for step, (x, y) in enumerate(loader, 1):
        prepare(x, y)
        clock(step, 0.0)
        if step == warmup + steps:
            break
    return clock.result(cfg.batch_size)[0]


def reference_train(cfg: Any, classes: int, clock: _StepClock) -> None:
    """A training loop written like PyTorch's ImageNet example (``examples/imagenet/main.py``).

    ``ImageFolder`` with PIL decoding and ``RandomResizedCrop``, flip, ``ToTensor``,
    ``Normalize`` in the workers; fp32; at every step the loss is read with ``.item()`` and
    the top-1/top-5 accuracy computed and accumulated, as the example does for its log.
    """
    import torch
    from torch import nn

    from .train import build_model, pick_device

    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, classes).to(device)
    loader = _reference_loader(cfg, device)
    criterion = nn.CrossEntropyLoss().to(device)
    optimizer = torch.optim.SGD(model.parameters(), cfg.lr, momentum=0.9, weight_decay=1e-4)
    model.train()
    loss_sum, correct1, correct5, seen, waited = 0.0, 0.0, 0.0, 0, 0.0
    batches = iter(loader)
    for step in range(1, cfg.max_steps + 1):
        start = time.perf_counter()
        images, target = next(batches)
        waited += time.perf_counter() - start
        images, target = images.to(device, non_blocking=True), target.to(device, non_blocking=True)
        output = model(images)
        loss = criterion(output, target)
        top5 = output.topk(5, dim=1).indices
        hits = top5.eq(target[:, None])
        correct1 += hits[:, :1].sum().float().item() * 100 / len(target)
        correct5 += hits.sum().float().item() * 100 / len(target)
        loss_sum += loss.item() * images.size(0)
        seen += images.size(0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        clock(step, waited)


def bench_train(images: str | os.PathLike[str] | None = None, device: str = "auto", model: str | None = None,
                width: float | None = None, image_size: int | None = None, batch: int | None = None,
                steps: int | None = None, warmup: int | None = None, repeats: int = 3, workers: int | None = None,
                threads: int | None = None, modes: tuple[str, ...] | None = None, compile: bool = False,
                workdir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Training images per second: our trainer against a loop like PyTorch's ImageNet example.

    The same model (built by the trainer from the same settings and seed), the same photos
    (``imagenet_samples``: real ImageNet JPEGs, linked many times into an ImageNet-style
    folder so that no run reaches the end of an epoch), the same batch size, worker count
    and threads. Each run times the steps after ``warmup`` steps; the runs of the modes
    alternate and each mode's median over ``repeats`` is reported, with the share of the
    time the training loop waited for its next batch. Defaults depend on the device: on a
    GPU, torchvision's AlexNet on 224x224 crops, batch 256; on a CPU, the quarter-width
    small AlexNet on 64x64 crops, batch 64. Decoding the photos once for the ``fast``
    modes is done before the timed runs and reported separately.
    """
    import tempfile

    import torch

    from . import train as trainer

    dev = trainer.pick_device(device)
    kind = "cuda" if dev.type == "cuda" else "cpu"
    gpu = kind == "cuda"
    model = model or ("torchvision" if gpu else "small")
    width = width if width is not None else (1.0 if model != "small" else 0.25)
    image_size = image_size or (224 if model != "small" else 64)
    batch = batch or (256 if gpu else 64)
    steps = steps or (40 if gpu else 10)
    warmup = warmup if warmup is not None else (10 if gpu else 3)
    workers = workers if workers is not None else (min(os.cpu_count() or 1, 12) if gpu else 2)
    threads = threads or os.cpu_count() or 1
    modes = modes or (("plain", "fast") if gpu else ("plain", "fast", "fast_fp32"))
    unknown = set(modes) - set(TRAIN_MODES)
    if unknown:
        raise ValueError(f"unknown modes {sorted(unknown)}: choose from {sorted(TRAIN_MODES)}")
    folder = Path(images) if images is not None else find_sample_images()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    work = tempfile.TemporaryDirectory(dir=workdir)
    try:
        root = Path(work.name) / "images"
        photos = sum(1 for p in folder.iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
        copies = -(-(warmup + steps + 1) * batch // max(photos, 1))
        classes = _linked_image_folder(folder, root, copies)
        base = trainer.Config(dataset="imagefolder", data=str(root), model=model, width=width, image_size=image_size,
                              recipe="torchvision", epochs=1, batch_size=batch, lr=0.01, device=str(dev),
                              workers=workers, max_steps=warmup + steps, progress=False, download=False,
                              compile=compile, cache_dir=str(Path(work.name) / "cache"), seed=0)
        predecode_seconds = None
        if any(TRAIN_MODES[m].get("predecode") for m in modes):
            from .data import predecode

            start = time.perf_counter()
            for split in ("train", "val"):
                predecode(root / split, base.cache_dir, scale=trainer.square_size(image_size), workers=workers,
                          progress=False)
            predecode_seconds = time.perf_counter() - start

        def reference() -> tuple[float, float]:
            clock = _StepClock(dev, warmup, warmup + steps)
            reference_train(base, classes, clock)
            return clock.result(batch)

        def ours(mode: str) -> tuple[float, float]:
            clock = _StepClock(dev, warmup, warmup + steps)
            settings = {k: v for k, v in TRAIN_MODES[mode].items()}
            if mode == "fast" and compile:
                settings["compile"] = True
            cfg = trainer.Config(**{**vars(base), **settings,
                                    "checkpoint_dir": str(Path(work.name) / f"run-{mode}")})
            trainer.train(cfg, on_step=lambda state: clock(state.step, state.data_seconds))
            return clock.result(batch)

        runs: dict[str, list[tuple[float, float]]] = {m: [] for m in ("reference", *modes)}
        for _ in range(repeats):
            for name in runs:
                time.sleep(0.2)
                runs[name].append(reference() if name == "reference" else ours(name))
        loader_only = {}
        for name in runs:
            cfg = trainer.Config(**{**vars(base), **(TRAIN_MODES.get(name, {}))})
            loader_only[name] = loader_rate(cfg, dev, warmup, steps, reference=name == "reference")
    finally:
        torch.set_num_threads(previous)
        work.cleanup()
    per_second = {name: statistics.median(r[0] for r in rs) for name, rs in runs.items()}
    data_wait = {name: statistics.median(r[1] for r in rs) for name, rs in runs.items()}
    ratios = {m: per_second[m] / per_second["reference"] for m in modes}
    targets = {m: t for m, t in TRAIN_TARGETS[kind].items() if m in modes}
    info = machine_info(threads)
    if gpu:
        info["gpu"] = torch.cuda.get_device_name(dev)
    return {
        "benchmark": "train",
        "machine": info,
        "device": kind,
        "model": model if model != "small" else f"small (width {width})",
        "image_size": image_size,
        "batch": batch,
        "workers": workers,
        "timed_steps": steps,
        "warmup_steps": warmup,
        "repeats": repeats,
        "photos": photos,
        "classes": classes,
        "predecode_seconds": None if predecode_seconds is None else round(predecode_seconds, 1),
        "modes": {m: TRAIN_MODES[m] for m in modes},
        "images_per_second": {k: round(v, 1) for k, v in per_second.items()},
        "data_wait": {k: round(v, 3) for k, v in data_wait.items()},
        "loader_only_images_per_second": {k: round(v, 1) for k, v in loader_only.items()},
        "ratio": {k: round(v, 2) for k, v in ratios.items()},
        "targets": targets,
        "targets_met": {m: ratios[m] >= t for m, t in targets.items()},
    }


def format_train(result: dict[str, Any]) -> str:
    ips, wait, ratio = result["images_per_second"], result["data_wait"], result["ratio"]
    where = result["machine"].get("gpu", result["machine"]["processor"])
    lines = [f"training, {result['model']} on {result['image_size']} px crops, batch {result['batch']}, "
             f"{result['workers']} workers, {result['timed_steps']} timed steps x {result['repeats']} runs ({where})"]
    for name in ips:
        what = "reference (like PyTorch's ImageNet example)" if name == "reference" else f"ours, {name}"
        extra = "" if name == "reference" else f"  {ratio[name]:.2f}x"
        target = result["targets"].get(name)
        if target is not None:
            extra += f" (target {target}x: {'met' if result['targets_met'][name] else 'NOT met'})"
        lines.append(f"  {what:45s} {ips[name]:8.1f} images/s, waiting for data {wait[name]:5.1%}, "
                     f"data alone {result['loader_only_images_per_second'][name]:8.1f} images/s{extra}")
    if result["predecode_seconds"] is not None:
        lines.append(f"  decoding the photos once (not in the times above): {result['predecode_seconds']} s")
    return "\n".join(lines)


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
    p_train = sub.add_parser("train", help="training steps: our trainer vs a loop like PyTorch's ImageNet example")
    p_train.add_argument("--images", default=None, help="folder of JPEG photos (default: imagenet_samples)")
    p_train.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p_train.add_argument("--model", default=None, choices=["paper", "torchvision", "small"],
                         help="default: torchvision on a GPU, small on a CPU")
    p_train.add_argument("--width", type=float, default=None, help="small model's width (default 0.25)")
    p_train.add_argument("--image-size", type=int, default=None, help="crop size (default 224 GPU, 64 CPU)")
    p_train.add_argument("--batch", type=int, default=None, help="default 256 GPU, 64 CPU")
    p_train.add_argument("--steps", type=int, default=None, help="timed steps per run (default 40 GPU, 10 CPU)")
    p_train.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 10 GPU, 3 CPU)")
    p_train.add_argument("--repeats", type=int, default=3)
    p_train.add_argument("--workers", type=int, default=None, help="DataLoader workers (default 2 CPU, up to 12 GPU)")
    p_train.add_argument("--threads", type=int, default=None, help="PyTorch threads (default: all CPUs)")
    p_train.add_argument("--modes", default=None, help=f"comma-separated, from {','.join(TRAIN_MODES)}")
    p_train.add_argument("--compile", action="store_true", help="also torch.compile the model in the fast mode")
    p_train.add_argument("--json", action="store_true", help="print machine-readable JSON")
    args = parser.parse_args(argv)
    from .train import TrainError

    if args.benchmark == "train":
        if args.repeats < 1 or any(v is not None and v < 1 for v in (args.batch, args.steps, args.threads)):
            parser.error("--batch, --steps, --repeats and --threads must be positive")
        try:
            result = bench_train(args.images, device=args.device, model=args.model, width=args.width,
                                 image_size=args.image_size, batch=args.batch, steps=args.steps, warmup=args.warmup,
                                 repeats=args.repeats, workers=args.workers, threads=args.threads,
                                 modes=tuple(args.modes.split(",")) if args.modes else None, compile=args.compile)
        except (FileNotFoundError, ValueError, TrainError) as err:
            parser.error(str(err))
        print(json.dumps(result, indent=2) if args.json else format_train(result))
        return 0
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

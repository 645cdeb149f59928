"""``python -m alexnet_lib.bench train``: training steps of the book's trainer against a classic loop (Chapter 7).

The same network on the same photographs, with the same batch size, workers and threads:
a loop written like PyTorch's ImageNet example (PIL, ``RandomResizedCrop``, float32, a
``.item()`` and the top-1/top-5 error at every step) against the trainer in its plain mode
and its fast modes (pre-decoded ``uint8`` images, channels-last, mixed precision),
interleaved, medians; with the share of time each waits for data and what each data
pipeline delivers alone.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder

from .. import train as trainer
from ..batches import EpochBatches, batch_loader
from ..config import Config
from ..data import BatchPreparer, classic_transform, predecode
from ..devices import pick_device
from ..lrn import ComposedTowerLRN, TowerLocalResponseNorm
from ..machine import benchmark_threads, describe
from ..run_data import build_data, crop_size, square_size
from .data import find_sample_images

__all__ = ["TRAIN_MODES", "TRAIN_TARGETS", "bench_train", "format_train", "loader_rate"]

TRAIN_MODES: dict[str, dict[str, Any]] = {
    # our trainer with its defaults: fp32, contiguous tensors, JPEGs decoded by workers each epoch
    "plain": {},
    # bf16 autocast, channels-last, the photos decoded once into uint8 squares (--predecode)
    "fast": {"amp": "bf16", "channels_last": True, "predecode": True},
    # the same without bf16, for processors whose bf16 is slower than their fp32
    "fast_fp32": {"channels_last": True, "predecode": True},
    # decoded once, and nothing else: fp32, contiguous tensors
    "cached": {"predecode": True},
    # decoded once and the model compiled with torch.compile (inductor generates C++ for a CPU)
    "cached_compiled": {"predecode": True, "compile": True},
}

TRAIN_TARGETS = {"cpu": {"plain": 1.0, "fast": 2.0}, "cuda": {"fast": 3.0}}


def _with_plain_layers(model: nn.Module) -> nn.Module:
    """The same network with the library's LRN layers swapped for the plain PyTorch composition
    (:class:`~alexnet_lib.lrn.ComposedTowerLRN`): the reference loop builds its network the way a
    straightforward PyTorch program would."""
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, TowerLocalResponseNorm):
                setattr(parent, name, ComposedTowerLRN(child))
    return model


def _image_folder(folder: Path) -> bool:
    """Whether ``folder`` is ImageNet-style (``train/<class>/`` and ``val/<class>/``) rather than flat photos."""
    return (folder / "train").is_dir() and (folder / "val").is_dir()


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
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.marks[step] = (time.perf_counter(), data_seconds)

    def result(self, batch: int) -> tuple[float, float]:
        """(images per second, share of the time spent waiting for data) between the two marks."""
        (t0, d0), (t1, d1) = self.marks[self.warmup], self.marks[self.last]
        return (self.last - self.warmup) * batch / (t1 - t0), (d1 - d0) / (t1 - t0)


def _reference_loader(cfg: Any, device: Any) -> Any:
    """The example's loader: ``ImageFolder`` (PIL) and its training transform, shuffled."""
    dataset = ImageFolder(str(Path(cfg.data) / "train"), classic_transform(cfg.image_size))
    return DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, num_workers=cfg.workers,
                      pin_memory=device.type == "cuda")


def loader_rate(cfg: Any, device: Any, warmup: int, steps: int, reference: bool) -> float:
    """Images per second that a mode's data pipeline alone delivers to the device, ready for the
    model (ours: cropped, flipped and normalised there), with no training: the most the training
    loop could do if the model took no time."""
    if reference:
        loader = _reference_loader(cfg, device)

        def prepare(x: Any, y: Any) -> Any:
            return x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    else:
        train_set = build_data(cfg).train
        preparer = BatchPreparer.for_dataset(train_set, crop_size(cfg), channels_last=cfg.channels_last,
                                             device=device)
        loader = batch_loader(train_set, EpochBatches(len(train_set), cfg.batch_size, cfg.seed),
                              workers=cfg.workers, device=device, seed=cfg.seed)

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
    the top-1/top-5 accuracy computed and accumulated, as the example does for its log. The
    network is the trainer's, with PyTorch's own LRN composed in the plain way.
    """
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = _with_plain_layers(trainer.build_model(cfg, classes)).to(device)
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

    The same model (built by the trainer from the same settings and seed; the reference's LRN
    composed of PyTorch's own function), the same photos (an ImageNet-style folder such as
    Imagenette's, or loose photos such as ``imagenet_samples``, linked many times into one
    so that no run reaches the end of an epoch), the same batch size, worker count
    and threads. Each run times the steps after ``warmup`` steps; the runs of the modes
    alternate and each mode's median over ``repeats`` is reported, with the share of the
    time the training loop waited for its next batch. Defaults depend on the device: on a
    GPU, torchvision's AlexNet on 224x224 crops, batch 256; on a CPU, the quarter-width
    small AlexNet on 64x64 crops, batch 64. Decoding the photos once for the ``fast``
    modes is done before the timed runs and reported separately.
    """
    dev = pick_device(device)
    kind = "cuda" if dev.type == "cuda" else "cpu"
    gpu = kind == "cuda"
    model = model or ("torchvision" if gpu else "small")
    width = width if width is not None else (1.0 if model != "small" else 0.25)
    image_size = image_size or (224 if model != "small" else 64)
    batch = batch or (256 if gpu else 64)
    steps = steps or (40 if gpu else 10)
    warmup = warmup if warmup is not None else (10 if gpu else 3)
    workers = workers if workers is not None else (min(os.cpu_count() or 1, 12) if gpu else 2)
    threads = threads or benchmark_threads()
    modes = modes or (("plain", "fast") if gpu else ("plain", "fast", "fast_fp32"))
    unknown = set(modes) - set(TRAIN_MODES)
    if unknown:
        raise ValueError(f"unknown modes {sorted(unknown)}: choose from {sorted(TRAIN_MODES)}")
    folder = Path(images) if images is not None else find_sample_images()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    work = tempfile.TemporaryDirectory(dir=workdir)
    try:
        if _image_folder(folder):  # a dataset's own folders (Imagenette): trained on as they are
            root = folder
            photos = sum(1 for p in (folder / "train").rglob("*") if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
            classes = sum(1 for p in (folder / "train").iterdir() if p.is_dir())
            if photos < (warmup + steps + 1) * batch:
                raise ValueError(f"{folder}/train has {photos} photos, fewer than {warmup + steps + 1} batches of "
                                 f"{batch}: lower --steps or --batch")
        else:  # loose photos (imagenet_samples): linked many times into an ImageNet-style folder
            root = Path(work.name) / "images"
            photos = sum(1 for p in folder.iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
            copies = -(-(warmup + steps + 1) * batch // max(photos, 1))
            classes = _linked_image_folder(folder, root, copies)
        base = Config(dataset="imagefolder", data=str(root), model=model, width=width, image_size=image_size,
                      recipe="torchvision", epochs=1, batch_size=batch, lr=0.01, device=str(dev),
                      workers=workers, max_steps=warmup + steps, progress=False, download=False,
                      compile=compile, cache_dir=str(Path(work.name) / "cache"), seed=0)
        predecode_seconds = None
        if any(TRAIN_MODES[m].get("predecode") for m in modes):
            start = time.perf_counter()
            for split in ("train", "val"):
                predecode(root / split, base.cache_dir, scale=square_size(image_size), workers=workers,
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
            cfg = Config(**{**vars(base), **settings, "overwrite": True,
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
            cfg = Config(**{**vars(base), **(TRAIN_MODES.get(name, {}))})
            loader_only[name] = loader_rate(cfg, dev, warmup, steps, reference=name == "reference")
    finally:
        torch.set_num_threads(previous)
        work.cleanup()
    per_second = {name: statistics.median(r[0] for r in rs) for name, rs in runs.items()}
    data_wait = {name: statistics.median(r[1] for r in rs) for name, rs in runs.items()}
    ratios = {m: per_second[m] / per_second["reference"] for m in modes}
    targets = {m: t for m, t in TRAIN_TARGETS[kind].items() if m in modes}
    info = describe(threads)
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
        "images": folder.name,
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

"""``python -m alexnet_lib.bench data``: the book's data pipeline against PyTorch's ImageNet example (Chapter 5).

Both decode the same JPEG photographs, crop, flip and normalise them, with the same
workers and batch size; the classic pipeline with PIL and ``RandomResizedCrop`` on float
tensors, the book's with ``torchvision.io`` and ``uint8`` steps, normalising whole batches.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

from ..data import classic_transform, read_image, to_float_batch, uint8_transform
from ..datasets import search_roots
from ..machine import describe
from .timing import median_interleaved

__all__ = ["bench_data", "find_sample_images", "format_data", "photo_files"]


def _loader(dataset, batch_size: int, *, workers: int = 2, shuffle: bool = True, seed: int = 0,
            pin_memory: bool | None = None, drop_last: bool = False) -> DataLoader:
    """A ``DataLoader`` set up for throughput: worker processes that stay alive between
    epochs, batches prepared ahead, and pinned memory when a CUDA GPU will receive them."""
    if pin_memory is None:
        pin_memory = torch.cuda.is_available()
    extra = {"persistent_workers": True, "prefetch_factor": 4} if workers > 0 else {}
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, num_workers=workers,
                      pin_memory=pin_memory, drop_last=drop_last,
                      generator=torch.Generator().manual_seed(seed), **extra)


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
        self.transform = classic_transform(224)

    def __call__(self, path: str) -> Any:
        with open(path, "rb") as f:
            return self.transform(Image.open(f).convert("RGB"))


class _OursLoad:
    """Ours: torchvision.io decode and the paper's crops on uint8 tensors."""

    def __init__(self) -> None:
        self.transform = uint8_transform(train=True, crop=224)

    def __call__(self, path: str) -> Any:
        return self.transform(read_image(path))


def find_sample_images() -> Path:
    """The folder of real ImageNet photos the data benchmark reads (``imagenet_samples``), looked
    for in the data roots (:func:`alexnet_lib.datasets.search_roots`)."""
    candidates = [root / "imagenet_samples" for root in search_roots()]
    for folder in candidates:
        if folder.is_dir() and any(folder.glob("*.JPEG")):
            return folder
    raise FileNotFoundError(
        "no imagenet_samples folder with .JPEG files found (looked in: "
        + ", ".join(str(c) for c in candidates)
        + "); pass --images FOLDER or set ALEXNET_DATA_DIR to the folder that holds imagenet_samples/"
    )


def photo_files(folder: Path, limit: int | None = None) -> list[str]:
    """The JPEG/PNG files in ``folder`` and its class folders, sorted; with ``limit``, that many spread
    evenly over the sorted list (so every class of an ImageNet-style folder is represented)."""
    files = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
    if limit is not None and len(files) > limit:
        files = [files[i] for i in np.linspace(0, len(files) - 1, limit).round().astype(int)]
    return files


def bench_data(images: str | os.PathLike[str] | None = None, workers: int = 2, batch: int = 32,
               passes: int = 4, repeats: int = 3, threads: int = 1, limit: int | None = None) -> dict[str, Any]:
    """Training images per second: our pipeline against the classic PIL pipeline.

    Both read the same JPEG files (``passes`` times over per run) with the same number
    of worker processes and batch size; runs alternate between the two and the median is
    reported. Ours includes the final step, float conversion and normalisation of each
    batch, done in the main process (on a GPU it would run there). ``images`` is a folder
    of photographs, or of class folders of them (Imagenette's ``train/``), of which ``limit``
    are read.
    """
    folder = Path(images) if images is not None else find_sample_images()
    files = photo_files(folder, limit) * passes
    if not files:
        raise FileNotFoundError(f"{folder} holds no .jpg/.jpeg/.png images")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        classic = _loader(_Files(files, _ClassicLoad()), batch, workers=workers, pin_memory=False)
        ours = _loader(_Files(files, _OursLoad()), batch, workers=workers, pin_memory=False)

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
        "machine": describe(threads),
        "images": len(files) // passes,
        "folder": folder.name if folder.name not in ("train", "val") else f"{folder.parent.name}/{folder.name}",
        "workers": workers,
        "batch": batch,
        "images_per_run": len(files),
        "passes": passes,
        "repeats": repeats,
        "images_per_second": {k: round(v, 1) for k, v in per_second.items()},
        "ratio": round(ratio, 2),
        "target": 1.5,
        "target_met": ratio >= 1.5,
    }


def format_data(result: dict[str, Any]) -> str:
    ips = result["images_per_second"]
    # the page's output box holds 80 characters: a long processor name wraps
    return "\n".join([
        textwrap.fill(f"data loading, {result['images']} photos x {result['images_per_run'] // result['images']}"
                      f" passes, {result['workers']} workers, batch {result['batch']}"
                      f" ({result['machine']['processor']})", 80, break_on_hyphens=False),
        f"  classic (PIL, RandomResizedCrop, ToTensor, Normalize): {ips['classic']:8.1f} images/s",
        f"  ours (torchvision.io, uint8 crops, batch normalise):   {ips['ours']:8.1f} images/s",
        f"  ours / classic: {result['ratio']:.2f}x (target {result['target']}x: "
        f"{'met' if result['target_met'] else 'NOT met'})",
    ])

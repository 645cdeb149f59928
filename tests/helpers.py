"""Helpers that several test files share: photographs and image folders, CIFAR-10 files, archives, tiny runs."""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from alexnet_lib import checkpoints, datasets, train
from alexnet_lib.config import Config
from alexnet_lib.models import AlexNet


# --- photographs and ImageNet-style folders ------------------------------------------------


def photo(size=(40, 30), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, size[0] * size[1] * 3).reshape(size[1], size[0], 3)
    return Image.fromarray((base * 0.7 + rng.integers(0, 60, base.shape)).astype(np.uint8))


def make_folder(root: Path, classes=("n01", "n02"), per_class=3, size=(40, 30)) -> Path:
    for split in ("train", "val"):
        for c, name in enumerate(classes):
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                photo(size, seed=c * 10 + i).save(root / split / name / f"{name}_{i}.JPEG", quality=90)
    return root


def png16(path: Path, pixels: np.ndarray) -> None:
    """Write a 16-bit PNG (grey (H, W) or RGB (H, W, 3) uint16) by hand: Pillow cannot write 16-bit RGB."""
    h, w = pixels.shape[:2]
    colour = 2 if pixels.ndim == 3 else 0
    rows = pixels.astype(">u2").reshape(h, -1).tobytes()
    stride = len(rows) // h
    raw = b"".join(b"\x00" + rows[i * stride:(i + 1) * stride] for i in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# --- CIFAR-10 files and archives ------------------------------------------------------------


def make_npz(path: Path, n_train: int = 20, n_test: int = 10) -> None:
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
        y_train=rng.integers(0, 10, n_train),
        x_test=rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
        y_test=rng.integers(0, 10, n_test),
        class_names=np.array(datasets.CIFAR10_CLASSES),
    )


def make_batches(folder: Path, per_batch: int = 4) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8), b"labels": list(range(per_batch))}
        (folder / name).write_bytes(pickle.dumps(batch))


def jpeg_bytes(seed: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def fake_imagenette(path: Path) -> None:
    """A tiny archive laid out like Imagenette's (``imagenette2-160.tgz`` holds ``imagenette2-160/``)."""
    with tarfile.open(path, "w:gz") as tar:
        for i, name in enumerate(["train/n01440764/a.JPEG", "train/n01440764/b.JPEG", "train/n02102040/c.JPEG",
                                  "val/n01440764/d.JPEG", "val/n02102040/e.JPEG"]):
            payload = jpeg_bytes(i)
            info = tarfile.TarInfo(f"{path.name.removesuffix('.tgz')}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


# --- tiny runs and models -------------------------------------------------------------------


# One epoch of 64 generated images: the safety tests' run.
ONE_EPOCH = dict(dataset="synthetic", synthetic_size=64, batch_size=16, epochs=1, lr=0.02, progress=False, seed=3)
TINY = dict(dataset="synthetic", synthetic_size=128, batch_size=16, epochs=2, lr=0.02, progress=False,
            deterministic=True, seed=3)


def run(tmp_path: Path, name: str, **changes) -> Path:
    folder = tmp_path / name
    train.train(Config(**{**TINY, "checkpoint_dir": str(folder), **changes}))
    return folder


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / checkpoints.CHECKPOINT, weights_only=True)["model"]


def small_model() -> AlexNet:
    torch.manual_seed(0)
    return AlexNet(num_classes=10, variant="small", width=0.25).eval()

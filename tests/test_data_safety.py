"""Image folders and image files that are not what they seem (issue 26): folder links that loop,
16-bit PNGs, unreadable files found before a run starts."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from alexnet_lib import data
from alexnet_lib.datasets import DataNotFound
from test_data_pipeline import make_folder, photo

# --- 8: folder links -----------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_folder_link_loop_neither_inflates_nor_mislabels(tmp_path):
    root = make_folder(tmp_path / "images", classes=("a", "b"), per_class=3)
    (root / "train" / "a" / "loop").symlink_to(root / "train" / "a")   # into itself
    (root / "train" / "a" / "up").symlink_to(root / "train")           # into the split: b's images as a's
    (root / "train" / "b" / "sideways").symlink_to(root / "train" / "a")  # another class's folder
    with pytest.warns(UserWarning, match="not followed"):
        train = data.imagenet_folder(root, "train")
    assert len(train) == 6
    labels = {Path(p).name: t for p, t in train.samples}
    assert labels == {"a_0.JPEG": 0, "a_1.JPEG": 0, "a_2.JPEG": 0, "b_0.JPEG": 1, "b_1.JPEG": 1, "b_2.JPEG": 1}


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_linked_class_folders_and_subfolders_are_still_read(tmp_path):
    """ImageNet is often put together with links: a class folder that is a link, a subfolder elsewhere."""
    store = make_folder(tmp_path / "store", classes=("a", "b"), per_class=2)
    root = tmp_path / "linked"
    (root / "train").mkdir(parents=True)
    (root / "train" / "a").symlink_to(store / "train" / "a")
    (root / "train" / "b").mkdir()
    (root / "train" / "b" / "more").symlink_to(store / "train" / "b")
    train = data.imagenet_folder(root, "train")
    assert len(train) == 4 and sorted(t for _, t in train.samples) == [0, 0, 1, 1]


# --- 10: 16-bit PNGs ------------------------------------------------------------------------


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


@pytest.mark.parametrize("channels", [1, 3])
def test_16_bit_pngs_are_read_as_8_bits(tmp_path, channels):
    shape = (6, 5, 3) if channels == 3 else (6, 5)
    values = np.full(shape, 156 * 257, dtype=np.uint16)  # 156 in 8 bits
    values[0, 0] = 65535
    values[1, 1] = 0
    png16(tmp_path / "deep.png", values)
    image = data.read_image(tmp_path / "deep.png")
    assert image.dtype == torch.uint8 and image.shape == (3, 6, 5)
    assert int(image[0, 2, 2]) == 156 and int(image[0, 0, 0]) == 255 and int(image[0, 1, 1]) == 0


def test_16_bit_pngs_predecode_without_wrapping(tmp_path):
    root = tmp_path / "images" / "train"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        png16(root / name / "x.png", np.full((40, 40, 3), 156 * 257, dtype=np.uint16))
    decoded = data.predecode(root, tmp_path / "cache", scale=32, workers=0, progress=False)
    assert decoded.images.dtype == np.uint8 and int(decoded.images.min()) == int(decoded.images.max()) == 156


# --- 11: unreadable files, found before training ------------------------------------------------


def test_find_unreadable_names_every_bad_file(tmp_path):
    root = make_folder(tmp_path / "images", classes=("a", "b"), per_class=3)
    folder = root / "train"
    (folder / "a" / "text.jpg").write_text("not an image")
    (folder / "b" / "empty.png").write_bytes(b"")
    good = (folder / "b" / "b_0.JPEG").read_bytes()
    (folder / "b" / "truncated.JPEG").write_bytes(good[: len(good) // 2])
    photo().save(folder / "a" / "fine.png")
    found = data.find_unreadable(data.imagenet_folder(root, "train"), workers=2)
    assert sorted(Path(p).name for p, _ in found) == ["empty.png", "text.jpg", "truncated.JPEG"]
    assert data.find_unreadable(data.imagenet_folder(root, "val")) == []


def test_a_jpeg_with_data_after_its_end_is_not_called_unreadable(tmp_path):
    root = make_folder(tmp_path / "images", classes=("a", "b"), per_class=2)
    path = root / "train" / "a" / "a_0.JPEG"
    path.write_bytes(path.read_bytes() + b"\x00" * 64 + b"appended data, as some cameras write")
    assert data.find_unreadable(data.imagenet_folder(root, "train")) == []


def test_bad_image_knows_its_path(tmp_path):
    (tmp_path / "x.jpg").write_text("no")
    with pytest.raises(data.BadImage) as info:
        data.read_image(tmp_path / "x.jpg")
    assert info.value.path == tmp_path / "x.jpg"


def test_predecode_cache_that_is_a_file_is_explained(tmp_path):
    root = make_folder(tmp_path / "images", classes=("a", "b"), per_class=2)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    with pytest.raises(DataNotFound, match="cannot write.*blocker"):
        data.predecode(root / "train", blocker, scale=32, workers=0, progress=False)


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_class_folder_linked_above_the_split_reads_no_other_class(tmp_path):
    root = make_folder(tmp_path / "images", classes=("b",), per_class=2)
    (root / "train" / "a").symlink_to(root)  # class a is the whole dataset, train/ included
    (root / "extra.JPEG").write_bytes((root / "train" / "b" / "b_0.JPEG").read_bytes())
    with pytest.warns(UserWarning, match="not followed"), pytest.raises(data.BadImage, match="hold no images"):
        data.imagenet_folder(root, "train")

"""alexnet_lib.data.decoding: reading images, ImageNet-style folders, unreadable files found before a run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from alexnet_lib import data
from alexnet_lib.datasets import DataNotFound
from helpers import make_folder, photo, png16


# --- read_image -------------------------------------------------------------------------


@pytest.mark.parametrize("mode,suffix", [("RGB", "jpg"), ("L", "jpg"), ("P", "png"), ("RGBA", "png"),
                                         ("CMYK", "jpg"), ("LA", "png")])
def test_every_colour_mode_becomes_rgb(tmp_path, mode, suffix):
    path = tmp_path / f"x.{suffix}"
    img = photo().convert(mode)
    img.save(path)
    x = data.read_image(path)
    assert x.dtype == torch.uint8 and x.shape == (3, 30, 40)
    with Image.open(path) as reference:
        expected = torch.from_numpy(np.asarray(reference.convert("RGB")).copy()).permute(2, 0, 1)
    # Decoders differ by a few levels in colour conversion (CMYK especially) and upsampling.
    assert (x.int() - expected.int()).abs().float().mean() < 12


def test_bad_files_name_the_path_and_the_fix(tmp_path):
    good = tmp_path / "good.jpg"
    photo((200, 150)).save(good, quality=95)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    for path in (truncated, text):
        with pytest.raises(data.BadImage, match=f"{path.name} is not a readable image.*on_error='skip'"):
            data.read_image(path)
    with pytest.raises(data.BadImage, match="cannot be read"):
        data.read_image(tmp_path / "missing.jpg")


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


def test_bad_image_knows_its_path(tmp_path):
    (tmp_path / "x.jpg").write_text("no")
    with pytest.raises(data.BadImage) as info:
        data.read_image(tmp_path / "x.jpg")
    assert info.value.path == tmp_path / "x.jpg"


# --- folders ------------------------------------------------------------------------------


def test_imagenet_folder_reads_the_layout(tmp_path):
    root = make_folder(tmp_path / "imagenet")
    train = data.imagenet_folder(root, "train", transform=data.paper_transform(True))
    assert train.classes == ["n01", "n02"] and len(train) == 6
    x, y = train[4]
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32 and y == 1
    val = data.imagenet_folder(root, "val")
    assert val[0][0].dtype == torch.uint8


def test_folder_errors(tmp_path):
    with pytest.raises(DataNotFound, match=r"does not exist.*train/<wnid>/\*\.JPEG"):
        data.imagenet_folder(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="split"):
        data.imagenet_folder(tmp_path, "test")
    flat = tmp_path / "flat"
    (flat / "val").mkdir(parents=True)
    photo().save(flat / "val" / "ILSVRC2012_val_00000001.JPEG")
    with pytest.raises(DataNotFound, match="no class folders.*sort_imagenet_val"):
        data.imagenet_folder(flat, "val")
    root = make_folder(tmp_path / "empty")
    (root / "train" / "n03").mkdir()
    with pytest.raises(data.BadImage, match=r"1 class folder\(s\).*n03"):
        data.imagenet_folder(root, "train")


def test_bad_image_raises_or_is_skipped_and_counted(tmp_path):
    root = make_folder(tmp_path / "bad")
    broken = root / "train" / "n01" / "n01_1.JPEG"
    broken.write_bytes(b"\xff\xd8\xff\xe0 broken")
    strict = data.imagenet_folder(root, "train")
    with pytest.raises(data.BadImage, match="n01_1.JPEG"):
        strict[1]
    lenient = data.imagenet_folder(root, "train", on_error="skip")
    with pytest.warns(UserWarning, match="skipping unreadable image"):
        x, y = lenient[1]
    assert x.shape == (3, 30, 40) and lenient.skipped == {str(broken)}
    with pytest.raises(ValueError, match="on_error"):
        data.imagenet_folder(root, "train", on_error="ignore")


# --- folder links -------------------------------------------------------------------------


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


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_class_folder_linked_above_the_split_reads_no_other_class(tmp_path):
    root = make_folder(tmp_path / "images", classes=("b",), per_class=2)
    (root / "train" / "a").symlink_to(root)  # class a is the whole dataset, train/ included
    (root / "extra.JPEG").write_bytes((root / "train" / "b" / "b_0.JPEG").read_bytes())
    with pytest.warns(UserWarning, match="not followed"), pytest.raises(data.BadImage, match="hold no images"):
        data.imagenet_folder(root, "train")


# --- unreadable files, found before training ----------------------------------------------


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

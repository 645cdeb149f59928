"""alexnet_lib.data.cache: photographs decoded once into the paper's 256x256 squares, in a cache file."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.utils.data import Subset, TensorDataset
from torchvision.transforms import v2

from alexnet_lib import data
from alexnet_lib.datasets import DataNotFound
from helpers import make_folder, photo, png16


def test_predecode_stores_the_central_squares_and_reuses_the_file(tmp_path):
    root = make_folder(tmp_path / "f", per_class=3, size=(50, 40))
    cache = tmp_path / "cache"
    pre = data.predecode(root / "train", cache, scale=32, workers=0, progress=False)
    folder = data.imagenet_folder(root, "train", transform=v2.Compose([v2.Resize(32, antialias=True), v2.CenterCrop(32)]))
    assert len(pre) == len(folder) == 6 and pre.classes == folder.classes
    for i in range(len(folder)):
        image, label = folder[i]
        assert torch.equal(pre[i][0], image) and pre[i][1] == label
    x, y = pre[[4, 0, 2]]
    assert x.dtype == torch.uint8 and x.shape == (3, 3, 32, 32) and y.tolist() == [folder[4][1], folder[0][1], folder[2][1]]
    files = sorted(cache.iterdir())
    assert [f.name.endswith(".npy") for f in files] == [True, True] and not list(cache.glob("*.tmp"))
    stamp = files[0].stat().st_mtime_ns
    data.predecode(root / "train", cache, scale=32, workers=0, progress=False)  # opened, not decoded again
    assert sorted(cache.iterdir()) == files and files[0].stat().st_mtime_ns == stamp
    photo((50, 40), seed=99).save(root / "train" / "n01" / "new.JPEG")  # a changed folder gets a new file
    assert len(data.predecode(root / "train", cache, scale=32, workers=0, progress=False)) == 7
    assert len(list(cache.iterdir())) == 4


def test_predecoded_images_are_writable_and_the_file_stays(tmp_path, recwarn):
    """torch.from_numpy on the images gives no warning (a read-only array gave one on every
    chapter page that wrapped them), and writing into them leaves the cached file as it was."""
    root = make_folder(tmp_path / "f", per_class=2, size=(40, 40))
    pre = data.predecode(root / "train", tmp_path / "cache", scale=32, workers=0, progress=False)
    before = pre.images[0].copy()
    images = torch.from_numpy(pre.images)
    assert not [w for w in recwarn if "not writable" in str(w.message)]
    images[0] = 0
    again = data.predecode(root / "train", tmp_path / "cache", scale=32, workers=0, progress=False)
    np.testing.assert_array_equal(again.images[0], before)


def test_predecode_names_a_bad_image(tmp_path):
    root = make_folder(tmp_path / "f", per_class=2)
    (root / "train" / "n01" / "broken.JPEG").write_bytes(b"not a jpeg")
    with pytest.raises(data.BadImage, match="broken.JPEG.*on_error='skip'"):
        data.predecode(root / "train", tmp_path / "cache", scale=32, workers=0, progress=False)


def test_16_bit_pngs_predecode_without_wrapping(tmp_path):
    root = tmp_path / "images" / "train"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        png16(root / name / "x.png", np.full((40, 40, 3), 156 * 257, dtype=np.uint16))
    decoded = data.predecode(root, tmp_path / "cache", scale=32, workers=0, progress=False)
    assert decoded.images.dtype == np.uint8 and int(decoded.images.min()) == int(decoded.images.max()) == 156


def test_predecode_cache_that_is_a_file_is_explained(tmp_path):
    root = make_folder(tmp_path / "images", classes=("a", "b"), per_class=2)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    with pytest.raises(DataNotFound, match="cannot write.*blocker"):
        data.predecode(root / "train", blocker, scale=32, workers=0, progress=False)


def test_torchrun_prepares_the_data_once_on_a_cold_cache(tmp_path):
    """Two CPU processes on a cold cache: the first decodes the photos, the second waits and reads them."""
    from helpers import make_folder

    make_folder(tmp_path / "images", classes=("n01", "n02", "n03"), per_class=6)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = ["--dataset", "imagefolder", "--data", str(tmp_path / "images"), "--model", "small", "--width", "0.1",
            "--image-size", "24", "--batch-size", "4", "--epochs", "1", "--predecode", "--device", "cpu",
            "--cache-dir", str(tmp_path / "cache"), "--checkpoint-dir", str(tmp_path / "run"), "--no-progress"]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "alexnet_lib.train", *args], capture_output=True, text=True, timeout=300, env=env)
    assert two.returncode == 0, two.stderr[-3000:]
    files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len([f for f in files if f.endswith(".images.npy")]) == 2  # train/ and val/, decoded once each
    assert not [f for f in files if f.endswith(".tmp")]


def test_innermost_looks_through_nested_subsets_and_predecoded_decides_the_kind():
    images = np.arange(6 * 3 * 4 * 4, dtype=np.uint8).reshape(6, 3, 4, 4)
    base = data.PreDecoded(images, np.array([0, 1, 2, 0, 1, 2]), ["a", "b", "c"])
    nested = Subset(Subset(base, [5, 3, 1, 0]), [2, 0])
    inner, indices = data.innermost(nested)
    assert inner is base and indices.tolist() == [1, 5]
    assert data.predecoded(nested) is base and data.predecoded(TensorDataset(torch.zeros(2, 3))) is None
    x, y = data.images_and_labels(nested)
    assert np.array_equal(x, images[[1, 5]]) and y.tolist() == [1, 2]
    assert data.innermost(base)[1].tolist() == list(range(6))

"""alexnet_lib.datasets.imagenet: ImageNet's validation images sorted into class folders, Tiny ImageNet
found or downloaded (its validation folder sorted), the sample photographs."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from alexnet_lib import data, datasets
from alexnet_lib.datasets import DataNotFound
from helpers import jpeg_bytes, photo


@pytest.mark.parametrize("style", ["lines", "kaggle"])
def test_sort_imagenet_val(tmp_path, style):
    val = tmp_path / "val"
    val.mkdir()
    wnids = ["n01440764", "n01443537", "n01440764"]
    for i in range(3):
        photo(seed=i).save(val / f"ILSVRC2012_val_{i + 1:08d}.JPEG")
    labels = tmp_path / "labels"
    if style == "lines":
        labels.write_text("".join(f"ILSVRC2012_val_{i + 1:08d}.JPEG {w}\n" for i, w in enumerate(wnids)))
    else:
        labels.write_text("ImageId,PredictionString\n" + "".join(
            f"ILSVRC2012_val_{i + 1:08d},{w} 10 20 30 40\n" for i, w in enumerate(wnids)))
    counts = datasets.sort_imagenet_val(val, labels)
    assert counts == {"n01440764": 2, "n01443537": 1}
    assert (val / "n01443537" / "ILSVRC2012_val_00000002.JPEG").exists()
    assert datasets.sort_imagenet_val(val, labels) == {}  # nothing left to sort: safe to run twice
    assert data.imagenet_folder(tmp_path, "val").classes == ["n01440764", "n01443537"]


def test_sort_imagenet_val_errors(tmp_path):
    val = tmp_path / "val"
    val.mkdir()
    photo().save(val / "ILSVRC2012_val_00000009.JPEG")
    labels = tmp_path / "labels.txt"
    labels.write_text("ILSVRC2012_val_00000001.JPEG n01440764\n")
    with pytest.raises(ValueError, match="no label for 1 file"):
        datasets.sort_imagenet_val(val, labels)
    labels.write_text("ILSVRC2012_val_00000009.JPEG 65\n")
    with pytest.raises(ValueError, match="not a WordNet id"):
        datasets.sort_imagenet_val(val, labels)


def test_imagenet_samples_found_or_announced(tmp_path, monkeypatch, no_cache):
    from PIL import Image

    folder = tmp_path / "imagenet_samples"
    folder.mkdir()
    Image.new("RGB", (30, 20), (200, 10, 10)).save(folder / "n01440764_tench.JPEG")
    Image.new("L", (20, 30), 90).save(folder / "n01443537_goldfish.JPEG")
    (folder / "labels.csv").write_text("filename,wnid,class_index,class_name\n"
                                       "n01440764_tench.JPEG,n01440764,0,tench\n"
                                       "n01443537_goldfish.JPEG,n01443537,1,goldfish\n")
    monkeypatch.setenv("ALEXNET_DATA_DIR", str(tmp_path))
    photos = datasets.load_imagenet_samples()
    assert photos.names == ("tench", "goldfish") and photos.labels.tolist() == [0, 1]
    assert photos.images[1].shape == (30, 20, 3) and "2 ImageNet photographs" in photos.source
    monkeypatch.delenv("ALEXNET_DATA_DIR")
    with pytest.raises(datasets.DataNotFound, match="Set ALEXNET_DATA_DIR to the folder that holds imagenet_samples"):
        datasets.load_imagenet_samples()
    fallback = datasets.load_imagenet_samples(fallback_ok=True, limit=2)
    assert "is not in the data folders" in fallback.source and "instead" in fallback.source and len(fallback) == 2
    assert all(img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8 for img in fallback.images)


@pytest.mark.parametrize("damage", ["missing column", "missing photo", "not a number"])
def test_a_damaged_sample_folder_is_named(tmp_path, no_cache, damage):
    folder = tmp_path / "imagenet_samples"
    folder.mkdir()
    from PIL import Image

    Image.new("RGB", (8, 8)).save(folder / "a.JPEG")
    rows = {"missing column": "filename,wnid\na.JPEG,n01\n",
            "missing photo": "filename,wnid,class_index,class_name\nb.JPEG,n01,0,tench\n",
            "not a number": "filename,wnid,class_index,class_name\na.JPEG,n01,zero,tench\n"}[damage]
    (folder / "labels.csv").write_text(rows)
    with pytest.raises(DataNotFound, match="imagenet_samples cannot be read"):
        datasets.load_imagenet_samples(tmp_path)


def test_tiny_imagenet_validation_is_sorted_into_class_folders(tmp_path, server, no_cache, monkeypatch):
    import zipfile

    from alexnet_lib import data

    served, url = server
    with zipfile.ZipFile(served / "tiny-imagenet-200.zip", "w") as z:
        for i, wnid in enumerate(["n01443537", "n01629819"]):
            z.writestr(f"tiny-imagenet-200/train/{wnid}/images/{wnid}_{i}.JPEG", jpeg_bytes(i))
            z.writestr(f"tiny-imagenet-200/train/{wnid}/{wnid}_boxes.txt", f"{wnid}_{i}.JPEG\t0\t0\t10\t10\n")
            z.writestr(f"tiny-imagenet-200/val/images/val_{i}.JPEG", jpeg_bytes(10 + i))
        z.writestr("tiny-imagenet-200/val/val_annotations.txt",
                   "val_0.JPEG\tn01443537\t0\t32\t44\t62\nval_1.JPEG\tn01629819\t52\t37\t63\t63\n")
    digest = hashlib.sha256((served / "tiny-imagenet-200.zip").read_bytes()).hexdigest()
    monkeypatch.setattr(datasets.imagenet, "TINY_IMAGENET_URL", f"{url}/tiny-imagenet-200.zip")
    monkeypatch.setattr(datasets.imagenet, "TINY_IMAGENET_SHA256", digest)
    folder = datasets.load_tiny_imagenet(progress=False)
    val = data.imagenet_folder(folder, "val")
    assert val.classes == ["n01443537", "n01629819"] and [t for _, t in val.samples] == [0, 1]
    assert len(data.imagenet_folder(folder, "train")) == 2
    assert datasets.load_tiny_imagenet(progress=False) == folder  # a second call changes nothing
    assert len(data.imagenet_folder(folder, "val")) == 2

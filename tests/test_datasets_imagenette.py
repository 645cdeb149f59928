"""alexnet_lib.datasets.imagenette: Imagenette, found or downloaded, checked and unpacked."""

from __future__ import annotations

import hashlib

import pytest

from alexnet_lib import datasets
from alexnet_lib.datasets import ChecksumMismatch, DataNotFound
from helpers import fake_imagenette


def test_imagenette_downloads_checks_and_unpacks(tmp_path, server, no_cache, monkeypatch):
    from alexnet_lib import data

    served, url = server
    fake_imagenette(served / "imagenette2-160.tgz")
    digest = hashlib.sha256((served / "imagenette2-160.tgz").read_bytes()).hexdigest()
    monkeypatch.setitem(datasets.IMAGENETTE, "160", (f"{url}/imagenette2-160.tgz", digest, 1000))
    folder = datasets.load_imagenette("160", progress=False)
    assert folder == datasets.cache_dir() / "imagenette2-160"
    train = data.imagenet_folder(folder, "train")
    assert train.classes == ["n01440764", "n02102040"] and len(train) == 3
    assert len(data.imagenet_folder(folder, "val")) == 2
    assert datasets.load_imagenette("160", progress=False, download_ok=False) == folder  # found, not fetched again
    with pytest.raises(ValueError, match="size must be one of"):
        datasets.load_imagenette("80")


def test_imagenette_bad_checksum_missing_and_offline(tmp_path, server, no_cache, monkeypatch):
    served, url = server
    fake_imagenette(served / "imagenette2-160.tgz")
    monkeypatch.setitem(datasets.IMAGENETTE, "160", (f"{url}/imagenette2-160.tgz", "0" * 64, 1000))
    with pytest.raises(ChecksumMismatch, match="was not kept"):
        datasets.load_imagenette("160", progress=False)
    with pytest.raises(DataNotFound, match="Imagenette \\(160\\) is not in .* allow the download \\(99 MB"):
        monkeypatch.setitem(datasets.IMAGENETTE, "160", (f"{url}/x.tgz", "0" * 64, 99_000_000))
        datasets.load_imagenette("160", download_ok=False)
    monkeypatch.setitem(datasets.IMAGENETTE, "160", ("http://127.0.0.1:9/imagenette2-160.tgz", "0" * 64, 1))
    with pytest.raises(DataNotFound, match="could not download"):
        datasets.load_imagenette("160", progress=False)
    # an archive put by hand into the data folder is checked before it is unpacked
    monkeypatch.setenv("ALEXNET_DATA_DIR", str(served))
    with pytest.raises(ChecksumMismatch, match="does not have Imagenette \\(160\\)'s SHA-256"):
        datasets.load_imagenette("160", download_ok=False)


def test_imagenette_224_is_found_never_downloaded(tmp_path, no_cache, monkeypatch):
    with pytest.raises(datasets.DataNotFound, match="224 px copy.*has no download.*ALEXNET_DATA_DIR.*'160', '320'"):
        datasets.load_imagenette("224")
    for split in ("train", "val"):
        (tmp_path / "imagenette2-224" / split / "n01440764").mkdir(parents=True)
    monkeypatch.setenv("ALEXNET_DATA_DIR", str(tmp_path))
    assert datasets.load_imagenette("224") == tmp_path / "imagenette2-224"
    assert datasets.find_imagenette("auto", download_ok=False) == tmp_path / "imagenette2-224"
    assert datasets.readable(["n01440764", "n03888257", "other"]) == ["tench", "parachute", "other"]

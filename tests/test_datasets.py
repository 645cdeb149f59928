"""The data policy: local folder, cache, verified download, clear errors."""

from __future__ import annotations

import functools
import hashlib
import json
import http.server
import io
import pickle
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from alexnet_lib import datasets
from alexnet_lib.datasets import ChecksumMismatch, DataNotFound, DownloadFailed

SHARED_NPZ = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10_subset.npz"


@pytest.fixture
def no_cache(tmp_path, monkeypatch):
    """An empty cache and no ALEXNET_DATA_DIR."""
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setattr(datasets, "cache_dir", lambda: cache)
    monkeypatch.delenv("ALEXNET_DATA_DIR", raising=False)
    return cache


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


def test_npz_from_data_dir(tmp_path, monkeypatch, no_cache):
    make_npz(tmp_path / "cifar10.npz")
    monkeypatch.setenv("ALEXNET_DATA_DIR", str(tmp_path))
    train = datasets.load_cifar10("train")
    assert train.images.shape == (20, 32, 32, 3) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.int64 and len(train) == 20
    assert "cifar10.npz" in train.source and f"{tmp_path.name}/" in train.source
    assert len(datasets.load_cifar10("test")) == 10


def test_official_batches_layout(tmp_path, no_cache):
    make_batches(tmp_path / "cifar-10-batches-py")
    train = datasets.load_cifar10("train", root=tmp_path)
    assert train.images.shape == (20, 32, 32, 3)
    # CHW rows become HWC images: pixel (0, 1) of channel 2 is byte 2*1024 + 1
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "data_batch_1").read_bytes())[b"data"]
    assert train.images[0, 0, 1, 2] == raw[0, 2 * 1024 + 1]
    assert train.class_names[3] == "cat"


def test_cache_is_searched_after_the_data_dir(tmp_path, monkeypatch, no_cache):
    make_npz(no_cache / "cifar10_subset.npz", n_train=7)
    assert len(datasets.load_cifar10(download_ok=False)) == 7


def test_missing_everywhere_names_the_fix(no_cache):
    with pytest.raises(DataNotFound, match=r"CIFAR-10 is not in .*Set ALEXNET_DATA_DIR.*download_ok=True"):
        datasets.load_cifar10(download_ok=False)


def test_data_dir_that_is_not_a_folder(tmp_path, monkeypatch, no_cache):
    monkeypatch.setenv("ALEXNET_DATA_DIR", str(tmp_path / "nope"))
    with pytest.raises(DataNotFound, match=r"ALEXNET_DATA_DIR points to .*nope, which is not a folder"):
        datasets.load_cifar10()


def test_incomplete_folder_and_bad_npz(tmp_path, no_cache):
    make_batches(tmp_path / "a" / "cifar-10-batches-py")
    (tmp_path / "a" / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DataNotFound, match="incomplete: data_batch_3 is missing"):
        datasets.load_cifar10(root=tmp_path / "a")
    (tmp_path / "b").mkdir()
    np.savez(tmp_path / "b" / "cifar10.npz", x_train=np.zeros((2, 8, 8, 3), np.uint8), y_train=np.zeros(2))
    with pytest.raises(DataNotFound, match=r"should be \(N, 32, 32, 3\) uint8"):
        datasets.load_cifar10(root=tmp_path / "b")
    with pytest.raises(DataNotFound, match=r"has no \['x_test', 'y_test'\]"):
        datasets.load_cifar10("test", root=tmp_path / "b")
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        datasets.load_cifar10("valid", root=tmp_path / "b")


def test_archive_with_wrong_checksum_is_refused(tmp_path, no_cache):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"not cifar"
        info = tarfile.TarInfo("cifar-10-batches-py/readme.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(buffer.getvalue())
    with pytest.raises(ChecksumMismatch, match="does not have CIFAR-10's SHA-256"):
        datasets.load_cifar10(root=tmp_path)


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over tmp_path/served."""
    served = tmp_path / "served"
    served.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_verifies_and_is_atomic(tmp_path, server):
    served, url = server
    payload = b"x" * 300_000
    (served / "file.bin").write_bytes(payload)
    good = hashlib.sha256(payload).hexdigest()
    dest = tmp_path / "out" / "file.bin"
    assert datasets.download(f"{url}/file.bin", dest, good, progress=False).read_bytes() == payload
    assert datasets.download(f"{url}/missing-but-cached", dest, good, progress=False) == dest  # reused

    other = tmp_path / "out" / "other.bin"
    with pytest.raises(ChecksumMismatch, match="was not kept"):
        datasets.download(f"{url}/file.bin", other, "0" * 64, progress=False)
    assert not other.exists() and not list(other.parent.glob("other.bin.*"))  # nothing half-written

    with pytest.raises(ChecksumMismatch, match="exists but its SHA-256"):
        datasets.download(f"{url}/file.bin", dest, "0" * 64, progress=False)


def test_download_without_network(tmp_path, server):
    _, url = server
    with pytest.raises(DownloadFailed, match=r"could not download .* put it at"):
        datasets.download(f"{url}/nothing-here", tmp_path / "f.bin", "0" * 64, progress=False)
    with pytest.raises(DownloadFailed, match="could not download"):
        datasets.download("http://127.0.0.1:9/closed-port", tmp_path / "g.bin", "0" * 64, progress=False, timeout=5)
    assert not list(tmp_path.glob("*.part"))


def test_the_student_path_test_can_serve_a_download_from_this_machine_only(tmp_path, server, monkeypatch):
    served, url = server
    payload = b"a small copy"
    (served / "small.tgz").write_bytes(payload)
    manifest = tmp_path / "downloads.json"
    real = "https://example.org/big.tgz"
    manifest.write_text(json.dumps({real: {"url": f"{url}/small.tgz", "sha256": hashlib.sha256(payload).hexdigest()}}))
    monkeypatch.setenv(datasets.TEST_DOWNLOADS_VAR, str(manifest))
    # the real address and the real checksum are replaced, through the same download code
    assert datasets.download(real, tmp_path / "big.tgz", "0" * 64, progress=False).read_bytes() == payload
    manifest.write_text(json.dumps({real: {"url": "http://example.org/small.tgz", "sha256": "0" * 64}}))
    with pytest.raises(DownloadFailed, match="may only point to this machine"):
        datasets.download(real, tmp_path / "other.tgz", "0" * 64, progress=False)
    manifest.write_text("{not json")
    with pytest.raises(DownloadFailed, match="not a readable JSON file"):
        datasets.download(real, tmp_path / "other.tgz", "0" * 64, progress=False)


def test_failed_download_reads_as_data_not_found(no_cache, monkeypatch):
    monkeypatch.setattr(datasets, "CIFAR10_URL", "http://127.0.0.1:9/cifar-10-python.tar.gz")
    with pytest.raises(DataNotFound, match="CIFAR-10 is not in .* could not download"):
        datasets.load_cifar10(progress=False)


def test_synthetic_and_digits():
    a = datasets.synthetic_images(50, 16, 5, seed=3)
    b = datasets.synthetic_images(50, 16, 5, seed=3)
    assert a.images.shape == (50, 16, 16, 3) and a.images.dtype == np.uint8
    np.testing.assert_array_equal(a.images, b.images)
    assert set(np.unique(a.labels)) <= set(range(5)) and "generated" in a.source
    digits = datasets.load_digits()
    assert digits.images.shape == (1797, 8, 8) and len(digits.class_names) == 10
    with pytest.raises(ValueError, match="classes >= 2"):
        datasets.synthetic_images(10, 16, 1)
    assert len(a.subset(10)) == 10 and len(a.subset(10, seed=0)) == 10
    with pytest.raises(ValueError, match="asked for 60 examples"):
        a.subset(60)


@pytest.mark.skipif(not SHARED_NPZ.exists(), reason="no ../shared/data on this machine")
def test_the_shared_cifar_subset(monkeypatch, no_cache):
    monkeypatch.setenv("ALEXNET_DATA_DIR", str(SHARED_NPZ.parent))
    train, test = datasets.load_cifar10("train"), datasets.load_cifar10("test")
    assert len(train) == 10_000 and len(test) == 3_000
    assert np.bincount(train.labels).tolist() == [1000] * 10
    assert train.class_names == datasets.CIFAR10_CLASSES


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


def test_sha256sums_agree_with_the_library():
    from alexnet_lib import pretrained

    listed = {}
    for line in (Path(__file__).resolve().parents[1] / "data" / "SHA256SUMS").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split()
            listed[name] = digest
    assert listed == {
        "cifar-10-python.tar.gz": datasets.CIFAR10_SHA256,
        f"weights/{pretrained.TORCHVISION_FILE}": pretrained.TORCHVISION_SHA256_PREFIX,
        **{url.rsplit("/", 1)[1]: digest for url, digest, _ in datasets.IMAGENETTE.values()},
        "tiny-imagenet-200.zip": datasets.TINY_IMAGENET_SHA256,
    }


def _jpeg_bytes(seed: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _fake_imagenette(path: Path) -> None:
    """A tiny archive laid out like Imagenette's (``imagenette2-160.tgz`` holds ``imagenette2-160/``)."""
    with tarfile.open(path, "w:gz") as tar:
        for i, name in enumerate(["train/n01440764/a.JPEG", "train/n01440764/b.JPEG", "train/n02102040/c.JPEG",
                                  "val/n01440764/d.JPEG", "val/n02102040/e.JPEG"]):
            payload = _jpeg_bytes(i)
            info = tarfile.TarInfo(f"{path.name.removesuffix('.tgz')}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_imagenette_downloads_checks_and_unpacks(tmp_path, server, no_cache, monkeypatch):
    from alexnet_lib import data

    served, url = server
    _fake_imagenette(served / "imagenette2-160.tgz")
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
    _fake_imagenette(served / "imagenette2-160.tgz")
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


def test_tiny_imagenet_validation_is_sorted_into_class_folders(tmp_path, server, no_cache, monkeypatch):
    import zipfile

    from alexnet_lib import data

    served, url = server
    with zipfile.ZipFile(served / "tiny-imagenet-200.zip", "w") as z:
        for i, wnid in enumerate(["n01443537", "n01629819"]):
            z.writestr(f"tiny-imagenet-200/train/{wnid}/images/{wnid}_{i}.JPEG", _jpeg_bytes(i))
            z.writestr(f"tiny-imagenet-200/train/{wnid}/{wnid}_boxes.txt", f"{wnid}_{i}.JPEG\t0\t0\t10\t10\n")
            z.writestr(f"tiny-imagenet-200/val/images/val_{i}.JPEG", _jpeg_bytes(10 + i))
        z.writestr("tiny-imagenet-200/val/val_annotations.txt",
                   "val_0.JPEG\tn01443537\t0\t32\t44\t62\nval_1.JPEG\tn01629819\t52\t37\t63\t63\n")
    digest = hashlib.sha256((served / "tiny-imagenet-200.zip").read_bytes()).hexdigest()
    monkeypatch.setattr(datasets, "TINY_IMAGENET_URL", f"{url}/tiny-imagenet-200.zip")
    monkeypatch.setattr(datasets, "TINY_IMAGENET_SHA256", digest)
    folder = datasets.load_tiny_imagenet(progress=False)
    val = data.imagenet_folder(folder, "val")
    assert val.classes == ["n01443537", "n01629819"] and [t for _, t in val.samples] == [0, 1]
    assert len(data.imagenet_folder(folder, "train")) == 2
    assert datasets.load_tiny_imagenet(progress=False) == folder  # a second call changes nothing
    assert len(data.imagenet_folder(folder, "val")) == 2


def test_trainer_finds_imagenette(tmp_path, server, no_cache, monkeypatch):
    from alexnet_lib import train

    served, url = server
    _fake_imagenette(served / "imagenette2-320.tgz")
    digest = hashlib.sha256((served / "imagenette2-320.tgz").read_bytes()).hexdigest()
    monkeypatch.setitem(datasets.IMAGENETTE, "320", (f"{url}/imagenette2-320.tgz", digest, 1000))
    history = train.train(train.Config(dataset="imagenette", model="small", width=0.25, image_size=32, batch_size=2,
                                       epochs=1, progress=False, checkpoint_dir=str(tmp_path / "run")))
    assert len(history) == 1
    with pytest.raises(train.TrainError, match="no data: Tiny ImageNet is not in"):
        train.train(train.Config(dataset="tiny-imagenet", download=False, progress=False,
                                 checkpoint_dir=str(tmp_path / "t")))


def test_an_interrupted_unpack_leaves_nothing_that_looks_finished(tmp_path, no_cache):
    archive = no_cache / "imagenette2-160.tgz"
    _fake_imagenette(archive)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()

    def interrupted(staging: Path) -> None:
        assert (staging / "imagenette2-160" / "train").is_dir()  # unpacked, not yet in place
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        datasets._extract(archive, no_cache, digest, "Imagenette", finish=interrupted)
    assert not (no_cache / "imagenette2-160").exists()
    assert [p.name for p in no_cache.iterdir()] == ["imagenette2-160.tgz"]  # the temporary folder is gone too
    datasets._extract(archive, no_cache, digest, "Imagenette")
    assert (no_cache / "imagenette2-160" / "val" / "n02102040" / "e.JPEG").exists()


@pytest.mark.parametrize("python", ["with the data filter", "before the data filter (3.10.11)"])
def test_links_out_of_an_archive_are_refused(tmp_path, no_cache, monkeypatch, python):
    if python.startswith("before"):
        monkeypatch.delattr(tarfile, "data_filter")
        ok = no_cache / "imagenette2-160.tgz"
        _fake_imagenette(ok)
        datasets._extract(ok, no_cache, hashlib.sha256(ok.read_bytes()).hexdigest(), "Imagenette")
        assert (no_cache / "imagenette2-160" / "val" / "n02102040" / "e.JPEG").exists()
    archive = no_cache / "evil.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        link = tarfile.TarInfo("data/escape")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with pytest.raises(tarfile.TarError):
        datasets._extract(archive, no_cache, digest, "evil")
    assert not (no_cache / "data").exists()


def test_imagenette_224_is_found_never_downloaded(tmp_path, no_cache, monkeypatch):
    with pytest.raises(datasets.DataNotFound, match="224 px copy.*has no download.*ALEXNET_DATA_DIR.*'160', '320'"):
        datasets.load_imagenette("224")
    for split in ("train", "val"):
        (tmp_path / "imagenette2-224" / split / "n01440764").mkdir(parents=True)
    monkeypatch.setenv("ALEXNET_DATA_DIR", str(tmp_path))
    assert datasets.load_imagenette("224") == tmp_path / "imagenette2-224"
    assert datasets.find_imagenette("auto", download_ok=False) == tmp_path / "imagenette2-224"
    assert datasets.readable(["n01440764", "n03888257", "other"]) == ["tench", "parachute", "other"]


def test_cifar_location_names_the_file_without_reading_it(tmp_path, no_cache):
    assert datasets.cifar10_location(tmp_path) is None
    make_npz(tmp_path / "cifar10_subset.npz")
    assert datasets.cifar10_location(tmp_path) == tmp_path / "cifar10_subset.npz"
    loaded = datasets.load_cifar10("train", root=tmp_path)
    assert "quality 75" in loaded.source and str(tmp_path.parent) not in loaded.source  # no machine paths


def test_messages_name_data_folders_without_the_machines_paths(monkeypatch, tmp_path):
    checkout_data = datasets.CHECKOUT_DATA
    monkeypatch.setattr(datasets, "cache_dir", lambda: checkout_data)
    assert datasets.describe_folder(checkout_data) == "the book's data/ folder"
    assert datasets.describe_folder(checkout_data / "weights") == "the book's data/weights/ folder"
    assert datasets.describe_folder(Path.home() / ".cache" / "alexnet-book") == "~/.cache/alexnet-book"
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    assert datasets.describe_folder(tmp_path) == str(tmp_path)  # a folder the reader chose: in full
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path))  # a folder the environment chose: by name
    assert datasets.describe_folder(tmp_path) == "$ALEXNET_DATA_DIR"
    with pytest.raises(DataNotFound) as err:
        datasets.load_imagenette("160", download_ok=False)
    assert "$ALEXNET_DATA_DIR" in str(err.value) and str(tmp_path) not in str(err.value)
    monkeypatch.delenv(datasets.ENV_VAR)
    monkeypatch.setenv(datasets.CACHE_VAR, str(tmp_path / "cache"))
    assert datasets.describe_folder(tmp_path / "cache") == "$ALEXNET_CACHE_DIR"
    assert not (checkout_data / "tiny-imagenet-200").exists()
    with pytest.raises(DataNotFound) as err:
        datasets.load_tiny_imagenet(download_ok=False)
    assert "the book's data/ folder" in str(err.value) and str(checkout_data) not in str(err.value)


def test_the_cache_is_where_alexnet_cache_dir_says(monkeypatch, tmp_path):
    """Downloads and runs go to ALEXNET_CACHE_DIR where it is set (a Drive folder in Colab, or an
    isolated folder for a test that runs beside a book build)."""
    from alexnet_lib import experiments
    from alexnet_lib.train import Config

    monkeypatch.delenv(datasets.CACHE_VAR, raising=False)
    assert datasets.cache_dir() in (datasets.CHECKOUT_DATA, Path.home() / ".cache" / "alexnet-book")
    monkeypatch.setenv(datasets.CACHE_VAR, str(tmp_path / "elsewhere"))
    assert datasets.cache_dir() == tmp_path / "elsewhere"
    assert datasets.search_roots()[-1] == tmp_path / "elsewhere"
    assert experiments.run_folder(Config(dataset="cifar10"), "tiny").parent == tmp_path / "elsewhere" / "runs"

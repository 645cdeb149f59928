"""Data folders hold data, never code; damaged files and failed downloads are explained (issue 26)."""

from __future__ import annotations

import hashlib
import os
import pickle
import socket
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

import test_datasets
from alexnet_lib import datasets, train
from alexnet_lib.config import Config, TrainError
from alexnet_lib.datasets import ChecksumMismatch, DataError, DataNotFound, DownloadFailed
from test_datasets import _fake_imagenette, make_batches

no_cache = test_datasets.no_cache  # the data policy's fixtures: an empty cache, a local web server
server = test_datasets.server


class RunsACommand:
    """What a crafted pickle would hold: unpickling it calls os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_cifar_batch_runs_no_code(tmp_path, no_cache):
    folder = tmp_path / "cifar-10-batches-py"
    make_batches(folder)
    marker = tmp_path / "the-command-ran"
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": RunsACommand(marker), b"labels": [0]}))
    with pytest.raises(DataNotFound, match="data_batch_3.*not a CIFAR-10 batch.*(posix|os|nt).system"):
        datasets.load_cifar10("train", root=tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_batches_pickled_by_any_protocol_still_load(tmp_path, no_cache, protocol):
    """The official files (Python 2 pickles of numpy arrays) and torchvision's copies are plain data."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": b"training batch", b"labels": [1, 2, 3],
                 b"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8), b"filenames": [b"a.png", b"b.png", b"c.png"]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=protocol))
    train_set = datasets.load_cifar10("train", root=tmp_path)
    assert train_set.images.shape == (15, 32, 32, 3) and list(train_set.labels[:3]) == [1, 2, 3]


@pytest.mark.parametrize("damage", ["truncated", "empty", "labels out of range", "wrong shape"])
def test_a_damaged_cifar_batch_is_a_clear_error(tmp_path, no_cache, damage):
    folder = tmp_path / "cifar-10-batches-py"
    make_batches(folder)
    path = folder / "test_batch"
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "labels out of range":
        path.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}))
    else:
        path.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DataNotFound, match="test_batch.*(not a CIFAR-10 batch|damaged).*download"):
        datasets.load_cifar10("test", root=tmp_path)
    # the trainer says the same in one line
    code = train.main(["--dataset", "cifar10", "--data", str(tmp_path), "--no-download", "--no-progress",
                       "--checkpoint-dir", str(tmp_path / "run")])
    assert code == 2


def test_npz_labels_out_of_range_are_refused(tmp_path, no_cache):
    np.savez(tmp_path / "cifar10.npz", x_train=np.zeros((4, 32, 32, 3), np.uint8), y_train=np.array([0, 1, 2, 12]),
             x_test=np.zeros((2, 32, 32, 3), np.uint8), y_test=np.array([0, 1]))
    with pytest.raises(DataNotFound, match="y_train.*0 to 9.*12"):
        datasets.load_cifar10("train", root=tmp_path)


def test_a_stale_staging_folder_is_removed(tmp_path, no_cache):
    """A run killed while unpacking leaves .unpacking-*; the next unpack removes it."""
    archive = no_cache / "imagenette2-160.tgz"
    _fake_imagenette(archive)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    stale = no_cache / f".unpacking-{archive.name}-abc123"
    (stale / "imagenette2-160" / "train").mkdir(parents=True)
    (stale / "imagenette2-160" / "train" / "big.bin").write_bytes(b"x" * 1000)
    datasets._extract(archive, no_cache, digest, "Imagenette")
    assert not stale.exists()
    assert sorted(p.name for p in no_cache.iterdir() if not p.name.endswith(".lock")) == [
        "imagenette2-160", "imagenette2-160.tgz"]


def test_a_truncated_archive_is_a_clear_error(tmp_path, no_cache):
    archive = no_cache / "imagenette2-160.tgz"
    _fake_imagenette(archive)
    archive.write_bytes(archive.read_bytes()[:300])
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()  # as if its SHA-256 had been published so
    with pytest.raises(DataError, match="cannot be unpacked.*delete it"):
        datasets._extract(archive, no_cache, digest, "Imagenette")
    assert [p.name for p in no_cache.iterdir() if not p.name.endswith(".lock")] == ["imagenette2-160.tgz"]


@pytest.fixture
def stalling_server():
    """A server that sends headers and a few bytes, then nothing."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 100)
            stop.wait(5)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


def test_a_stalled_download_is_a_download_failure(tmp_path, stalling_server):
    with pytest.raises(DownloadFailed, match="stopped"):
        datasets.download(f"{stalling_server}/file.bin", tmp_path / "f.bin", "0" * 64, progress=False, timeout=1)
    assert not list(tmp_path.iterdir())


def test_a_download_cut_short_is_a_download_failure(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 100)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        with pytest.raises(DownloadFailed):
            datasets.download(f"http://127.0.0.1:{listener.getsockname()[1]}/f", tmp_path / "f.bin", "0" * 64,
                              progress=False, timeout=5)
    finally:
        listener.close()


def test_download_errors_reach_the_trainer_as_one_line(tmp_path, server, no_cache, monkeypatch, capsys):
    served, url = server
    _fake_imagenette(served / "imagenette2-320.tgz")
    monkeypatch.setitem(datasets.IMAGENETTE, "320", (f"{url}/imagenette2-320.tgz", "0" * 64, 1000))
    monkeypatch.setattr(datasets, "CIFAR10_URL", f"{url}/imagenette2-320.tgz")
    for dataset in ("imagenette", "cifar10"):
        code = train.main(["--dataset", dataset, "--no-progress", "--checkpoint-dir", str(tmp_path / dataset)])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("alexnet-train: error: ") and "Traceback" not in err, err
        assert "SHA-256" in err


@pytest.mark.parametrize("kind", ["a file", "inside a file"])
def test_a_cache_that_cannot_be_written_is_explained(tmp_path, monkeypatch, kind, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    cache = blocker if kind == "a file" else blocker / "cache"
    monkeypatch.setenv("ALEXNET_CACHE_DIR", str(cache))
    monkeypatch.delenv("ALEXNET_DATA_DIR", raising=False)
    monkeypatch.setattr(datasets, "CIFAR10_URL", "http://127.0.0.1:9/cifar-10-python.tar.gz")
    with pytest.raises(DataNotFound, match="ALEXNET_CACHE_DIR"):
        datasets.load_cifar10(progress=False)
    code = train.main(["--dataset", "cifar10", "--no-progress", "--checkpoint-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "ALEXNET_CACHE_DIR" in err, err


def test_data_errors_share_a_base_class():
    for kind in (DataNotFound, DownloadFailed, ChecksumMismatch):
        assert issubclass(kind, DataError)
    assert issubclass(DataNotFound, FileNotFoundError) and issubclass(ChecksumMismatch, ValueError)


def test_a_cifar_archive_in_the_data_folder_still_needs_its_checksum(tmp_path, no_cache):
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz"):
        pass
    with pytest.raises(ChecksumMismatch):
        datasets.load_cifar10(root=tmp_path)
    with pytest.raises(TrainError, match="SHA-256"):
        train.train(Config(dataset="cifar10", data=str(tmp_path), progress=False, checkpoint_dir=str(tmp_path / "r")))


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

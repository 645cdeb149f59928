"""alexnet_lib.datasets.cifar: CIFAR-10 found, checked, and read without running code from its files."""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from alexnet_lib import datasets, train
from alexnet_lib.config import Config, TrainError
from alexnet_lib.datasets import ChecksumMismatch, DataNotFound
from helpers import make_batches, make_npz


SHARED_NPZ = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10_subset.npz"


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


def test_missing_everywhere_names_the_fix(no_cache):
    with pytest.raises(DataNotFound, match=r"CIFAR-10 is not in .*Set ALEXNET_DATA_DIR.*download_ok=True"):
        datasets.load_cifar10(download_ok=False)


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


def test_failed_download_reads_as_data_not_found(no_cache, monkeypatch):
    monkeypatch.setattr(datasets.cifar, "CIFAR10_URL", "http://127.0.0.1:9/cifar-10-python.tar.gz")
    with pytest.raises(DataNotFound, match="CIFAR-10 is not in .* could not download"):
        datasets.load_cifar10(progress=False)


@pytest.mark.skipif(not SHARED_NPZ.exists(), reason="no ../shared/data on this machine")
def test_the_shared_cifar_subset(monkeypatch, no_cache):
    monkeypatch.setenv("ALEXNET_DATA_DIR", str(SHARED_NPZ.parent))
    train, test = datasets.load_cifar10("train"), datasets.load_cifar10("test")
    assert len(train) == 10_000 and len(test) == 3_000
    assert np.bincount(train.labels).tolist() == [1000] * 10
    assert train.class_names == datasets.CIFAR10_CLASSES


def test_cifar_location_names_the_file_without_reading_it(tmp_path, no_cache):
    assert datasets.cifar10_location(tmp_path) is None
    make_npz(tmp_path / "cifar10_subset.npz")
    assert datasets.cifar10_location(tmp_path) == tmp_path / "cifar10_subset.npz"
    loaded = datasets.load_cifar10("train", root=tmp_path)
    assert "quality 75" in loaded.source and str(tmp_path.parent) not in loaded.source  # no machine paths


# --- files that are not what they seem (issue 26) --------------------------------------------


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


def test_a_cifar_archive_in_the_data_folder_still_needs_its_checksum(tmp_path, no_cache):
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz"):
        pass
    with pytest.raises(ChecksumMismatch):
        datasets.load_cifar10(root=tmp_path)
    with pytest.raises(TrainError, match="SHA-256"):
        train.train(Config(dataset="cifar10", data=str(tmp_path), progress=False, checkpoint_dir=str(tmp_path / "r")))

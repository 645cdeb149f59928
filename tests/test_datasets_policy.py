"""alexnet_lib.datasets.policy: where data is looked for, the cache, folders named without paths, the errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from alexnet_lib import datasets, train
from alexnet_lib.datasets import ChecksumMismatch, DataError, DataNotFound, DownloadFailed
from helpers import make_npz


def test_cache_is_searched_after_the_data_dir(tmp_path, monkeypatch, no_cache):
    make_npz(no_cache / "cifar10_subset.npz", n_train=7)
    assert len(datasets.load_cifar10(download_ok=False)) == 7


def test_data_dir_that_is_not_a_folder(tmp_path, monkeypatch, no_cache):
    monkeypatch.setenv("ALEXNET_DATA_DIR", str(tmp_path / "nope"))
    with pytest.raises(DataNotFound, match=r"ALEXNET_DATA_DIR points to .*nope, which is not a folder"):
        datasets.load_cifar10()


def test_messages_name_data_folders_without_the_machines_paths(monkeypatch, tmp_path):
    checkout_data = datasets.CHECKOUT_DATA
    monkeypatch.setattr(datasets.policy, "cache_dir", lambda: checkout_data)
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


@pytest.mark.parametrize("kind", ["a file", "inside a file"])
def test_a_cache_that_cannot_be_written_is_explained(tmp_path, monkeypatch, kind, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    cache = blocker if kind == "a file" else blocker / "cache"
    monkeypatch.setenv("ALEXNET_CACHE_DIR", str(cache))
    monkeypatch.delenv("ALEXNET_DATA_DIR", raising=False)
    monkeypatch.setattr(datasets.cifar, "CIFAR10_URL", "http://127.0.0.1:9/cifar-10-python.tar.gz")
    with pytest.raises(DataNotFound, match="ALEXNET_CACHE_DIR"):
        datasets.load_cifar10(progress=False)
    code = train.main(["--dataset", "cifar10", "--no-progress", "--checkpoint-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "ALEXNET_CACHE_DIR" in err, err


def test_data_errors_share_a_base_class():
    for kind in (DataNotFound, DownloadFailed, ChecksumMismatch):
        assert issubclass(kind, DataError)
    assert issubclass(DataNotFound, FileNotFoundError) and issubclass(ChecksumMismatch, ValueError)

"""alexnet_lib.experiments: the chapters' run cache, and the datasets they fall back to."""

from __future__ import annotations

import pytest

from alexnet_lib import checkpoints, experiments, profiles
from alexnet_lib.config import Config

from helpers import TINY, make_npz


def test_the_run_cache_retrains_over_a_damaged_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv(experiments.datasets.CACHE_VAR, str(tmp_path))
    cfg = Config(**TINY, model="small", width=0.25)
    _, folder = experiments.train_or_load(cfg, "tiny")
    (folder / checkpoints.CHECKPOINT).write_bytes(b"damaged")
    history, again = experiments.train_or_load(cfg, "tiny")
    assert again == folder and len(history) == 2
    assert checkpoints.read_checkpoint(folder / checkpoints.CHECKPOINT)["state"]["test"] is not None


def test_the_run_cache_key_names_the_data_and_the_library_version(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    make_npz(a / "cifar10.npz")
    make_npz(b / "cifar10.npz", n_train=60)
    ka = experiments.settings_key(Config(dataset="cifar10", data=str(a)))
    kb = experiments.settings_key(Config(dataset="cifar10", data=str(b)))
    assert ka != kb
    monkeypatch.setattr(experiments, "__version__", "99.0")
    assert experiments.settings_key(Config(dataset="cifar10", data=str(a))) != ka


def test_experiments_train_once_then_load(tmp_path, monkeypatch, capsys):
    from alexnet_lib import experiments, profiles

    monkeypatch.setenv("ALEXNET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ALEXNET_CACHE_DIR", str(tmp_path / "cache"))
    profile = profiles.Profile("smoke", "test", "cpu")
    cfg = experiments.cifar_config(profile, synthetic_size=64, epochs=1, batch_size=16)
    assert cfg.dataset == "synthetic" and cfg.image_size == 28
    first, folder = experiments.train_or_load(cfg, "tiny")
    assert "training tiny" in capsys.readouterr().out
    again, same = experiments.train_or_load(cfg, "tiny")
    assert "using the finished run" in capsys.readouterr().out and same == folder and again == first
    other = experiments.run_folder(experiments.cifar_config(profile, synthetic_size=64, epochs=2, batch_size=16), "tiny")
    assert other != folder  # other settings, another folder
    model, saved, classes = experiments.load_model(folder)
    assert classes == 10 and saved.image_size == 28 and not model.training
    with pytest.raises(FileNotFoundError, match="train the run first"):
        experiments.load_model(tmp_path / "nowhere")


def test_a_missing_dataset_is_never_a_silent_stand_in(monkeypatch, tmp_path, capsys):
    """With downloads refused (or failing), the chapters' datasets fall back to generated images
    with a banner that says why and how to get the real data, in lines that fit the page."""
    from alexnet_lib import datasets, experiments

    monkeypatch.setenv("ALEXNET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ALEXNET_DATA_DIR", raising=False)
    monkeypatch.setenv(profiles.NO_DOWNLOAD_VAR, "1")
    cpu = profiles.Profile("cpu", "test", "cpu")
    assert experiments.imagenette_dataset(cpu) == "synthetic"
    assert experiments.cifar_dataset(cpu) == "synthetic"
    out = capsys.readouterr().out
    words = " ".join(out.split())
    assert words.count("Generated images stand in") == 2 and "not photographs" in words
    assert "ALEXNET_NO_DOWNLOAD is set" in words and all(len(line) <= 80 for line in out.splitlines())

    def no_network(*args, **kwargs):
        raise datasets.DownloadFailed("could not download https://example.invalid/x.tgz (no network)")

    monkeypatch.delenv(profiles.NO_DOWNLOAD_VAR)
    monkeypatch.setattr(datasets, "find_imagenette", no_network)
    assert experiments.imagenette_dataset(cpu) == "synthetic"
    words = " ".join(capsys.readouterr().out.split())
    assert "its download failed" in words and "no network" in words
    assert issubclass(datasets.DownloadFailed, datasets.DataNotFound)

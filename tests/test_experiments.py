"""alexnet_lib.experiments: the chapters' run cache."""

from __future__ import annotations

from alexnet_lib import checkpoints, experiments
from alexnet_lib.config import Config

from test_datasets import make_npz
from test_train import TINY


def test_the_run_cache_retrains_over_a_damaged_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(experiments.datasets, "cache_dir", lambda: tmp_path)
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

"""alexnet_lib.run_data: a run's three splits, and the data the trainer reads."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from torch.utils.data import Subset, TensorDataset

from alexnet_lib import data, datasets, run_data
from alexnet_lib.config import Config

from helpers import fake_imagenette, make_folder, make_npz


def test_holdout_is_per_class_fixed_and_disjoint():
    labels = np.repeat(np.arange(5), [40, 20, 10, 3, 2])
    train, held = run_data.holdout_split(labels, 0.1)
    assert len(np.intersect1d(train, held)) == 0 and len(train) + len(held) == len(labels)
    counts = np.bincount(labels[held], minlength=5)
    assert counts.tolist() == [4, 2, 1, 1, 1]  # a tenth of each class, at least one, never all
    assert np.bincount(labels[train], minlength=5).min() >= 1
    again_train, again_held = run_data.holdout_split(labels, 0.1)
    assert np.array_equal(held, again_held)  # the same draw every time: every run validates on the same images
    with pytest.raises(ValueError, match="between 0 and 1"):
        run_data.holdout_split(labels, 1.0)


def test_cifar_runs_validate_on_held_out_training_images_and_test_on_the_test_set(tmp_path):
    make_npz(tmp_path / "cifar10.npz", n_train=60, n_test=10)
    splits = run_data.build_data(Config(dataset="cifar10", data=str(tmp_path), image_size=28))
    assert len(splits.train) + len(splits.val) == 60 and len(splits.test) == 10
    train_images, _ = data.images_and_labels(splits.train)
    val_images, _ = data.images_and_labels(splits.val)
    for image in val_images:  # no validation image is also a training image
        assert not any(np.array_equal(image, t) for t in train_images)
    floats = run_data.build_data(Config(dataset="cifar10", data=str(tmp_path)))  # used whole: standardised
    x = floats.train.tensors[0]
    assert abs(float(x.mean())) < 1e-5 and abs(float(x.std()) - 1) < 0.05


def test_the_run_cache_names_a_data_file_by_its_content(tmp_path):
    """A copy of the same file made again (a new modification time, another folder) is the same
    data and keeps the run cache's keys; a file with other images is not."""
    import os
    import shutil

    (tmp_path / "a").mkdir()
    make_npz(tmp_path / "a" / "cifar10.npz")
    (tmp_path / "b").mkdir()
    shutil.copy(tmp_path / "a" / "cifar10.npz", tmp_path / "b" / "cifar10.npz")
    os.utime(tmp_path / "b" / "cifar10.npz", ns=(10**18, 10**18))
    first = run_data.data_identity(Config(dataset="cifar10", data=str(tmp_path / "a")))
    assert first == run_data.data_identity(Config(dataset="cifar10", data=str(tmp_path / "b")))
    assert "sha256:" in first
    (tmp_path / "c").mkdir()
    make_npz(tmp_path / "c" / "cifar10.npz", n_train=21)
    assert run_data.data_identity(Config(dataset="cifar10", data=str(tmp_path / "c"))) != first


def test_the_synthetic_stand_in_for_the_paper_network_is_cut_from_squares():
    splits = run_data.build_data(Config(dataset="synthetic", model="paper", image_size=80, synthetic_size=64))
    images, labels = data.images_and_labels(splits.train)
    assert images.shape[1:] == (3, 91, 91) and images.dtype == np.uint8 and len(images) == len(labels)


# --- the data the trainer reads ----------------------------------------------------------


def test_the_trainer_reads_image_folders(tmp_path):
    from alexnet_lib import train

    root = make_folder(tmp_path / "folders", per_class=4)
    history = train.train(train.Config(dataset="imagefolder", data=str(root), model="small", image_size=32,
                                       batch_size=4, epochs=1, progress=False, checkpoint_dir=str(tmp_path / "c")))
    assert len(history) == 1 and 0 <= history[0]["val_top1_error"] <= 1


def test_trainer_finds_imagenette(tmp_path, server, no_cache, monkeypatch):
    from alexnet_lib import train

    served, url = server
    fake_imagenette(served / "imagenette2-320.tgz")
    digest = hashlib.sha256((served / "imagenette2-320.tgz").read_bytes()).hexdigest()
    monkeypatch.setitem(datasets.IMAGENETTE, "320", (f"{url}/imagenette2-320.tgz", digest, 1000))
    history = train.train(train.Config(dataset="imagenette", model="small", width=0.25, image_size=32, batch_size=2,
                                       epochs=1, progress=False, checkpoint_dir=str(tmp_path / "run")))
    assert len(history) == 1
    with pytest.raises(train.TrainError, match="no data: Tiny ImageNet is not in"):
        train.train(train.Config(dataset="tiny-imagenet", download=False, progress=False,
                                 checkpoint_dir=str(tmp_path / "t")))


def test_dataset_labels_read_through_nested_subsets_without_reading_images():
    images = np.zeros((5, 3, 4, 4), dtype=np.uint8)
    base = data.PreDecoded(images, np.array([3, 1, 4, 1, 5]), ["a", "b", "c", "d", "e", "f"])
    assert run_data.dataset_labels(Subset(Subset(base, [4, 2, 0]), [1, 0])).tolist() == [4, 5]
    tensors = TensorDataset(torch.zeros(3, 2), torch.tensor([2, 0, 1]))
    assert run_data.dataset_labels(Subset(tensors, [2, 1])).tolist() == [1, 0]


def test_every_dataset_has_an_identity_for_the_run_cache(tmp_path):
    for name in ("synthetic", "cifar10", "imagenette", "tiny-imagenet", "imagefolder"):
        assert run_data.data_identity(Config(dataset=name, data=str(tmp_path)))

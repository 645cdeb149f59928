"""A run's three splits, the batch preparer, and what the chapters read from recorded runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alexnet_lib import data, devices, figure2, paper, recorded, run_data
from alexnet_lib.config import Config, TrainError
from alexnet_lib.models import AlexNet

from test_datasets import make_npz


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


def test_batch_preparer_crops_normalises_and_adds_lighting():
    images = np.random.default_rng(0).integers(0, 256, (20, 3, 12, 12), dtype=np.uint8)
    dataset = data.PreDecoded(images, np.zeros(20, dtype=np.int64), ["a"], mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    prepare = data.BatchPreparer.for_dataset(torch.utils.data.Subset(dataset, range(10)), 8, lighting=0.1)
    batch = torch.from_numpy(images[:4])
    centre = prepare(batch)  # evaluation: the central patch, normalised
    expected = (batch[:, :, 2:10, 2:10].float() / 255 - 0.5) / 0.25
    torch.testing.assert_close(centre, expected)
    torch.manual_seed(0)
    trained = prepare(batch, train=True)
    assert trained.shape == (4, 3, 8, 8) and not torch.equal(trained, centre)
    torch.testing.assert_close(prepare.normalise(batch[:, :, 2:10, 2:10]), expected)
    assert prepare(centre).shape == centre.shape  # float batches (CIFAR-10 used whole) pass through
    with pytest.raises(ValueError, match="PCA lighting needs uint8 images"):
        data.BatchPreparer.for_dataset(torch.utils.data.TensorDataset(torch.zeros(2, 3, 4, 4)), 4, lighting=0.1)


def test_mixed_precision_and_workers_follow_the_machine():
    assert devices.mixed_precision("cpu") == "off"
    assert 0 <= devices.default_workers() <= 8
    with pytest.raises(TrainError, match="not a device"):
        devices.pick_device("tpu:0")


def test_figure2_is_read_off_the_model():
    paper_stages = figure2.stages(AlexNet())
    assert [s.name for s in paper_stages] == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert [s.crosses for s in paper_stages] == [True, False, True, False, False, True, True, True]
    assert paper_stages[0].shape == (96, 27, 27) and paper_stages[0].then == ("LRN", "max pool")
    assert all(s.towers == 2 for s in paper_stages[:-1]) and paper_stages[-1].towers == 1
    one_tower = figure2.stages(AlexNet(variant="torchvision"), (3, 224, 224))
    assert all(s.towers == 1 for s in one_tower) and one_tower[1].shape == (192, 13, 13)
    import matplotlib

    matplotlib.use("Agg")
    assert figure2.draw(AlexNet(num_classes=10, variant="paper", width=0.25)).axes


def test_the_paper_s_numbers_are_written_once():
    assert paper.value("table1_cnn_top5") == 17.0 and paper.where("one_patch_top1") == "Section 6, footnote"
    assert paper.value("table2_7cnn_star_top5_test") == 15.3 and paper.value("table2_sift_fv_top5_test") == 26.2
    with pytest.raises(KeyError, match="no paper number"):
        paper.value("table3")
    for name, *keys in paper.TABLE2:
        assert all(k is None or k in paper.NUMBERS for k in keys), name


def test_recorded_results_and_their_arrays():
    names = recorded.names("imagenette_")
    for name in names:
        result = recorded.load(name)
        assert "machine" in result
    for name in recorded.names("imagenette_full_"):
        arrays = recorded.load_arrays(name)
        assert arrays["kernels"].shape[1:] == (3, 11, 11)
    with pytest.raises(FileNotFoundError, match="no recorded arrays"):
        recorded.load_arrays("nothing_here")

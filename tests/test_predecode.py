"""Decoding once (the paper's 256x256 squares), batch crops on the device, and the training benchmark."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torchvision.transforms import v2

from alexnet_lib import bench, checkpoints, data, run_data, train

from test_data_pipeline import make_folder, photo


def test_predecode_stores_the_central_squares_and_reuses_the_file(tmp_path):
    root = make_folder(tmp_path / "f", per_class=3, size=(50, 40))
    cache = tmp_path / "cache"
    pre = data.predecode(root / "train", cache, scale=32, workers=0, progress=False)
    folder = data.imagenet_folder(root, "train", transform=v2.Compose([v2.Resize(32, antialias=True), v2.CenterCrop(32)]))
    assert len(pre) == len(folder) == 6 and pre.classes == folder.classes
    for i in range(len(folder)):
        image, label = folder[i]
        assert torch.equal(pre[i][0], image) and pre[i][1] == label
    x, y = pre[[4, 0, 2]]
    assert x.dtype == torch.uint8 and x.shape == (3, 3, 32, 32) and y.tolist() == [folder[4][1], folder[0][1], folder[2][1]]
    files = sorted(cache.iterdir())
    assert [f.name.endswith(".npy") for f in files] == [True, True] and not list(cache.glob("*.tmp"))
    stamp = files[0].stat().st_mtime_ns
    data.predecode(root / "train", cache, scale=32, workers=0, progress=False)  # opened, not decoded again
    assert sorted(cache.iterdir()) == files and files[0].stat().st_mtime_ns == stamp
    photo((50, 40), seed=99).save(root / "train" / "n01" / "new.JPEG")  # a changed folder gets a new file
    assert len(data.predecode(root / "train", cache, scale=32, workers=0, progress=False)) == 7
    assert len(list(cache.iterdir())) == 4


def test_predecoded_images_are_writable_and_the_file_stays(tmp_path, recwarn):
    """torch.from_numpy on the images gives no warning (a read-only array gave one on every
    chapter page that wrapped them), and writing into them leaves the cached file as it was."""
    root = make_folder(tmp_path / "f", per_class=2, size=(40, 40))
    pre = data.predecode(root / "train", tmp_path / "cache", scale=32, workers=0, progress=False)
    before = pre.images[0].copy()
    images = torch.from_numpy(pre.images)
    assert not [w for w in recwarn if "not writable" in str(w.message)]
    images[0] = 0
    again = data.predecode(root / "train", tmp_path / "cache", scale=32, workers=0, progress=False)
    np.testing.assert_array_equal(again.images[0], before)


def test_predecode_names_a_bad_image(tmp_path):
    root = make_folder(tmp_path / "f", per_class=2)
    (root / "train" / "n01" / "broken.JPEG").write_bytes(b"not a jpeg")
    with pytest.raises(data.BadImage, match="broken.JPEG.*on_error='skip'"):
        data.predecode(root / "train", tmp_path / "cache", scale=32, workers=0, progress=False)


@pytest.mark.parametrize("shape,crop", [((5, 3, 12, 12), 8), ((2, 1, 9, 7), 7), ((4, 3, 6, 6), 6)])
def test_crop_batch_cuts_windows_and_flips_some(shape, crop):
    batch = torch.randint(0, 256, shape, dtype=torch.uint8)
    out = data.crop_batch(batch, crop, train=True, generator=torch.Generator().manual_seed(0))
    assert out.shape == (*shape[:2], crop, crop) and out.dtype == torch.uint8
    n, _, h, w = shape
    for image, patch in zip(batch, out):
        windows = [image[:, t:t + crop, l:l + crop] for t in range(h - crop + 1) for l in range(w - crop + 1)]
        assert any(torch.equal(patch, win) or torch.equal(patch, win.flip(-1)) for win in windows)
    centre = data.crop_batch(batch, crop, train=False)
    top, left = round((shape[2] - crop) / 2), round((shape[3] - crop) / 2)
    assert torch.equal(centre, batch[:, :, top:top + crop, left:left + crop])


def test_crop_batch_is_seeded_and_flips_about_half():
    batch = torch.arange(4, dtype=torch.float32).expand(4000, 1, 4, 4)  # only flips fit: no room to move
    a = data.crop_batch(batch, 4, True, torch.Generator().manual_seed(1))
    b = data.crop_batch(batch, 4, True, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    flipped = (a[:, 0, 0, 0] > a[:, 0, 0, 3]).float().mean().item()
    assert 0.45 < flipped < 0.55
    with pytest.raises(ValueError, match="does not fit"):
        data.crop_batch(batch, 5, True)


def test_trainer_with_predecode_trains_and_resumes_exactly(tmp_path):
    root = make_folder(tmp_path / "f", per_class=6, size=(48, 40))
    settings = dict(dataset="imagefolder", data=str(root), model="small", width=0.25, image_size=24, batch_size=4,
                    epochs=2, lr=0.02, progress=False, predecode=True, cache_dir=str(tmp_path / "cache"),
                    deterministic=True, seed=2)
    whole = train.train(train.Config(**settings, checkpoint_dir=str(tmp_path / "whole")))
    assert len(whole) == 2 and 0 <= whole[-1]["data_wait"] < 1
    train.train(train.Config(**settings, checkpoint_dir=str(tmp_path / "part"), max_steps=4))
    part = train.train(train.Config(**settings, checkpoint_dir=str(tmp_path / "part"), resume=True))
    a = torch.load(tmp_path / "whole" / checkpoints.CHECKPOINT, weights_only=True)["model"]
    b = torch.load(tmp_path / "part" / checkpoints.CHECKPOINT, weights_only=True)["model"]
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    assert [h["train_loss"] for h in part] == [h["train_loss"] for h in whole]


def test_train_benchmark_json(tmp_path, capsys):
    for i in range(5):
        photo((90, 70), seed=i).save(tmp_path / f"n0{i}_photo.JPEG")
    assert bench.main(["train", "--images", str(tmp_path), "--device", "cpu", "--width", "0.1", "--image-size", "24",
                       "--batch", "4", "--steps", "2", "--warmup", "1", "--repeats", "1", "--workers", "0",
                       "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["images_per_second"]) == {"reference", "plain", "fast", "fast_fp32"}
    assert result["classes"] == 5 and result["device"] == "cpu" and result["predecode_seconds"] >= 0
    assert all(v > 0 for v in result["images_per_second"].values())
    assert set(result["targets_met"]) == {"plain", "fast"}
    assert bench.main(["train", "--images", str(tmp_path), "--device", "cpu", "--width", "0.1", "--image-size", "24",
                       "--batch", "4", "--steps", "1", "--warmup", "1", "--repeats", "1", "--workers", "0",
                       "--modes", "plain"]) == 0
    assert "ours, plain" in capsys.readouterr().out


def test_train_benchmark_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main(["train", "--images", str(tmp_path), "--device", "cpu"])
    assert "holds no" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["train", "--modes", "turbo", "--images", str(tmp_path)])
    assert "unknown modes" in capsys.readouterr().err


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_predecoded_training_on_the_gpu(tmp_path):
    batch = torch.randint(0, 256, (6, 3, 20, 20), dtype=torch.uint8)
    g = torch.Generator().manual_seed(5)
    on_gpu = data.crop_batch(batch.cuda(), 16, True, torch.Generator().manual_seed(5))
    assert torch.equal(on_gpu.cpu(), data.crop_batch(batch, 16, True, g))
    root = make_folder(tmp_path / "f", per_class=4, size=(48, 40))
    history = train.train(train.Config(dataset="imagefolder", data=str(root), model="small", width=0.25, image_size=24,
                                       batch_size=4, epochs=1, progress=False, predecode=True, device="cuda",
                                       amp="bf16", channels_last=True, cache_dir=str(tmp_path / "cache"),
                                       checkpoint_dir=str(tmp_path / "c")))
    assert len(history) == 1 and np.isfinite(history[0]["train_loss"])


def test_cifar_crops_train_evaluate_and_ten_crop(tmp_path, capsys):
    from alexnet_lib import evaluate
    from test_datasets import make_npz

    folder = tmp_path / "cifar"
    folder.mkdir()
    make_npz(folder / "cifar10.npz")
    cfg = train.Config(dataset="cifar10", data=str(folder), model="small", width=0.25, image_size=28, batch_size=16,
                       epochs=1, progress=False, checkpoint_dir=str(tmp_path / "run"))
    splits = run_data.build_data(cfg)
    train_set, val_set, test_set = splits.train, splits.val, splits.test
    assert isinstance(train_set, data.PreDecoded) and train_set.images.shape[1:] == (3, 32, 32)
    assert train_set.mean == val_set.mean == test_set.mean and 0 < train_set.std[0] < 1
    assert len(train_set) + len(val_set) == 20 and len(test_set) == 10  # a tenth of the training images held out
    train.train(cfg)
    checkpoint = str(tmp_path / "run" / checkpoints.CHECKPOINT)
    for extra in ([], ["--ten-crop"]):
        assert evaluate.main(["--checkpoint", checkpoint, "--no-progress", *extra]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["images"] == len(test_set)
    assert "ten crops of 28" == result["method"]
    # the test error the trainer measured once at the end is the centre patch's
    assert evaluate.main(["--checkpoint", checkpoint, "--no-progress"]) == 0
    measured = checkpoints.load_test(tmp_path / "run")
    assert json.loads(capsys.readouterr().out)["top1_error"] == pytest.approx(measured["test_top1_error"])
    with pytest.raises(train.TrainError, match="CIFAR-10 images are 32x32"):
        train.train(train.Config(**{**vars(cfg), "image_size": 40, "checkpoint_dir": str(tmp_path / "other")}))


def test_experiments_train_once_then_load(tmp_path, monkeypatch, capsys):
    from alexnet_lib import experiments, profiles

    monkeypatch.setenv("ALEXNET_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("alexnet_lib.datasets.cache_dir", lambda: tmp_path / "cache")
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

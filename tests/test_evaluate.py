"""alexnet_lib.evaluate: ten-crop testing and alexnet-eval on a trained checkpoint."""

from __future__ import annotations

import json

import pytest
import torch

from alexnet_lib import checkpoints, data, evaluate, run_data, train
from helpers import make_folder


def test_ten_crop_is_corners_centre_and_mirrors():
    image = torch.arange(3 * 8 * 10, dtype=torch.float32).reshape(1, 3, 8, 10)
    crops = evaluate.ten_crop(image, 4)
    assert crops.shape == (10, 1, 3, 4, 4)
    assert torch.equal(crops[0], image[..., :4, :4]) and torch.equal(crops[3], image[..., 4:, 6:])
    assert torch.equal(crops[4], image[..., 2:6, 3:7])
    mirror = image.flip(-1)
    for i in range(5):
        assert torch.equal(crops[5 + i], evaluate.ten_crop(mirror, 4)[i])
    with pytest.raises(ValueError, match="resize the images"):
        evaluate.ten_crop(image, 9)


def test_ten_crop_probabilities_average_the_softmax():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 5))
    images = torch.randn(2, 3, 6, 6)
    expected = torch.stack([model(c).softmax(1) for c in evaluate.ten_crop(images, 4)]).mean(0)
    got = evaluate.ten_crop_probabilities(model, images, 4, batch=1)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(got.sum(1), torch.ones(2))
    views = evaluate.view_probabilities(model, images, 4, batch=1)
    assert views.shape == (10, 2, 5)
    torch.testing.assert_close(views.mean(0), expected)
    torch.testing.assert_close(views[4], evaluate.centre_crop_probabilities(model, images, 4))  # index 4: the centre


def test_alexnet_eval_on_a_checkpoint(tmp_path, capsys):
    from alexnet_lib import train

    root = make_folder(tmp_path / "folders", per_class=4, size=(300, 280))
    train.train(train.Config(dataset="imagefolder", data=str(root), model="small", image_size=64, batch_size=4,
                             epochs=1, progress=False, checkpoint_dir=str(tmp_path / "c")))
    checkpoint = str(tmp_path / "c" / checkpoints.CHECKPOINT)
    out = tmp_path / "result.json"
    assert evaluate.main(["--checkpoint", checkpoint, "--no-progress", "--output", str(out)]) == 0
    one = json.loads(capsys.readouterr().out)
    assert one["images"] == 8 and one["method"] == "one view" and 0 <= one["top1_error"] <= 1
    full = json.loads(out.read_text())
    assert len(full["confusion_matrix"]) == 2 and sum(map(sum, full["confusion_matrix"])) == 8
    # The trainer's own validation error is the same measurement.
    history = json.loads((tmp_path / "c" / "metrics.json").read_text())
    assert one["top1_error"] == history[-1]["val_top1_error"]
    assert evaluate.main(["--checkpoint", checkpoint, "--ten-crop", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "ten crops of 64"
    assert evaluate.main(["--checkpoint", str(out), "--no-progress"]) == 2  # a JSON file is not a checkpoint
    assert "cannot be read as a checkpoint" in capsys.readouterr().err


def test_alexnet_eval_errors(tmp_path, capsys):
    not_a_checkpoint = tmp_path / "x.pt"
    torch.save({"weights": torch.zeros(1)}, not_a_checkpoint)
    assert evaluate.main(["--checkpoint", str(not_a_checkpoint), "--no-progress"]) == 2
    assert "not a checkpoint written by alexnet-train" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        evaluate.main(["--pretrained"])


def test_cifar_crops_train_evaluate_and_ten_crop(tmp_path, capsys):
    from alexnet_lib import evaluate
    from helpers import make_npz

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

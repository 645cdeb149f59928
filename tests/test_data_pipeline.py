"""Reading images, ImageNet-style folders, the paper's transforms, ten-crop, and the data benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from alexnet_lib import bench, checkpoints, data, datasets, evaluate
from alexnet_lib.datasets import DataNotFound


def photo(size=(40, 30), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, size[0] * size[1] * 3).reshape(size[1], size[0], 3)
    return Image.fromarray((base * 0.7 + rng.integers(0, 60, base.shape)).astype(np.uint8))


def make_folder(root: Path, classes=("n01", "n02"), per_class=3, size=(40, 30)) -> Path:
    for split in ("train", "val"):
        for c, name in enumerate(classes):
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                photo(size, seed=c * 10 + i).save(root / split / name / f"{name}_{i}.JPEG", quality=90)
    return root


# --- read_image -------------------------------------------------------------------------


@pytest.mark.parametrize("mode,suffix", [("RGB", "jpg"), ("L", "jpg"), ("P", "png"), ("RGBA", "png"),
                                         ("CMYK", "jpg"), ("LA", "png")])
def test_every_colour_mode_becomes_rgb(tmp_path, mode, suffix):
    path = tmp_path / f"x.{suffix}"
    img = photo().convert(mode)
    img.save(path)
    x = data.read_image(path)
    assert x.dtype == torch.uint8 and x.shape == (3, 30, 40)
    with Image.open(path) as reference:
        expected = torch.from_numpy(np.asarray(reference.convert("RGB")).copy()).permute(2, 0, 1)
    # Decoders differ by a few levels in colour conversion (CMYK especially) and upsampling.
    assert (x.int() - expected.int()).abs().float().mean() < 12


def test_bad_files_name_the_path_and_the_fix(tmp_path):
    good = tmp_path / "good.jpg"
    photo((200, 150)).save(good, quality=95)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    for path in (truncated, text):
        with pytest.raises(data.BadImage, match=f"{path.name} is not a readable image.*on_error='skip'"):
            data.read_image(path)
    with pytest.raises(data.BadImage, match="cannot be read"):
        data.read_image(tmp_path / "missing.jpg")


# --- folders ------------------------------------------------------------------------------


def test_imagenet_folder_reads_the_layout(tmp_path):
    root = make_folder(tmp_path / "imagenet")
    train = data.imagenet_folder(root, "train", transform=data.paper_transform(True))
    assert train.classes == ["n01", "n02"] and len(train) == 6
    x, y = train[4]
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32 and y == 1
    val = data.imagenet_folder(root, "val")
    assert val[0][0].dtype == torch.uint8


def test_folder_errors(tmp_path):
    with pytest.raises(DataNotFound, match=r"does not exist.*train/<wnid>/\*\.JPEG"):
        data.imagenet_folder(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="split"):
        data.imagenet_folder(tmp_path, "test")
    flat = tmp_path / "flat"
    (flat / "val").mkdir(parents=True)
    photo().save(flat / "val" / "ILSVRC2012_val_00000001.JPEG")
    with pytest.raises(DataNotFound, match="no class folders.*sort_imagenet_val"):
        data.imagenet_folder(flat, "val")
    root = make_folder(tmp_path / "empty")
    (root / "train" / "n03").mkdir()
    with pytest.raises(data.BadImage, match=r"1 class folder\(s\).*n03"):
        data.imagenet_folder(root, "train")


def test_bad_image_raises_or_is_skipped_and_counted(tmp_path):
    root = make_folder(tmp_path / "bad")
    broken = root / "train" / "n01" / "n01_1.JPEG"
    broken.write_bytes(b"\xff\xd8\xff\xe0 broken")
    strict = data.imagenet_folder(root, "train")
    with pytest.raises(data.BadImage, match="n01_1.JPEG"):
        strict[1]
    lenient = data.imagenet_folder(root, "train", on_error="skip")
    with pytest.warns(UserWarning, match="skipping unreadable image"):
        x, y = lenient[1]
    assert x.shape == (3, 30, 40) and lenient.skipped == {str(broken)}
    with pytest.raises(ValueError, match="on_error"):
        data.imagenet_folder(root, "train", on_error="ignore")


@pytest.mark.parametrize("style", ["lines", "kaggle"])
def test_sort_imagenet_val(tmp_path, style):
    val = tmp_path / "val"
    val.mkdir()
    wnids = ["n01440764", "n01443537", "n01440764"]
    for i in range(3):
        photo(seed=i).save(val / f"ILSVRC2012_val_{i + 1:08d}.JPEG")
    labels = tmp_path / "labels"
    if style == "lines":
        labels.write_text("".join(f"ILSVRC2012_val_{i + 1:08d}.JPEG {w}\n" for i, w in enumerate(wnids)))
    else:
        labels.write_text("ImageId,PredictionString\n" + "".join(
            f"ILSVRC2012_val_{i + 1:08d},{w} 10 20 30 40\n" for i, w in enumerate(wnids)))
    counts = datasets.sort_imagenet_val(val, labels)
    assert counts == {"n01440764": 2, "n01443537": 1}
    assert (val / "n01443537" / "ILSVRC2012_val_00000002.JPEG").exists()
    assert datasets.sort_imagenet_val(val, labels) == {}  # nothing left to sort: safe to run twice
    assert data.imagenet_folder(tmp_path, "val").classes == ["n01440764", "n01443537"]


def test_sort_imagenet_val_errors(tmp_path):
    val = tmp_path / "val"
    val.mkdir()
    photo().save(val / "ILSVRC2012_val_00000009.JPEG")
    labels = tmp_path / "labels.txt"
    labels.write_text("ILSVRC2012_val_00000001.JPEG n01440764\n")
    with pytest.raises(ValueError, match="no label for 1 file"):
        datasets.sort_imagenet_val(val, labels)
    labels.write_text("ILSVRC2012_val_00000009.JPEG 65\n")
    with pytest.raises(ValueError, match="not a WordNet id"):
        datasets.sort_imagenet_val(val, labels)


# --- transforms ----------------------------------------------------------------------------


def test_paper_transform_shapes_and_small_images():
    small = torch.randint(0, 256, (3, 10, 12), dtype=torch.uint8)  # smaller than the crop
    for train in (True, False):
        assert data.paper_transform(train)(small).shape == (3, 224, 224)
        assert data.paper_transform(train, 227, normalize="none")(small).shape == (3, 227, 227)
    mean_image = torch.full((3, 256, 256), 0.5)
    out = data.paper_transform(False, normalize="image", mean_image=mean_image)(small)
    assert out.shape == (3, 224, 224) and -0.51 <= out.min() and out.max() <= 0.51
    with pytest.raises(ValueError, match="mean_image"):
        data.paper_transform(True, normalize="image")
    with pytest.raises(ValueError, match="normalize"):
        data.paper_transform(True, normalize="batch")
    with pytest.raises(ValueError, match="crop"):
        data.paper_transform(True, crop=300)


def test_training_crops_are_windows_of_the_central_square():
    torch.manual_seed(0)
    image = torch.randint(0, 256, (3, 300, 400), dtype=torch.uint8)
    base = v2.Compose([v2.Resize(256, antialias=True), v2.CenterCrop(256)])(image)
    test = data.uint8_transform(False)(image)
    assert torch.equal(test, base[:, 16:240, 16:240])
    flips = 0
    for _ in range(8):
        crop = data.uint8_transform(True)(image)
        found = None
        for candidate, flipped in ((base, False), (base.flip(-1), True)):
            for top in range(33):
                row = candidate[:, top:top + 224]
                for left in range(33):
                    if torch.equal(row[:, :, left:left + 224], crop):
                        found = flipped
        assert found is not None, "a training crop must be a 224x224 window of the 256x256 square (or its mirror)"
        flips += found
    assert 0 < flips < 8


def test_to_float_batch_equals_the_per_image_steps():
    batch = torch.randint(0, 256, (4, 3, 20, 20), dtype=torch.uint8)
    per_image = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(data.IMAGENET_MEAN, data.IMAGENET_STD)])
    torch.testing.assert_close(data.to_float_batch(batch), torch.stack([per_image(x) for x in batch]))
    assert data.to_float_batch(batch, channels_last=True).is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match="uint8"):
        data.to_float_batch(batch.float())


def test_image_statistics():
    images = [torch.full((3, 50, 60), v, dtype=torch.uint8) for v in (0, 255)]
    stats = data.image_statistics(images, scale=32)
    assert stats["mean_image"].shape == (3, 32, 32)
    torch.testing.assert_close(stats["mean"], torch.full((3,), 0.5))
    # All channels move together: one eigenvalue, 3 x the variance 0.25 (unbiased, 2 x 16 subsampled pixels).
    torch.testing.assert_close(stats["eigval"], torch.tensor([0.75 * 32 / 31, 0, 0]), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="at least one"):
        data.image_statistics([])


# --- ten-crop and other evaluation helpers ---------------------------------------------------


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


def test_confusion_and_per_class_error():
    logits = torch.tensor([[2.0, 1, 0], [0, 2, 1], [2, 1, 0], [0, 1, 2]])
    targets = torch.tensor([0, 1, 1, 2])
    counts = evaluate.confusion_matrix(logits.argmax(1), targets, 3)
    assert counts.tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    errors = evaluate.per_class_error(logits, targets)
    assert errors.tolist() == [0.0, 0.5, 0.0]


# --- the benchmark ----------------------------------------------------------------------------


def test_data_benchmark_json(tmp_path, capsys):
    for i in range(6):
        photo((300, 260), seed=i).save(tmp_path / f"p{i}.JPEG")
    assert bench.main(["data", "--images", str(tmp_path), "--workers", "0", "--repeats", "1", "--passes", "1",
                       "--batch", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 6 and result["ratio"] > 0 and set(result["images_per_second"]) == {"classic", "ours"}
    assert (result["passes"], result["repeats"]) == (1, 1)  # the conditions travel with the numbers


def test_data_benchmark_without_images(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main(["data", "--images", str(tmp_path)])
    assert "holds no" in capsys.readouterr().err


def test_the_trainer_reads_image_folders(tmp_path):
    from alexnet_lib import train

    root = make_folder(tmp_path / "folders", per_class=4)
    history = train.train(train.Config(dataset="imagefolder", data=str(root), model="small", image_size=32,
                                       batch_size=4, epochs=1, progress=False, checkpoint_dir=str(tmp_path / "c")))
    assert len(history) == 1 and 0 <= history[0]["val_top1_error"] <= 1


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

"""alexnet_lib.data.prepare: float batches, batch crops on the device, and the batch preparer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.transforms import v2

from alexnet_lib import data, train
from helpers import make_folder


def test_to_float_batch_equals_the_per_image_steps():
    batch = torch.randint(0, 256, (4, 3, 20, 20), dtype=torch.uint8)
    per_image = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(data.IMAGENET_MEAN, data.IMAGENET_STD)])
    torch.testing.assert_close(data.to_float_batch(batch), torch.stack([per_image(x) for x in batch]))
    assert data.to_float_batch(batch, channels_last=True).is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match="uint8"):
        data.to_float_batch(batch.float())


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

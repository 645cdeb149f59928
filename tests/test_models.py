"""AlexNet: the paper's shapes and parameters, and torchvision's weights loading unchanged."""

from __future__ import annotations

import pytest
import torch
import torchvision

from alexnet_lib.models import AlexNet, count_parameters


def test_paper_parameter_count_and_shapes():
    model = AlexNet(variant="paper")
    assert count_parameters(model) == 60_965_224  # "60 million parameters"
    sizes = {}
    x = torch.zeros(1, 3, 227, 227)
    for name, layer in model.features.named_children():
        x = layer(x)
        sizes[name] = tuple(x.shape[1:])
    assert sizes["conv1"] == (96, 55, 55) and sizes["pool1"] == (96, 27, 27)
    assert sizes["pool2"] == (256, 13, 13) and sizes["conv4"] == (384, 13, 13) and sizes["pool5"] == (256, 6, 6)
    assert model.features.conv2.groups == model.features.conv4.groups == model.features.conv5.groups == 2
    assert model.features.conv3.groups == 1
    assert model(torch.zeros(2, 3, 227, 227)).shape == (2, 1000)


def test_paper_initialisation():
    torch.manual_seed(0)
    model = AlexNet(variant="paper")
    f, c = model.features, model.classifier
    for layer in (f.conv1, f.conv2, f.conv3, f.conv4, f.conv5, c.fc6, c.fc7, c.fc8):
        assert abs(layer.weight.std().item() - 0.01) < 1e-3
    for layer in (f.conv2, f.conv4, f.conv5, c.fc6, c.fc7):
        assert torch.all(layer.bias == 1)
    for layer in (f.conv1, f.conv3, c.fc8):
        assert torch.all(layer.bias == 0)


def test_paper_lrn_uses_the_papers_constants():
    norm = AlexNet(variant="paper").features.norm1
    assert (norm.size, norm.alpha, norm.beta, norm.k) == (5, 5e-4, 0.75, 2.0)  # torch divides alpha by size


def test_224_is_explained():
    with pytest.raises(ValueError, match=r"takes \(N, 3, 227, 227\).*54.25.*variant='torchvision'"):
        AlexNet(variant="paper")(torch.zeros(1, 3, 224, 224))


def test_torchvision_weights_load_unchanged_and_agree():
    reference = torchvision.models.alexnet(weights=None, num_classes=10).eval()
    ours = AlexNet(num_classes=10, variant="torchvision").eval()
    assert list(ours.state_dict()) == list(reference.state_dict())
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=0, atol=0)
    assert count_parameters(ours) == count_parameters(reference)


def test_bad_arguments():
    with pytest.raises(ValueError, match="variant must be one of"):
        AlexNet(variant="caffe")
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        AlexNet(num_classes=0)


def test_small_variant_for_32px():
    model = AlexNet(num_classes=10, variant="small")
    assert model(torch.zeros(4, 3, 32, 32)).shape == (4, 10)
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 10)
    assert count_parameters(model) < 10_000_000


def test_small_width():
    quarter = AlexNet(num_classes=10, variant="small", width=0.25)
    assert quarter.features.conv1.out_channels == 16 and quarter.classifier.fc6.out_features == 256
    assert quarter(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert count_parameters(quarter) < count_parameters(AlexNet(num_classes=10, variant="small")) / 10
    with pytest.raises(ValueError, match="variant='small' only"):
        AlexNet(variant="paper", width=0.5)
    with pytest.raises(ValueError, match="positive"):
        AlexNet(variant="small", width=0)

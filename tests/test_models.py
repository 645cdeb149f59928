"""AlexNet: the paper's shapes and parameters, and torchvision's weights loading unchanged."""

from __future__ import annotations

import pytest
import torch
import torchvision

from alexnet_lib.models import TORCHVISION_NAMES, AlexNet, TowerLocalResponseNorm, count_parameters, named_layers


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


def test_paper_lrn_reads_the_papers_constants_as_cuda_convnet2_s_imagenet_files():
    norm = AlexNet(variant="paper").features.norm1
    # cuda-convnet2 divides alpha by the size, as torch does: the constants as they stand, k = 2
    assert (norm.size, norm.alpha, norm.beta, norm.k, norm.groups) == (5, 1e-4, 0.75, 2.0, 2)
    printed = AlexNet(variant="paper", lrn="printed").features.norm1
    assert printed.alpha == 5e-4  # the printed formula: alpha * sum, i.e. torch's alpha times the size
    assert AlexNet(variant="paper", lrn="cuda-convnet").features.norm1.k == 1.0  # the 2012 release
    with pytest.raises(ValueError, match="lrn must be one of"):
        AlexNet(variant="paper", lrn="book")


def test_224_is_explained():
    with pytest.raises(ValueError, match=r"takes \(N, 3, 227, 227\).*54.25.*variant='torchvision'"):
        AlexNet(variant="paper")(torch.zeros(1, 3, 224, 224))


@pytest.mark.parametrize(("size", "pool5"), [(227, 6), (128, 2), (112, 2), (80, 1), (67, 1)])
def test_the_paper_s_layers_on_smaller_images(size, pool5):
    from alexnet_lib.models import paper_map_sizes

    model = AlexNet(num_classes=10, variant="paper", image_size=size)
    assert paper_map_sizes(size)["pool5"] == pool5
    assert model.classifier.fc6.in_features == 256 * pool5 * pool5
    assert model(torch.zeros(2, 3, size, size)).shape == (2, 10)
    with pytest.raises(ValueError, match=f"image_size={size}"):
        model(torch.zeros(1, 3, size + 1, size + 1))
    with pytest.raises(ValueError, match="at least 67 pixels"):
        AlexNet(variant="paper", image_size=66)


def test_paper_width_scales_every_layer_and_keeps_the_towers_even():
    from alexnet_lib.models import paper_widths

    assert paper_widths(1.0) == (96, 256, 384, 384, 256, 4096)
    assert paper_widths(0.5) == (48, 128, 192, 192, 128, 2048)
    assert all(c % 2 == 0 for c in paper_widths(0.3))
    half = AlexNet(num_classes=10, variant="paper", width=0.5, image_size=112)
    assert half.features.conv2.out_channels == 128 and half.classifier.fc7.in_features == 2048
    assert half(torch.zeros(1, 3, 112, 112)).shape == (1, 10)


def test_he_initialisation():
    torch.manual_seed(0)
    model = AlexNet(num_classes=10, variant="paper", init="he")
    conv3 = model.features.conv3
    fan_in = conv3.in_channels * 9
    assert abs(conv3.weight.std().item() - (2 / fan_in) ** 0.5) < 2e-3 and torch.all(conv3.bias == 0)
    with pytest.raises(ValueError, match="init applies to variant='paper' only"):
        AlexNet(variant="small", init="he")
    with pytest.raises(ValueError, match="init must be one of"):
        AlexNet(variant="paper", init="xavier")


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
    with pytest.raises(ValueError, match="torchvision's has fixed sizes"):
        AlexNet(variant="torchvision", width=0.5)
    with pytest.raises(ValueError, match="positive"):
        AlexNet(variant="small", width=0)


def test_the_paper_model_normalises_within_towers():
    f = AlexNet(variant="paper").features
    assert isinstance(f.norm1, TowerLocalResponseNorm) and f.norm1.groups == 2 and f.norm2.groups == 2


def test_named_layers_translate_torchvision_numbers():
    import torchvision

    ours = named_layers(AlexNet(variant="torchvision"))
    theirs = named_layers(torchvision.models.alexnet())
    assert list(ours) == list(theirs) == [*TORCHVISION_NAMES["features"], *TORCHVISION_NAMES["classifier"]]
    for name in ours:
        assert type(ours[name]) is type(theirs[name])
    assert isinstance(ours["conv1"], torch.nn.Conv2d) and ours["conv1"].out_channels == 64
    assert isinstance(ours["fc8"], torch.nn.Linear) and ours["fc8"].out_features == 1000
    assert list(named_layers(AlexNet(variant="paper")))[:3] == ["conv1", "relu1", "norm1"]

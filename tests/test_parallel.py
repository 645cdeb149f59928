"""The two-tower model parallel AlexNet computes what the grouped single-device model computes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from alexnet_lib.models import AlexNet, count_parameters
from alexnet_lib.parallel import TwoGPUAlexNet


@pytest.fixture(scope="module")
def pair():
    torch.manual_seed(0)
    grouped = AlexNet(num_classes=20, variant="paper")
    # Livelier weights than N(0, 0.01), so that every layer's output matters to the result.
    for p in grouped.parameters():
        p.data.normal_(0, 0.05) if p.dim() > 1 else p.data.uniform_(-0.1, 0.1)
    return grouped, TwoGPUAlexNet.from_alexnet(grouped, devices=("cpu", "cpu"))


def test_same_parameters_and_same_outputs(pair):
    grouped, towers = pair
    assert count_parameters(towers) == count_parameters(grouped) == 60_965_224 - 980 * 4097
    grouped.eval()
    towers.eval()
    x = torch.randn(3, 3, 227, 227)
    with torch.no_grad():
        expected = grouped(x)
        torch.testing.assert_close(towers(x), expected, rtol=1e-4, atol=1e-5)
    assert expected.std() > 0.1  # not a vacuous comparison of near-zeros


def test_same_gradients(pair):
    grouped, towers = pair
    grouped.eval()
    towers.eval()
    x, y = torch.randn(2, 3, 227, 227), torch.tensor([3, 7])
    grouped.zero_grad()
    towers.zero_grad()
    nn.functional.cross_entropy(grouped(x), y).backward()
    nn.functional.cross_entropy(towers(x), y).backward()
    g, t = grouped.features, towers.towers

    def close(ours: torch.Tensor, reference: torch.Tensor) -> None:
        # float32 sums in a different order: compare to the gradient's own scale.
        assert reference.abs().max() > 0
        torch.testing.assert_close(ours, reference, rtol=0, atol=1e-4 * reference.abs().max().item())

    # conv2's kernels 128-255 are tower 1's; conv3's input holds both towers' maps.
    close(t[1].front.conv2.weight.grad, g.conv2.weight.grad[128:])
    close(t[0].front.conv1.weight.grad, g.conv1.weight.grad[:48])
    close(t[0].middle.conv3.weight.grad, g.conv3.weight.grad[:192])
    close(t[1].fc7.fc7.weight.grad, grouped.classifier.fc7.weight.grad[2048:])


def test_round_trip(pair):
    grouped, towers = pair
    back = towers.to_alexnet()
    for (name, a), b in zip(grouped.state_dict().items(), back.state_dict().values()):
        assert torch.equal(a, b), name


def test_a_fresh_one_is_initialised_as_in_the_paper():
    """Its layers are built without memory and given the weights of a fresh grouped model:
    nothing may be left as it was allocated."""
    torch.manual_seed(1)
    twin = TwoGPUAlexNet(num_classes=10, devices=("cpu", "cpu"))
    ones = {"conv2", "conv4", "conv5", "fc6", "fc7"}
    layers = [(f"tower{i}.{name}", name, layer) for i, tower in enumerate(twin.towers)
              for name, layer in tower.named_modules() if isinstance(layer, (nn.Conv2d, nn.Linear))]
    layers.append(("fc8", "fc8", twin.fc8))
    assert len(layers) == 2 * 7 + 1
    for where, name, layer in layers:
        assert torch.isfinite(layer.weight).all() and abs(layer.weight.std().item() - 0.01) < 1e-3, where
        assert torch.equal(layer.bias, torch.full_like(layer.bias, 1.0 if name.split(".")[-1] in ones else 0.0)), where


def test_weights_given_to_the_constructor(pair):
    grouped, _ = pair
    again = TwoGPUAlexNet(20, devices=("cpu", "cpu"), weights=grouped)
    for (name, a), b in zip(grouped.state_dict().items(), again.to_alexnet().state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_errors():
    with pytest.raises(ValueError, match="two devices"):
        TwoGPUAlexNet(devices=("cpu",))
    with pytest.raises(ValueError, match="variant='paper'"):
        TwoGPUAlexNet.from_alexnet(AlexNet(variant="torchvision"), devices=("cpu", "cpu"))
    with pytest.raises(ValueError, match="variant='paper'"):
        TwoGPUAlexNet(devices=("cpu", "cpu"), weights=AlexNet(variant="small"))
    with pytest.raises(ValueError, match="10 classes"):
        TwoGPUAlexNet(devices=("cpu", "cpu"), weights=AlexNet(num_classes=10, variant="paper"))
    lighter = AlexNet(num_classes=10, variant="paper", dropout=0.3)
    assert TwoGPUAlexNet(10, devices=("cpu", "cpu"), weights=lighter).towers[1].fc7.drop7.p == 0.3
    for other in ({"lrn": "printed"}, {"width": 0.5}, {"image_size": 99}):
        with pytest.raises(ValueError, match=next(iter(other))):
            TwoGPUAlexNet(10, devices=("cpu", "cpu"), weights=AlexNet(num_classes=10, variant="paper", **other))
    if torch.cuda.device_count() < 2:
        with pytest.raises(RuntimeError, match="devices=\\('cpu', 'cpu'\\)"):
            TwoGPUAlexNet(devices=("cuda:0", "cuda:1"))
    with pytest.raises(ValueError, match="227"):
        TwoGPUAlexNet(num_classes=5, devices=("cpu", "cpu"))(torch.zeros(1, 3, 224, 224))


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_on_two_gpus(pair):
    grouped, _ = pair
    towers = TwoGPUAlexNet.from_alexnet(grouped.eval(), devices=("cuda:0", "cuda:1")).eval()
    assert towers.towers[1].front.conv1.weight.device == torch.device("cuda:1")
    x = torch.randn(2, 3, 227, 227)
    with torch.no_grad():
        torch.testing.assert_close(towers(x).cpu(), grouped(x), rtol=1e-3, atol=1e-4)

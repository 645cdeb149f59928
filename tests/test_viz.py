"""Looking inside a network: kernel grids, activations, neighbours, occlusion."""

from __future__ import annotations


import numpy as np
import pytest
import torch
from torch import nn

from alexnet_lib import viz
from alexnet_lib.models import AlexNet
from helpers import small_model


def test_kernel_grid_layout_and_stretch():
    w = torch.randn(10, 3, 5, 5)
    w[3] = 0.7  # a flat kernel must not divide by zero
    grid = viz.kernel_grid(w, columns=4, gap=1, upscale=2)
    assert grid.shape == (3 * 11 + 1, 4 * 11 + 1, 3) and grid.min() >= 0 and grid.max() <= 1
    first = grid[1:11, 1:11]
    assert first.min() == 0 and first.max() == 1  # each kernel stretched on its own
    assert np.all(grid[0] == 1)  # white gaps
    with pytest.raises(ValueError, match="first-layer weights"):
        viz.kernel_grid(torch.randn(4, 1, 3, 3))


def test_colour_share_tells_grey_from_colour():
    grey = torch.randn(1, 1, 5, 5).repeat(1, 3, 1, 1)
    pattern = torch.randn(5, 5)
    colour = torch.stack([pattern, -pattern, torch.zeros(5, 5)]).unsqueeze(0)
    share = viz.colour_share(torch.cat([grey, colour, grey + colour]))
    assert share[0] == pytest.approx(0, abs=1e-12) and share[1] == pytest.approx(1)
    assert 0 < share[2] < 1


def test_activations_equal_running_the_layers_by_hand():
    model = small_model()
    x = torch.randn(2, 3, 32, 32)
    found = viz.activations(model, x, ["conv1", "relu2", "fc7"])
    with torch.no_grad():
        torch.testing.assert_close(found["relu2"], model.features[:5](x.clone()))  # conv1 .. relu2
        torch.testing.assert_close(found["conv1"], model.features.conv1(x))  # copied before the in-place ReLU
    assert found["fc7"].shape == (2, 256) and viz.hidden_features(model, x, batch=1).shape == (2, 256)
    assert (viz.hidden_features(model, x) >= 0).all()  # after relu7
    with pytest.raises(ValueError, match="no layer named \\['conv9'\\]"):
        viz.activations(model, x, ["conv9"])


def test_nearest_is_euclidean():
    rng = np.random.default_rng(0)
    bank, query = torch.tensor(rng.normal(size=(30, 7))), torch.tensor(rng.normal(size=(4, 7)))
    got = viz.nearest(query, bank, k=3)
    brute = np.argsort(((query[:, None] - bank[None]) ** 2).sum(-1).numpy(), axis=1)[:, :3]
    assert got.tolist() == brute.tolist()
    assert viz.nearest(bank[:2], bank, k=1).flatten().tolist() == [0, 1]
    with pytest.raises(ValueError, match="k must be"):
        viz.nearest(query, bank, k=0)
    with pytest.raises(ValueError, match="7 numbers"):
        viz.nearest(query, torch.zeros(3, 5))


class TopLeft(nn.Module):
    """Class 0's score is the sum of the top-left 4x4 corner; class 1's is zero."""

    def forward(self, x):
        return torch.stack([x[:, :, :4, :4].sum(dim=(1, 2, 3)), torch.zeros(len(x))], dim=1)


def test_occlusion_map_finds_what_the_model_looks_at():
    image = torch.ones(3, 8, 8)
    heat = viz.occlusion_map(TopLeft(), image, label=0, size=4, stride=2)
    assert heat.shape == (3, 3)
    assert heat[0, 0] == heat.min() and heat[2, 2] == heat.max()  # covering the corner hurts most
    with pytest.raises(ValueError, match="must fit"):
        viz.occlusion_map(TopLeft(), image, label=0, size=9)


def test_five_best_marks_the_correct_class():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(2)
    p = torch.tensor([0.1, 0.5, 0.2, 0.05, 0.05, 0.1])
    viz.five_best(a, b, np.zeros((3, 8, 8), dtype=np.uint8), p, label=2, names=list("abcdef"))
    colours = [bar.get_facecolor() for bar in b.patches]
    assert len(colours) == 5 and sum(c[0] > 0.7 and c[2] < 0.3 for c in colours) == 1
    plt.close(fig)


def test_five_best_with_an_unknown_label_marks_nothing_and_uses_the_title():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(2)
    p = torch.tensor([0.1, 0.5, 0.2, 0.05, 0.05, 0.1])
    viz.five_best(a, b, np.zeros((8, 8, 3), dtype=np.uint8), p, label=-1, names=list("abcdef"), title="my photo")
    assert a.get_title() == "my photo"
    assert all(bar.get_facecolor()[2] > 0.5 for bar in b.patches)  # all blue
    with pytest.raises(ValueError, match="class index"):
        viz.five_best(a, b, np.zeros((8, 8, 3), dtype=np.uint8), p, label=6, names=list("abcdef"))
    plt.close(fig)


def test_activations_and_hidden_features_of_the_torchvision_variant():
    torch.manual_seed(0)
    model = AlexNet(variant="torchvision", num_classes=10).eval()
    x = torch.randn(2, 3, 224, 224)
    found = viz.activations(model, x, ["relu1", "relu2", "relu5", "relu7"])
    assert [tuple(v.shape[1:]) for v in found.values()] == [(64, 55, 55), (192, 27, 27), (256, 13, 13), (4096,)]
    assert torch.equal(viz.hidden_features(model, x), found["relu7"])
    with torch.no_grad():  # relu7 is what fc8 reads
        assert torch.allclose(model.classifier[6](found["relu7"]), model(x), atol=1e-5)


def test_nearest_in_chunks_equals_all_at_once():
    torch.manual_seed(0)
    query, bank = torch.randn(37, 5), torch.randn(50, 5)
    assert torch.equal(viz.nearest(query, bank, k=3, chunk=8), viz.nearest(query, bank, k=3, chunk=1000))
    assert torch.equal(viz.nearest(bank[:4], bank, k=1)[:, 0], torch.arange(4))


def test_draw_occlusion_lines_the_map_up_with_its_image():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image = torch.zeros(3, 28, 28)
    heat = viz.occlusion_map(nn.Sequential(nn.Flatten(), nn.Linear(3 * 28 * 28, 2)), image, 0, size=8, stride=2)
    assert heat.shape == (11, 11)
    fig, ax = plt.subplots()
    shown = viz.draw_occlusion(ax, heat, size=8, stride=2, image_shape=(28, 28))
    # centres at 4, 6, ..., 24; each cell 2 wide around its centre: from 3 to 25
    assert shown.get_extent() == [3.0, 25.0, 25.0, 3.0]
    assert ax.get_xlim() == (0.0, 28.0) and ax.get_ylim() == (28.0, 0.0)
    with pytest.raises(ValueError, match="occlusion map"):
        viz.draw_occlusion(ax, heat[0], size=8, stride=2, image_shape=(28, 28))
    plt.close(fig)


def test_occlusion_grid_puts_each_photograph_above_its_map():
    import matplotlib

    matplotlib.use("Agg")
    pictures = [np.full((3, 32, 32), v, dtype=np.uint8) for v in (0, 128, 255)]
    heats = [np.linspace(0, 1, 25).reshape(5, 5) for _ in pictures]
    fig = viz.occlusion_grid(pictures, heats, 16, 4, ["a", "b", "c"], ["p"] * 3, "maps", map_fontsize=7)
    axes = fig.axes
    assert len(axes) == 7  # 2 x 3 and the colour bar
    assert [ax.get_title() for ax in axes[:3]] == ["a", "b", "c"] and axes[3].get_title() == "p"
    assert axes[3].get_xlim() == (0, 32) and fig._suptitle.get_text() == "maps"
    assert axes[0].images[0].get_array().shape == (32, 32, 3)  # (3, H, W) shown as a picture


def test_class_errors_draws_each_class_and_the_confusion_counts():
    import matplotlib

    matplotlib.use("Agg")
    counts = np.array([[5, 1, 0], [2, 3, 1], [0, 0, 6]])
    per_class = 1 - counts.diagonal() / counts.sum(axis=1)
    fig = viz.class_errors(per_class, counts, ["a", "b", "c"], matrix_title="confusion", suptitle="run")
    bars, matrix = fig.axes[:2]
    assert [t.get_text() for t in bars.get_yticklabels()] == ["c", "a", "b"]  # easiest at the bottom
    assert sorted(t.get_text() for t in matrix.texts) == ["1", "1", "2", "3", "5", "6"]  # zeros left blank
    assert matrix.get_title() == "confusion" and fig._suptitle.get_text() == "run"

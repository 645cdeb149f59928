"""The book's network exported to ONNX (alexnet_lib.onnx_export) computes what PyTorch computes.

The page "Try it" runs this file in the browser; here ONNX Runtime (Python) runs it against
PyTorch on the same weights: the shipped network where the package has it, else a stand-in
of the same architecture and format written with pretrained.save_book_network.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from alexnet_lib import datasets, onnx_export, pretrained, viz

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """None for the shipped network (when the package has it), else a stand-in file's path."""
    if pretrained.BOOK_NETWORK_FILE.is_file():
        return None
    from alexnet_lib.config import Config
    from alexnet_lib.models import AlexNet

    torch.manual_seed(0)
    model = AlexNet(num_classes=10, variant="paper", image_size=128, init="he")
    path = tmp_path_factory.mktemp("standin") / "standin.npz"
    meta = pretrained.book_network_meta(Config(image_size=128, init="he"), list(datasets.IMAGENETTE_CLASSES), "stand-in")
    pretrained.save_book_network(model, meta, path)
    return path


@pytest.fixture(scope="module")
def net(weights):
    return pretrained.book_network(weights) if weights else pretrained.book_network()


@pytest.fixture(scope="module")
def assets(weights, tmp_path_factory):
    folder = tmp_path_factory.mktemp("page")
    config = onnx_export.page_assets(folder, weights)
    return folder, config


def test_logits_and_feature_maps_match_pytorch(net, assets):
    folder, _ = assets
    x = net.preprocess([path for path, _ in pretrained.sample_photos()])
    logits, maps = onnx_export.run_onnx(folder / onnx_export.MODEL_FILE, x)
    with torch.no_grad():
        want = net(x).numpy()
    want_maps = viz.activations(net, x, ["relu1"])["relu1"].numpy()
    assert logits.shape == want.shape == (10, 10) and maps.shape == want_maps.shape == (10, 96, 30, 30)
    assert np.abs(logits - want).max() <= 1e-4 * max(1.0, np.abs(want).max())
    assert np.abs(maps - want_maps).max() <= 1e-4 * max(1.0, np.abs(want_maps).max())
    probabilities = torch.softmax(torch.from_numpy(logits), 1)
    assert torch.allclose(probabilities, torch.softmax(torch.from_numpy(want), 1), atol=1e-5)
    assert (logits.argmax(1) == want.argmax(1)).all()


def test_any_batch_size_runs(net, assets):
    folder, _ = assets
    x = torch.randn(3, 3, net.image_size, net.image_size)
    (logits,) = onnx_export.run_onnx(folder / onnx_export.MODEL_FILE, x, outputs=(onnx_export.LOGITS,))
    with torch.no_grad():
        assert np.allclose(logits, net(x).numpy(), atol=1e-4, rtol=1e-4)


def test_lrn_is_onnx_operator_within_each_tower(net, assets):
    folder, config = assets
    model = onnx.load(str(folder / onnx_export.MODEL_FILE))
    ops = [node.op_type for node in model.graph.node]
    lrn = [node for node in model.graph.node if node.op_type == "LRN"]
    assert len(lrn) == 4, "two LRN layers, one operator per tower"
    assert ops.count("Split") == 2 and ops.count("Concat") >= 2
    norm = net.features.norm1
    for node in lrn:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs["size"] == norm.size
        assert attrs["alpha"] == pytest.approx(norm.alpha) and attrs["beta"] == pytest.approx(norm.beta)
        assert attrs["bias"] == pytest.approx(norm.k)
    # no trace of the library's hand-written LRN (shifted additions) in the graph
    assert "ScatterND" not in ops and ops.count("Slice") == 0
    assert config["export"]["operators"]["LRN"] == 4


def test_weights_are_the_shipped_values(weights, net, assets):
    folder, _ = assets
    model = onnx.load(str(folder / onnx_export.MODEL_FILE))
    assert {o.domain: o.version for o in model.opset_import}[""] == onnx_export.OPSET == 21
    inits = {i.name: i for i in model.graph.initializer}
    stored = pretrained.stored_weights(weights or pretrained.BOOK_NETWORK_FILE)
    assert len(stored) == 8  # five convolutions, three fully connected layers
    assert sorted(n for n, (_, _, bits) in stored.items() if bits == 4) == sorted(pretrained.FOUR_BIT)
    dequantise = [n for n in model.graph.node if n.op_type == "DequantizeLinear"]
    assert len(dequantise) == 8
    for node in dequantise:
        assert onnx.helper.get_attribute_value(node.attribute[0]) == 0  # axis 0: one scale per output channel
    for name, (values, scale, bits) in stored.items():
        tensor = inits[f"{name}_int{bits}"]
        assert tensor.data_type == (onnx.TensorProto.INT4 if bits == 4 else onnx.TensorProto.INT8)
        assert np.array_equal(onnx.numpy_helper.to_array(tensor).astype(np.int8), values)
        if bits == 4:  # two values to a byte, as the package stores them
            assert len(tensor.raw_data) == values.size // 2
        assert np.array_equal(onnx.numpy_helper.to_array(inits[name + "_scale"]), scale)
    floats = {n: onnx.numpy_helper.to_array(t) for n, t in inits.items() if t.data_type == onnx.TensorProto.FLOAT}
    big_floats = [n for n, a in floats.items() if a.size > 4096]
    assert not big_floats, f"weights left in float32: {big_floats}"


def test_file_is_small_enough_for_the_page(assets):
    folder, config = assets
    size = (folder / onnx_export.MODEL_FILE).stat().st_size
    assert size <= onnx_export.MAX_BYTES == 25_000_000
    assert config["files"][onnx_export.MODEL_FILE]["bytes"] == size
    assert (folder / (onnx_export.MODEL_FILE + ".gz")).stat().st_size < size


def test_page_config_comes_from_the_library(net, assets):
    from alexnet_lib.full_run import OCCLUSION_SIZE, OCCLUSION_STRIDE

    folder, config = assets
    assert json.loads((folder / onnx_export.CONFIG_FILE).read_text()) == config
    assert (config["image_size"], config["scale"]) == (net.image_size, net.scale) == (128, 146)
    assert config["mean"] == list(net.mean) and config["std"] == list(net.std)
    assert config["classes"] == net.classes and len(config["classes"]) == 10
    assert config["occlusion"] == {"size": OCCLUSION_SIZE, "stride": OCCLUSION_STRIDE, "fill": 0.0}
    assert (config["map_channels"], config["map_size"], config["kernel_size"]) == (96, 30, 11)
    assert len(bytes.fromhex(config["colours"]["maps"])) == 256 * 3
    kernels = np.fromfile(folder / onnx_export.KERNELS_FILE, dtype=np.uint8).reshape(96, 11, 11, 3)
    grid = viz.kernel_grid(net.features.conv1.weight, columns=96, gap=0)  # all kernels in one row
    assert np.abs(kernels.transpose(1, 0, 2, 3).reshape(11, 96 * 11, 3) - np.round(grid * 255)).max() == 0


def test_the_page_states_the_network_s_size(assets):
    """The page's "the network, about N MB" is the gzipped file it downloads, to the nearest MB."""
    import re
    from pathlib import Path

    _, config = assets
    text = (Path(__file__).resolve().parents[1] / "book" / "try_it.md").read_text()
    stated = int(re.search(r"the network, about (\d+) MB", text).group(1))
    assert stated == round(config["files"][onnx_export.MODEL_FILE + ".gz"]["bytes"] / 1e6)

"""alexnet_lib.summary: the per-layer table."""

from __future__ import annotations

from alexnet_lib.models import AlexNet, count_parameters
from alexnet_lib.summary import layer_table, markdown_table, totals


def test_paper_table():
    rows = {r.name: r for r in layer_table(AlexNet(variant="paper"))}
    conv1, conv2 = rows["features.conv1"], rows["features.conv2"]
    assert conv1.output == (96, 55, 55) and conv1.params == 96 * (11 * 11 * 3 + 1)
    assert conv1.macs == 96 * 55 * 55 * 11 * 11 * 3
    assert conv2.macs == 256 * 27 * 27 * 48 * 5 * 5  # grouped: each filter sees 48 maps
    assert rows["classifier.fc6"].macs == 9216 * 4096 and rows["features.relu1"].inplace
    t = totals(rows.values())
    assert t["params"] == 60_965_224
    # The paper's "650,000 neurons": the outputs of its eight learned layers.
    neurons = sum(r.activations for r in rows.values() if r.kind in ("Conv2d", "Linear"))
    assert neurons == 659_272


def test_torchvision_table_and_markdown():
    model = AlexNet(variant="torchvision")
    rows = layer_table(model, (3, 224, 224))
    assert totals(rows)["params"] == count_parameters(model) == 61_100_840
    assert model.training  # left as it was
    text = markdown_table(rows, kinds=("Conv2d", "Linear"))
    assert text.count("\n") == 2 + 8  # header, rule, eight layers, total
    assert "**61,100,840**" in text and "features.0" in text and "features.1 " not in text

"""The per-layer table and the pretrained-weights loader."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import pytest
import torch
import torchvision

from alexnet_lib import datasets, pretrained
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


def _fake_weights(tmp_path):
    path = tmp_path / "made.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No data folder, an empty cache and an empty hub cache."""
    monkeypatch.delenv("ALEXNET_DATA_DIR", raising=False)
    monkeypatch.setattr(datasets, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path


def test_found_verified_and_loaded(isolated, monkeypatch):
    path, digest = _fake_weights(isolated)
    folder = isolated / "data" / "weights"
    folder.mkdir(parents=True)
    path.rename(folder / pretrained.TORCHVISION_FILE)
    monkeypatch.setattr(pretrained, "TORCHVISION_SHA256_PREFIX", digest[:8])
    model = pretrained.load_torchvision_alexnet(isolated / "data", download=False)
    assert not model.training and model.variant == "torchvision"
    # A copy that is not the file is refused, naming it.
    monkeypatch.setattr(pretrained, "TORCHVISION_SHA256_PREFIX", "00000000")
    with pytest.raises(datasets.ChecksumMismatch, match="Delete it"):
        pretrained.find_torchvision_weights(isolated / "data", download=False)


def test_downloaded_into_the_cache(isolated, monkeypatch):
    path, digest = _fake_weights(isolated)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(isolated)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(pretrained, "TORCHVISION_URL", f"http://127.0.0.1:{httpd.server_address[1]}/made.pth")
        monkeypatch.setattr(pretrained, "TORCHVISION_SHA256_PREFIX", digest[:8])
        found = pretrained.find_torchvision_weights(progress=False)
        assert found == isolated / "cache" / "weights" / pretrained.TORCHVISION_FILE
        monkeypatch.setattr(pretrained, "TORCHVISION_SHA256_PREFIX", "0badf00d")
        found.unlink()
        with pytest.raises(datasets.ChecksumMismatch, match="not kept"):
            pretrained.find_torchvision_weights(progress=False)
        assert not found.exists()  # a mismatching download is not kept
    finally:
        httpd.shutdown()


def test_offline_names_the_fix(isolated, monkeypatch):
    with pytest.raises(datasets.DataNotFound, match="put it in .*weights"):
        pretrained.find_torchvision_weights(download=False)
    monkeypatch.setattr(pretrained, "TORCHVISION_URL", "http://127.0.0.1:9/alexnet.pth")
    with pytest.raises(datasets.DataNotFound, match="could not be downloaded.*Download http://127.0.0.1:9"):
        pretrained.load_torchvision_alexnet(progress=False)


def test_class_names_need_no_network():
    names = pretrained.imagenet_classes()
    assert len(names) == 1000 and names[0] == "tench" and len(set(names)) > 990

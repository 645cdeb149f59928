"""alexnet_lib.pretrained: the book's network as it ships, as a student installs it, and torchvision's weights."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st

from alexnet_lib import data, datasets, pretrained
from alexnet_lib.config import Config
from alexnet_lib.models import AlexNet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import student_path  # noqa: E402  (the student-path stage's wheel and environment)

WNIDS = list(datasets.IMAGENETTE_CLASSES)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(1, 40), st.floats(1e-6, 1e3))
def test_quantise_rounds_each_channel_to_within_half_its_step(channels, size, spread):
    w = torch.randn(channels, size, generator=torch.Generator().manual_seed(channels * size)) * spread
    values, scale = pretrained.quantise(w)
    assert values.dtype == np.int8 and scale.dtype == np.float32 and scale.shape == (channels,)
    back = pretrained.dequantise(values, scale)
    step = torch.from_numpy(scale)[:, None]
    assert torch.all((back - w).abs() <= step / 2 * (1 + 1e-5) + 1e-12)
    assert torch.allclose(back.abs().amax(dim=1), w.abs().amax(dim=1), rtol=1e-5)  # the largest is kept exactly


def test_quantise_keeps_an_all_zero_channel_zero():
    values, scale = pretrained.quantise(torch.zeros(2, 3, 5, 5))
    assert np.all(values == 0) and torch.all(pretrained.dequantise(values, scale) == 0)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(1, 40), st.floats(1e-6, 1e3))
def test_four_bits_use_levels_minus_7_to_7_and_the_scale_of_least_error(rows, size, spread):
    w = torch.randn(rows, size, generator=torch.Generator().manual_seed(rows * size)) * spread
    values, scale = pretrained.quantise(w, bits=4)
    assert values.dtype == np.int8 and values.min() >= -7 and values.max() <= 7 and scale.shape == (rows,)
    error = ((pretrained.dequantise(values, scale) - w) ** 2).sum(dim=1)
    # no worse, row by row, than the plain scale max|w| / 7 (one of the scales tried)
    plain = w.abs().amax(dim=1, keepdim=True) / 7
    plain_error = ((torch.round(w / plain).clamp(-7, 7) * plain - w) ** 2).sum(dim=1)
    assert torch.all(error <= plain_error * (1 + 1e-5) + 1e-30)


def test_quantise_refuses_other_widths():
    with pytest.raises(ValueError, match="bits must be 8 or 4"):
        pretrained.quantise(torch.ones(2, 2), bits=2)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 5), st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_pack4_stores_two_values_a_byte_and_unpacks_them_exactly(rows, pairs, seed):
    values = np.random.default_rng(seed).integers(-8, 8, (rows, 2 * pairs)).astype(np.int8)
    packed = pretrained.pack4(values)
    assert packed.dtype == np.uint8 and packed.shape == (rows, pairs)
    assert np.array_equal(pretrained.unpack4(packed), values)
    assert int(packed[0, 0]) == (int(values[0, 0]) & 0xF) | ((int(values[0, 1]) & 0xF) << 4)  # first: low bits


def test_pack4_refuses_what_it_cannot_store():
    with pytest.raises(ValueError, match="even number of columns"):
        pretrained.pack4(np.zeros((2, 3), np.int8))
    with pytest.raises(ValueError, match="-8..7"):
        pretrained.pack4(np.full((2, 2), 9, np.int8))


def _small_network(tmp_path: Path) -> tuple[AlexNet, Path]:
    torch.manual_seed(0)
    cfg = Config(dataset="imagenette", model="paper", width=0.125, image_size=128, init="he")
    model = AlexNet(num_classes=10, variant="paper", width=0.125, image_size=128, init="he").eval()
    path = tmp_path / "net.npz"
    pretrained.save_book_network(model, pretrained.book_network_meta(cfg, WNIDS, "a test"), path)
    return model, path


def test_a_saved_network_loads_back_with_its_classes_and_nearly_its_outputs(tmp_path):
    model, path = _small_network(tmp_path)
    net = pretrained.book_network(path)
    assert isinstance(net, AlexNet) and not net.training
    assert net.classes[:3] == ["tench", "English springer", "cassette player"] and net.wnids == WNIDS
    x = torch.randn(4, 3, 128, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = model(x), net(x)
    # fc6 and fc7 in 4 bits (15 levels): on random weights, whose rows use their range evenly, the
    # rounding moves the outputs by about a tenth of their size (8 bits everywhere: about 1%)
    rms = lambda t: t.pow(2).mean().sqrt()  # noqa: E731
    assert rms(a - b) <= 0.25 * rms(a)
    assert not any(name.endswith((".int8", ".int4")) for name in net.state_dict())
    eight = tmp_path / "eight.npz"
    pretrained.save_book_network(model, net.meta, eight, four_bit=())
    with torch.no_grad():
        c = pretrained.book_network(eight)(x)
    assert rms(a - c) <= 0.03 * rms(a)


def test_fc6_and_fc7_are_stored_in_four_bits_two_to_a_byte(tmp_path):
    model, path = _small_network(tmp_path)
    with np.load(path) as arrays:
        packed = {k: arrays[k] for k in arrays.files if k.endswith(".int4")}
        assert sorted(packed) == sorted(name + ".int4" for name in pretrained.FOUR_BIT)
        for key, values in packed.items():
            rows, columns = model.state_dict()[key[:-len(".int4")]].shape
            assert values.dtype == np.uint8 and values.shape == (rows, columns // 2)
    stored = pretrained.stored_weights(path)
    assert {n: b for n, (_, _, b) in stored.items() if b == 4}.keys() == set(pretrained.FOUR_BIT)
    with pytest.raises(ValueError, match="only matrices"):
        pretrained.save_book_network(model, {}, tmp_path / "x.npz", four_bit=["features.conv1.weight"])
    with pytest.raises(ValueError, match="does not have"):
        pretrained.save_book_network(model, {}, tmp_path / "x.npz", four_bit=["fc9.weight"])


def test_the_patch_is_the_recorded_run_s_test_patch(tmp_path):
    """What book_network's preprocessing gives a photograph equals what the training code's
    test path gives it: predecoded squares, the central patch, the same normalisation."""
    _, path = _small_network(tmp_path)
    net = pretrained.book_network(path)
    paths = [p for p, _ in pretrained.sample_photos()][:3]
    squares = torch.stack([torchvision.transforms.v2.Compose(data.square_steps(net.scale))(data.read_image(p)) for p in paths])
    expected = data.BatchPreparer(net.image_size)(squares, train=False)
    torch.testing.assert_close(net.preprocess(paths), expected)


def test_the_shipped_network_is_checked_and_classifies_the_sample_photos():
    assert pretrained.BOOK_NETWORK_FILE.is_file()
    assert pretrained.BOOK_NETWORK_FILE.stat().st_size <= 25 * 2**20
    assert datasets.file_sha256(pretrained.BOOK_NETWORK_FILE) == pretrained.BOOK_NETWORK_SHA256
    net = pretrained.book_network()
    assert net.classes == datasets.readable(WNIDS) and (net.image_size, net.scale) == (128, 146)
    samples = pretrained.sample_photos()
    assert [name for _, name in samples] == net.classes
    guesses = net.classify([p for p, _ in samples], k=5)
    assert all(len(g) == 5 and abs(sum(p for _, p in g)) <= 1 + 1e-5 for g in guesses)
    right = sum(g[0][0] == name for g, (_, name) in zip(guesses, samples))
    assert right >= 6, guesses  # a network with 26% test error; chance would be 1 in 10


def test_a_damaged_or_missing_file_is_refused_with_the_fix(tmp_path, monkeypatch):
    bad = tmp_path / "imagenette_alexnet.npz"
    bad.write_bytes(pretrained.BOOK_NETWORK_FILE.read_bytes()[:1000])
    monkeypatch.setattr(pretrained, "BOOK_NETWORK_FILE", bad)
    with pytest.raises(datasets.ChecksumMismatch, match="damaged; reinstall"):
        pretrained.book_network()
    with pytest.raises(datasets.ChecksumMismatch, match="not a network file"):
        pretrained.book_network(bad)
    monkeypatch.setattr(pretrained, "BOOK_NETWORK_FILE", tmp_path / "gone.npz")
    with pytest.raises(datasets.DataNotFound, match="reinstall the package"):
        pretrained.book_network()


def test_bad_photographs_give_clear_errors(tmp_path):
    _, path = _small_network(tmp_path)
    net = pretrained.book_network(path)
    with pytest.raises(ValueError, match=r"RGB uint8 tensor \(3, H, W\)"):
        net.patch(torch.zeros(3, 50, 50))
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("hello")
    with pytest.raises(data.BadImage, match="not a readable image"):
        net.classify([not_an_image])
    tiny = torch.full((3, 1, 1), 128, dtype=torch.uint8)  # a 1x1 photograph is scaled up, not refused
    assert net.preprocess([tiny]).shape == (1, 3, 128, 128)
    with pytest.raises(ValueError, match=r"uint8 patches \(N, 3, H, W\)"):
        net.normalise(torch.zeros(1, 3, 128, 128))


def test_normalise_is_preprocess_without_the_cutting(tmp_path):
    _, path = _small_network(tmp_path)
    net = pretrained.book_network(path)
    paths = [p for p, _ in pretrained.sample_photos()][:2]
    patches = torch.stack([net.patch(p) for p in paths])
    torch.testing.assert_close(net.normalise(patches), net.preprocess(paths))


def test_the_wheel_carries_the_network_and_a_fresh_environment_classifies_with_it(tmp_path):
    """As a student meets it: the built wheel installed into a new virtual environment outside
    the checkout, no data folders, no network; the book's network classifies the sample photos.
    The wheel and the environment are made by the student-path stage's own functions
    (tools/student_path.py: every file of the package in the wheel, connections refused)."""
    wheel = student_path.build_wheel(tmp_path)
    python = student_path.student_environment(tmp_path, wheel)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "PYTHONNOUSERSITE": "1", "OMP_NUM_THREADS": "1",
           "STUDENT_PATH_CONNECTIONS": str(tmp_path / "connections.log")}
    script = ("import alexnet_lib, alexnet_lib.pretrained as p\n"
              "assert 'site-packages' in alexnet_lib.__file__, alexnet_lib.__file__\n"
              "net = p.book_network()\n"
              "photos = p.sample_photos()\n"
              "guesses = net.classify([f for f, _ in photos], k=1)\n"
              "print(sum(g[0][0] == name for g, (_, name) in zip(guesses, photos)))\n")
    out = subprocess.run([str(python), "-c", script], cwd=home, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout.strip().splitlines()[-1]) >= 6
    assert not (tmp_path / "connections.log").exists(), "the network was asked for"


# --- torchvision's ImageNet weights -------------------------------------------------------


def _fake_weights(tmp_path):
    path = tmp_path / "made.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No data folder, an empty cache and an empty hub cache."""
    monkeypatch.delenv("ALEXNET_DATA_DIR", raising=False)
    monkeypatch.setenv(datasets.CACHE_VAR, str(tmp_path / "cache"))
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

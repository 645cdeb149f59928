"""alexnet_lib.pretrained: the book's network as it ships, and as a student installs it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from alexnet_lib import data, datasets, pretrained
from alexnet_lib.config import Config
from alexnet_lib.models import AlexNet

ROOT = Path(__file__).resolve().parents[1]
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
    assert torch.allclose(a, b, atol=0.05 * a.abs().max().item())  # 8 bits: about 1% per layer
    assert not any(name.endswith(".int8") for name in net.state_dict())


def test_the_patch_is_the_recorded_run_s_test_patch(tmp_path):
    """What book_network's preprocessing gives a photograph equals what the training code's
    test path gives it: predecoded squares, the central patch, the same normalisation."""
    _, path = _small_network(tmp_path)
    net = pretrained.book_network(path)
    paths = [p for p, _ in pretrained.sample_photos()][:3]
    squares = torch.stack([data.v2.Compose(data.square_steps(net.scale))(data.read_image(p)) for p in paths])
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
    bad = tmp_path / "imagenette_alexnet_int8.npz"
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
    the checkout, no data folders, no network; the book's network classifies the sample photos."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(ROOT)], check=True, cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("alexnet_lib-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "src/alexnet_lib"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    missing = [f for f in tracked if f.removeprefix("src/") not in names and not f.endswith(".gitignore")]
    assert not missing, f"files of the library not in the wheel: {missing}"

    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    # the library from the wheel; its dependencies (torch, ...) from this environment's site-packages,
    # added as a path without running its .pth files (so the checkout's editable install stays out)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "PYTHONNOUSERSITE": "1",
           "OMP_NUM_THREADS": "1", "NO_PROXY": "*", "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
    script = ("import alexnet_lib, alexnet_lib.pretrained as p\n"
              "assert 'site-packages' in alexnet_lib.__file__, alexnet_lib.__file__\n"
              "net = p.book_network()\n"
              "photos = p.sample_photos()\n"
              "guesses = net.classify([f for f, _ in photos], k=1)\n"
              "print(sum(g[0][0] == name for g, (_, name) in zip(guesses, photos)))\n")
    out = subprocess.run([str(python), "-c", script], cwd=home, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout.strip().splitlines()[-1]) >= 6

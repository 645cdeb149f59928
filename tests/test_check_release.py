"""tools/check_release.py, offline, on this repository: its own version's tag agrees, another
tag does not; and on a small repository made here, where one notebook pins another version,
and with a wheel that lacks the shipped network."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "check_release.py"
sys.path.insert(0, str(ROOT / "tools"))
import check_release  # noqa: E402


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          check=False)


def version() -> str:
    version = check_release.package_version(ROOT)
    assert version, "src/alexnet_lib/version.py has no __version__"
    return version


def test_the_repository_agrees_with_its_own_version_tag():
    done = run(f"v{version()}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"check_release: v{version()}: version {version()}" in done.stdout
    assert "agree" in done.stdout


@pytest.mark.parametrize("tag", ["v0.0.1", "v99.0.0"])
def test_another_tag_is_refused(tag):
    done = run(tag)
    assert done.returncode == 1
    expected = f"MISMATCH  the tag {tag} is not v{version()}, the package's version (src/alexnet_lib/version.py)"
    assert expected in done.stdout
    # the chapters' install lines name the package's version, not the tag: each is named
    assert f"notebooks/01_convolution_by_hand.ipynb: installs v{version()}, not {tag}" in done.stdout
    assert f"colab/01_convolution_by_hand.ipynb: installs v{version()}, not {tag}" in done.stdout


def test_a_tag_without_v_is_refused():
    done = run(version())
    assert done.returncode == 1
    assert "is not a version tag" in done.stdout


def small_repo(root: Path, version: str, pins: dict[str, str]) -> Path:
    url = "https://github.com/example/book"
    (root / "src" / "alexnet_lib" / "weights").mkdir(parents=True)
    (root / "notebooks").mkdir()
    (root / "colab").mkdir()
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    (root / "_config.yml").write_text(f"title: x\nrepository:\n  url: {url}\n  branch: main\n")
    (root / "src" / "alexnet_lib" / "version.py").write_text(f'__version__ = "{version}"\n')
    (root / "src" / "alexnet_lib" / "weights" / "net.npz").write_bytes(b"the shipped network")
    for name, pin in pins.items():
        cell = [f'%pip install -q "alexnet-lib @ git+{url}@{pin}"\\n',
                f"[Colab](https://colab.research.google.com/github/example/book/blob/{pin}/colab/{name})"]
        for folder in ("notebooks", "colab"):
            (root / folder / name).write_text(json.dumps({"cells": [{"source": cell}]}))
    return root


def test_a_notebook_that_pins_another_version_is_named(tmp_path):
    root = small_repo(tmp_path, "1.2.0", {"01_a.ipynb": "v1.2.0", "02_b.ipynb": "v1.1.0"})
    problems, _ = check_release.check("v1.2.0", root)
    assert problems == ["notebooks/02_b.ipynb: installs v1.1.0, not v1.2.0",
                        "notebooks/02_b.ipynb: a Colab link opens v1.1.0, not v1.2.0",
                        "colab/02_b.ipynb: installs v1.1.0, not v1.2.0",
                        "colab/02_b.ipynb: a Colab link opens v1.1.0, not v1.2.0"]
    (root / "notebooks" / "02_b.ipynb").write_text(json.dumps({"cells": []}))
    problems, _ = check_release.check("v1.2.0", root)
    missing = "notebooks/02_b.ipynb: no install line (alexnet-lib @ git+https://github.com/example/book@v1.2.0)"
    assert missing in problems


def make_wheel(path: Path, version: str, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as wheel:
        metadata = f"Metadata-Version: 2.4\nName: alexnet-lib\nVersion: {version}\n"
        wheel.writestr(f"alexnet_lib-{version}.dist-info/METADATA", metadata)
        for name, data in files.items():
            wheel.writestr(name, data)
    return path


def test_the_wheel_carries_the_version_and_the_package_data(tmp_path):
    root = small_repo(tmp_path / "repo", "1.2.0", {"01_a.ipynb": "v1.2.0"})
    good = make_wheel(tmp_path / "alexnet_lib-1.2.0-py3-none-any.whl", "1.2.0",
                      {"alexnet_lib/weights/net.npz": b"the shipped network"})
    assert check_release.main(["v1.2.0", "--root", str(root), "--wheel", str(good)]) == 0

    bare = make_wheel(tmp_path / "bare" / "alexnet_lib-1.2.0-py3-none-any.whl", "1.2.0", {})
    problems, _ = check_release.check("v1.2.0", root, [bare])
    assert problems == ["alexnet_lib-1.2.0-py3-none-any.whl: alexnet_lib/weights/net.npz is missing"]

    other = make_wheel(tmp_path / "alexnet_lib-1.1.0-py3-none-any.whl", "1.1.0",
                       {"alexnet_lib/weights/net.npz": b"another network"})
    problems, _ = check_release.check("v1.2.0", root, [other])
    assert problems == ["alexnet_lib-1.1.0-py3-none-any.whl: not the wheel of alexnet_lib 1.2.0",
                        "alexnet_lib-1.1.0-py3-none-any.whl: METADATA says version 1.1.0, not 1.2.0",
                        "alexnet_lib-1.1.0-py3-none-any.whl: alexnet_lib/weights/net.npz differs from the repository's"]


def test_pyproject_must_read_the_version_from_version_py(tmp_path):
    root = small_repo(tmp_path, "1.2.0", {"01_a.ipynb": "v1.2.0"})
    text = (root / "pyproject.toml").read_text().replace('dynamic = ["version"]', 'version = "1.0.0"')
    (root / "pyproject.toml").write_text(text)
    problems, _ = check_release.check("v1.2.0", root)
    assert problems == ["pyproject.toml: version 1.0.0, not 1.2.0"]

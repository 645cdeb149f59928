"""Colab: installing the book's library leaves Colab's preinstalled packages as they are.

``tools/colab-constraints.txt`` holds Colab's versions (from Google's published list, with
its date). The notebooks' first cell installs the library in Colab with pip; if one of its
requirements asked for another version of a package Colab already has (ipywidgets 8 where
Colab has 7.7, say), pip would replace it and Colab's own widgets could break.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "tools" / "colab-constraints.txt"


def colab_pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def requirements() -> list[str]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def test_the_constraints_say_where_and_when_they_come_from():
    header = CONSTRAINTS.read_text().split("\n\n")[0]
    assert "googlecolab/backend-info" in header and re.search(r"20\d\d-\d\d-\d\d", header)


def test_every_requirement_is_met_by_colab_s_version():
    pins = colab_pins()
    for line in requirements():
        requirement = Requirement(line)
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not in Colab's list (tools/colab-constraints.txt): would be installed new"
        assert Version(pins[name]) in requirement.specifier, \
            f"{line}: Colab has {name} {pins[name]}, which pip would replace"


@pytest.mark.parametrize("python", ["3.13", "3.12"])
def test_pip_resolves_the_install_against_colab_without_changing_it(tmp_path, python):
    """``pip install --dry-run`` of the requirements for Colab's Python (3.13 since 2026-08-19; 3.12
    before) and platform, pinned to Colab's versions: the resolution must succeed and pick exactly
    the pinned versions."""
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed",
               "--target", str(tmp_path / "target"), "--python-version", python, "--implementation", "cp",
               "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
               "--platform", "manylinux_2_17_x86_64", "--disable-pip-version-check", "--quiet",
               "-c", str(CONSTRAINTS), "--report", str(report), *requirements()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode and re.search(r"(?i)connection|network is unreachable|temporary failure|timed out|"
                                       r"Max retries", result.stderr):
        pytest.skip(f"PyPI cannot be reached from here: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stderr[-2000:]
    installed = {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
                 for item in json.loads(report.read_text())["install"]}
    pins = colab_pins()
    changed = {name: (version, pins.get(name)) for name, version in installed.items()
               if pins.get(name) is None or Version(version).base_version != Version(pins[name]).base_version}
    assert not changed, f"the install would change Colab's packages (new version, Colab's): {changed}"

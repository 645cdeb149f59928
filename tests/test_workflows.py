"""The workflows' caches stay keyed on files that exist and cache what the build downloads:
a renamed file would make hashFiles() hash nothing, or a cached path name nothing, and the
cache would silently stop working (actionlint checks the workflows' syntax, not this)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(name: str) -> list[dict]:
    return [step for job in workflow(name)["jobs"].values() for step in job.get("steps", [])]


def cache_steps(name: str) -> list[dict]:
    return [s["with"] for s in steps(name) if s.get("uses", "").startswith("actions/cache@")]


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_hashfiles_names_files_that_exist(path):
    for args in re.findall(r"hashFiles\(([^)]*)\)", path.read_text()):
        for pattern in re.findall(r"'([^']+)'", args):
            assert list(ROOT.glob(pattern)), f"{path.name}: hashFiles('{pattern}') matches no file"


def test_one_python_environment_serves_every_workflow():
    keys = {name: [c["key"] for c in cache_steps(name) if c["path"] == ".venv"]
            for name in ("book.yml", "test.yml", "links.yml")}
    assert all(len(k) == 1 for k in keys.values()), keys
    assert len({k[0] for k in keys.values()}) == 1, f"the environment's cache keys differ: {keys}"
    key = keys["book.yml"][0]
    assert "pyproject.toml" in key and "steps.python.outputs.python-version" in key
    assert not [c for c in cache_steps("weekly.yml")], "weekly.yml installs afresh: no cache"


def test_book_caches_what_it_downloads():
    datasets = (ROOT / "src" / "alexnet_lib" / "datasets" / "imagenette.py").read_text()
    pretrained = (ROOT / "src" / "alexnet_lib" / "pretrained.py").read_text()
    imagenette = re.search(r'"320": \("https://[^"]+/([\w-]+)\.tgz"', datasets).group(1)
    weights = re.search(r'TORCHVISION_FILE = "([^"]+)"', pretrained).group(1)
    (data,) = [c for c in cache_steps("book.yml") if "data/" in c["path"]]
    assert set(data["path"].split()) == {"data/cifar-10-batches-py", f"data/{imagenette}", f"data/weights/{weights}"}
    assert "hashFiles('data/SHA256SUMS')" in data["key"]
    (assets,) = [c for c in cache_steps("book.yml") if c["path"] == ".cache/npm"]
    for extension in ("book/_ext/offline_assets.py", "book/_ext/try_it.py"):
        assert extension in assets["key"]
        assert ".cache\" / \"npm\"" in (ROOT / extension).read_text()
    download = next(s["run"] for s in steps("book.yml") if "find_torchvision_weights" in s.get("run", ""))
    assert "load_cifar10" in download and "load_imagenette('320')" in download


def test_release_checks_the_tag_and_the_links():
    release = workflow("release.yml")
    assert release[True]["push"]["tags"] == ["v*"]  # YAML reads the key "on" as True
    runs = " ".join(s.get("run", "") for s in steps("release.yml"))
    assert 'tools/check_release.py "$GITHUB_REF_NAME"' in runs and "--wheel dist/*.whl" in runs
    assert "gh release" in runs
    assert release["jobs"]["links"]["uses"] == "./.github/workflows/links.yml"
    links = workflow("links.yml")
    assert {"schedule", "workflow_call"} <= set(links[True])
    assert any("check-links" in s.get("run", "") for s in steps("links.yml"))

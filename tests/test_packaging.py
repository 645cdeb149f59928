"""The repository keeps its promises: packaging in sync, notebooks clean and complete."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CONDA_TO_PIP = {"pytorch": "torch"}
NOT_PACKAGES = {"python", "pip"}

sys.path.insert(0, str(ROOT / "tools"))
import nbstrip  # noqa: E402


def _split(requirement: str) -> tuple[str, str]:
    """'jupyter-book>=1.0.4,<2' -> ('jupyter-book', '<2,>=1.0.4'), names and ranges normalised."""
    match = re.match(r"\s*([A-Za-z0-9._-]+)\s*(.*)$", requirement)
    assert match, requirement
    name = match.group(1).lower().replace("_", "-")
    spec = ",".join(sorted(part.strip() for part in match.group(2).replace(" ", "").split(",") if part.strip()))
    return CONDA_TO_PIP.get(name, name), spec


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = _pyproject()["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            listed += [d for d in dep["pip"] if not d.startswith("-")]
        else:
            listed.append(dep)
    pip_side = dict(_split(r) for r in wanted)
    conda_side = {name: spec for name, spec in map(_split, listed) if name not in NOT_PACKAGES}
    assert conda_side == pip_side, (
        "environment.yml and pyproject.toml disagree:\n"
        f"  only in pyproject.toml: {sorted(set(pip_side.items()) - set(conda_side.items()))}\n"
        f"  only in environment.yml: {sorted(set(conda_side.items()) - set(pip_side.items()))}"
    )


def test_dependencies_are_ranges_not_pins():
    project = _pyproject()["project"]
    everything = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    pinned = [r for r in everything if "==" in r]
    assert not pinned, f"pin-free ranges only (Colab's versions must satisfy them): {pinned}"


def _repo_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")


def test_one_repository_url_everywhere():
    url = _repo_url()
    slug = url.removeprefix("https://github.com/")
    sys.path.insert(0, str(ROOT / "src"))
    from alexnet_lib.version import __version__

    # the Colab edition of the released version: the same tag as the install line
    colab = f"https://colab.research.google.com/github/{slug}/blob/v{__version__}/colab/"
    readme = (ROOT / "README.md").read_text()
    for found in re.findall(r"https://colab\.research\.google\.com/github/[^\s)]+", readme):
        assert found.startswith(colab), f"README Colab link {found} does not open v{__version__} ({url})"
    assert _pyproject()["project"]["urls"]["Homepage"] == url
    assert url in (ROOT / "book" / "setup.md").read_text()

    for nb in NOTEBOOKS:
        text = nb.read_text()
        assert f"git+{url}@v{__version__}" in text, \
            f"{nb.name}: the Colab install cell must install the released v{__version__} from {url}"
        assert colab + nb.name in text, f"{nb.name}: its Colab link must be {colab + nb.name}"
        assert colab + nb.name in readme, f"README: no Colab link for {nb.name}"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    first_section = readme.split("\n## ")[1]
    assert first_section.startswith("The two commands") and "make book" in first_section and "make test" in first_section


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_clean(nb):
    problems = nbstrip.problems(nbformat.read(nb, as_version=4))
    assert not problems, f"{nb.name}: {problems}; run `python tools/nbstrip.py --execute {nb}`"


def test_notebooks_are_numbered_and_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    numbers = []
    for nb in NOTEBOOKS:
        match = re.fullmatch(r"(\d\d)_[a-z0-9_]+\.ipynb", nb.name)
        assert match, f"{nb.name}: notebooks are named NN_name.ipynb"
        numbers.append(int(match.group(1)))
        assert f"notebooks/{nb.stem}" in toc, f"{nb.name} is not in _toc.yml"
    assert numbers == list(range(1, len(numbers) + 1)), "chapters are numbered 01, 02, ... without gaps"
    for listed in re.findall(r"notebooks/(\S+)", toc):
        assert (ROOT / "notebooks" / f"{listed}.ipynb").exists(), f"_toc.yml lists missing notebook {listed}"


def _cells(nb: Path) -> list[dict]:
    return json.loads(nb.read_text())["cells"]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_standard(nb):
    """What every chapter has: setup first, objectives, exercises with solutions, citations."""
    cells = _cells(nb)
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "google.colab" in code[0] and "%pip install" in code[0], "first code cell installs the library in Colab"
    assert "alexnet_lib.setup()" in code[0], "first code cell calls alexnet_lib.setup()"
    assert "What you will learn" in text
    exercises = re.findall(r"\{exercise\}\n:label: (\S+)", text)
    solutions = re.findall(r"\{solution(?:-start)?\} (\S+)", text)
    assert len(exercises) >= 4, "at least four exercises"
    assert sorted(exercises) == sorted(solutions), "every exercise has a solution"
    assert "{cite}" in text or "{cite:t}" in text, "the chapter cites its sources"
    assert text.count("{solution-start}") == text.count("{solution-end}")



def test_every_self_check_is_used_by_an_exercise():
    from alexnet_lib import checks

    text = "\n".join("".join(c["source"]) for nb in NOTEBOOKS for c in _cells(nb))
    for name in (n for n in checks.__all__ if n.startswith("check_")):
        assert f"{name}(" in text, f"{name} is not used by any chapter"
    guide = (ROOT / "book" / "instructor_guide.md").read_text()
    for name in (n for n in checks.__all__ if n.startswith("check_")):
        assert f"`{name}`" in guide, f"the instructor guide does not list {name}"


def test_every_chapter_has_measured_budgets():
    """book/compute_budget.json (make measure) covers every chapter in the smoke and cpu profiles."""
    budget = json.loads((ROOT / "book" / "compute_budget.json").read_text())
    for profile in ("smoke", "cpu"):
        runs = budget["profiles"][profile]
        for nb in NOTEBOOKS:
            assert nb.stem in runs, f"{nb.stem} has no {profile} measurement: run `make measure`"
            assert runs[nb.stem]["seconds"] > 0 and runs[nb.stem]["peak_mib"] > 0
        assert budget["machines"][profile]["processor"]


def test_make_book_fails_when_a_chapter_did_not_run_to_its_end(tmp_path):
    import subprocess

    script = ROOT / "tools" / "check_execution.sh"
    assert "tools/check_execution.sh _build/html" in (ROOT / "Makefile").read_text()
    ok = subprocess.run(["bash", str(script), str(tmp_path)], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout == ""
    report = tmp_path / "reports" / "notebooks" / "03_building_blocks.err.log"
    report.parent.mkdir(parents=True)
    report.write_text("Traceback ...\nnbclient.exceptions.CellTimeoutError: A cell timed out\n")
    failed = subprocess.run(["bash", str(script), str(tmp_path)], capture_output=True, text=True)
    assert failed.returncode == 1
    assert "03_building_blocks.err.log" in failed.stdout and "CellTimeoutError" in failed.stdout


def test_pages_name_the_released_version_and_the_repository():
    """Install lines in the book and the README follow version.py and _config.yml."""
    sys.path.insert(0, str(ROOT / "src"))
    from alexnet_lib.version import __version__

    url = _repo_url()
    for page in [ROOT / "README.md", *sorted((ROOT / "book").glob("*.md"))]:
        text = page.read_text()
        for found in re.findall(r"git\+(https://github\.com/[\w.-]+/[\w.-]+?)(?:\.git)?@v([\d.]+\d)", text):
            assert found == (url, __version__), f"{page.name}: installs {found}, not {url}@v{__version__}"

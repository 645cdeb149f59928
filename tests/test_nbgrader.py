"""The nbgrader course (tools/nbgrader_course.py): no solution leaks, self-checks autograded,
and a round trip through nbgrader itself on one chapter."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import nbgrader_course  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
GATED = re.compile(r"^(`{3,})\{solution-(start|end)\}[^\n]*\n.*?^\1[ \t]*$\n?", re.M | re.S)
PROSE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{solution\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)


def solution_lines(nb: nbformat.NotebookNode) -> set[str]:
    """Lines (stripped, over 25 characters) found only in the chapter's solutions."""
    hidden: list[str] = []
    public: list[str] = []
    inside = False
    for cell in nb.cells:
        if cell.cell_type == "code":
            (hidden if inside else public).extend(cell.source.splitlines())
            continue
        pieces = GATED.split(cell.source)  # text, fence, start|end, text, ...
        for i in range(0, len(pieces), 3):
            text = pieces[i]
            if inside:
                hidden.extend(text.splitlines())
            else:
                hidden.extend(line for block in PROSE.finditer(text) for line in block.group("body").splitlines())
                public.extend(PROSE.sub("", text).splitlines())
            if i + 1 < len(pieces):
                inside = pieces[i + 2] == "start"
    keep = {line.strip() for line in public if len(line.strip()) > 25}
    return {line.strip() for line in hidden if len(line.strip()) > 25} - keep


def released_text(nb: nbformat.NotebookNode) -> str:
    """What students receive: nbgrader clears solution cells (code between the markers)."""
    parts = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "markdown":
            continue
        if meta.get("solution"):
            parts.append(re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", cell.source, flags=re.S))
        else:
            parts.append(cell.source)
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_solution_is_an_nbgrader_solution(path):
    source = nbgrader_course.source_notebook(path)
    nbformat.validate(source)
    secrets = solution_lines(nbformat.read(path, as_version=4))
    assert secrets, "the chapter has solutions"
    text = released_text(source)
    public_checks = re.compile(r"^(from alexnet_lib\.checks import .*|(\w+\.)*check_\w+\(.*\))$")
    leaked = sorted(line for line in secrets if line in text and not public_checks.match(line))
    assert not leaked, f"solution lines students would see: {leaked[:3]}"

    meta = [c.metadata["nbgrader"] for c in source.cells if "nbgrader" in c.metadata]
    ids = [m["grade_id"] for m in meta]
    assert len(ids) == len(set(ids)), "grade ids are unique"
    checks = {m.group(1) for m in re.finditer(r"\b(check_\w+)\(", "\n".join(c.source for c in nbformat.read(path, as_version=4).cells))}
    tests = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    assert {m for c in tests for m in re.findall(r"^(check_\w+)\(", c.source, re.M)} == checks, \
        "each self-check of the chapter is an autograded test cell"
    assert all(c.metadata["nbgrader"]["locked"] and c.metadata["nbgrader"]["points"] == 1 for c in tests)


def _run(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "ALEXNET_PROFILE": "smoke", "TQDM_DISABLE": "1"}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.mark.skipif(shutil.which("nbgrader", path=str(Path(sys.executable).parent)) is None,
                    reason="nbgrader is installed with the test extra (pip install -e .[test])")
def test_generate_and_autograde_one_chapter(tmp_path):
    """A right answer gets every autograded point, a wrong one does not (Chapter 1)."""
    name = "01_convolution_by_hand"
    nbgrader_course.write_course(tmp_path, [ROOT / "notebooks" / f"{name}.ipynb"])
    _run(["generate_assignment", name, "--force"], tmp_path)
    release = json.loads((tmp_path / "release" / name / f"{name}.ipynb").read_text())
    source = json.loads((tmp_path / "source" / name / f"{name}.ipynb").read_text())
    assert "BEGIN SOLUTION" not in json.dumps(release) and "raise NotImplementedError()" in json.dumps(release)

    answers = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in source["cells"]
               if c["metadata"].get("nbgrader", {}).get("solution") and c["cell_type"] == "code"}

    def submit(student: str, wrong: bool) -> None:
        nb = json.loads(json.dumps(release))
        for cell in nb["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                code = re.sub(r"### (BEGIN|END) SOLUTION\n?", "", answers[grade_id])
                if wrong and grade_id == "ch1-output-size":  # forgets the + 1
                    code = code.replace("// stride + 1", "// stride")
                cell["source"] = code
        folder = tmp_path / "submitted" / student / name
        folder.mkdir(parents=True)
        (folder / f"{name}.ipynb").write_text(json.dumps(nb))

    submit("right", wrong=False)
    submit("wrong", wrong=True)
    _run(["autograde", name, "--force"], tmp_path)

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        def autograded(student: str) -> tuple[float, float]:
            notebook = gradebook.find_submission_notebook(name, name, student)
            grades = [g for g in notebook.grades if g.name.endswith("-check")]
            assert len(grades) == 2, [g.name for g in notebook.grades]
            return sum(g.auto_score for g in grades), sum(g.max_score for g in grades)

        score, best = autograded("right")
        assert score == best == 2
        score, best = autograded("wrong")
        assert score == 1 < best, "the wrong output size loses its point, the right correlation keeps its"

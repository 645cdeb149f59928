"""The nbgrader course (tools/nbgrader_course.py): no solution or hidden test leaks, self-checks
and hidden tests autograded, and a round trip through nbgrader itself on all ten chapters."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import autograder_tests  # noqa: E402
import nbgrader_course  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
GATED = re.compile(r"^(`{3,})\{solution-(start|end)\}[^\n]*\n.*?^\1[ \t]*$\n?", re.M | re.S)
PROSE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{solution\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.S)
NBGRADER = shutil.which("nbgrader", path=str(Path(sys.executable).parent))


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


def hidden_test_lines(source: nbformat.NotebookNode) -> set[str]:
    """Lines (stripped, over 25 characters) of the hidden tests in a source notebook."""
    return {line.strip() for cell in source.cells for block in HIDDEN.findall(cell.source)
            for line in block.splitlines()[1:-1] if len(line.strip()) > 25}


def released_text(nb: nbformat.NotebookNode) -> str:
    """What students receive: nbgrader clears solution cells (code between the markers) and
    removes hidden tests (code between their markers)."""
    parts = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "markdown":
            continue
        source = HIDDEN.sub("", cell.source) if meta.get("grade") else cell.source
        if meta.get("solution"):
            source = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", source, flags=re.S)
        parts.append(source)
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
    hidden = hidden_test_lines(source)
    assert hidden, "the chapter has hidden tests"
    leaked = sorted(line for line in hidden if line in text)
    assert not leaked, f"hidden test lines students would see: {leaked[:3]}"

    meta = [c.metadata["nbgrader"] for c in source.cells if "nbgrader" in c.metadata]
    ids = [m["grade_id"] for m in meta]
    assert len(ids) == len(set(ids)), "grade ids are unique"
    checks = {m.group(1) for m in re.finditer(r"\b(check_\w+)\(", "\n".join(c.source for c in nbformat.read(path, as_version=4).cells))}
    tests = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    assert {m for c in tests for m in re.findall(r"^(check_\w+)\(", c.source, re.M)} == checks, \
        "each self-check of the chapter is an autograded test cell"
    assert all(c.metadata["nbgrader"]["locked"] and c.metadata["nbgrader"]["points"] >= 1 for c in tests)
    for cell in tests:  # a test cell holds a self-check or hidden tests, never both or neither
        assert ("### BEGIN HIDDEN TESTS" in cell.source) != cell.metadata["nbgrader"]["grade_id"].endswith("-check")


def test_every_exercise_is_graded_somehow():
    """Each exercise is autograded, graded by hand, or both; hidden tests and wrong answers fit
    the solutions they are written for; two thirds of the points are autograded."""
    labels, auto, total = set(), 0, 0
    for path in NOTEBOOKS:
        source = nbgrader_course.source_notebook(path)  # raises for an exercise not in autograder_tests
        scored = nbgrader_course.points(source)
        assert any(p["auto"] for p in scored.values()), f"{path.name} has an autograded exercise"
        auto += sum(p["auto"] for p in scored.values())
        total += sum(p["auto"] + p["hand"] for p in scored.values())
        solutions: dict[str, str] = {}
        for c in source.cells:
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code":
                label = nbgrader_course.exercise_of(c.metadata["nbgrader"]["grade_id"])
                solutions[label] = solutions.get(label, "") + c.source
        for label, spec in autograder_tests.AUTOGRADED.items():
            if label in solutions:
                labels.add(label)
                for old, _ in spec.wrong:
                    assert old in solutions[label], f"{label}: the wrong answer's {old!r} is not in the solution"
    assert labels == set(autograder_tests.AUTOGRADED), "every entry of AUTOGRADED is an exercise with a solution"
    assert 3 * auto >= 2 * total, f"{auto} of {total} points autograded"


def test_instructor_guide_has_the_grading_table():
    guide = (ROOT / "book" / "instructor_guide.md").read_text()
    assert nbgrader_course.grading_table(NOTEBOOKS) in guide, \
        "the guide's table is out of date: paste `python tools/nbgrader_course.py --table`"
    scored = [p for path in NOTEBOOKS for p in nbgrader_course.points(nbgrader_course.source_notebook(path)).values()]
    auto, hand = sum(p["auto"] for p in scored), sum(p["hand"] for p in scored)
    assert f"{auto} of the course's {auto + hand} points" in " ".join(guide.split()), "the guide's count of points"


# --- the round trip through nbgrader --------------------------------------------------------


def _nbgrader(args: list[str], cwd: Path) -> subprocess.Popen:
    """Start ``nbgrader args`` in the course ``cwd``, the chapters in the smoke profile with the
    course's own cache of trained runs (the two courses are graded at once, and the book's build
    runs beside them: one run folder written by two chapters at once stops the second); its
    output goes to ``cwd/nbgrader.log``."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "ALEXNET_PROFILE": "smoke", "TQDM_DISABLE": "1", "ALEXNET_CACHE_DIR": str(cwd / "cache")}
    with open(cwd / "nbgrader.log", "a") as log:
        return subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def _finish(run: subprocess.Popen, cwd: Path) -> None:
    assert run.wait(timeout=1700) == 0, (cwd / "nbgrader.log").read_text()[-6000:]


def _submit(course: Path, name: str, student: str, answers: dict[str, str]) -> None:
    """The released chapter with ``answers`` (grade id -> code) in its solution cells."""
    nb = json.loads((course / "release" / name / f"{name}.ipynb").read_text())
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    folder = course / "submitted" / student / name
    folder.mkdir(parents=True)
    (folder / f"{name}.ipynb").write_text(json.dumps(nb))


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, object]:
    """One course of all ten chapters, released, answered right and wrong, and autograded.

    The two students are graded side by side, each in a copy of the released course with its
    own gradebook (two processes on one SQLite gradebook could find it locked)."""
    if NBGRADER is None:
        pytest.skip("nbgrader is installed with the test extra (pip install -e .[test])")
    course = tmp_path_factory.mktemp("course")
    start = time.perf_counter()
    nbgrader_course.write_course(course, NOTEBOOKS)
    _finish(_nbgrader(["generate_assignment", "*", "--force"], course), course)
    courses = {"right": course, "wrong": course.with_name(f"{course.name}-wrong")}
    shutil.copytree(course, courses["wrong"])
    for path in NOTEBOOKS:
        source = nbformat.read(course / "source" / path.stem / path.name, as_version=4)
        right = {c.metadata["nbgrader"]["grade_id"]: re.sub(r"### (BEGIN|END) SOLUTION\n?", "", c.source)
                 for c in source.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
        wrong = dict(right)
        for grade_id in wrong:
            spec = autograder_tests.AUTOGRADED.get(nbgrader_course.exercise_of(grade_id))
            for old, new in spec.wrong if spec is not None else ():
                wrong[grade_id] = wrong[grade_id].replace(old, new)
        _submit(courses["right"], path.stem, "right", right)
        _submit(courses["wrong"], path.stem, "wrong", wrong)
    runs = {c: _nbgrader(["autograde", "*", "--force"], c) for c in courses.values()}
    for folder, run in runs.items():
        _finish(run, folder)

    from nbgrader.api import Gradebook

    scores: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    for student, folder in courses.items():
        with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
            for path in NOTEBOOKS:
                notebook = gradebook.find_submission_notebook(path.stem, path.stem, student)
                scores[path.stem, student] = {g.name: (g.auto_score, g.max_score) for g in notebook.grades
                                              if g.cell.cell_type == "code"}
    print(f"\nnbgrader round trip of {len(NOTEBOOKS)} chapters: {time.perf_counter() - start:.0f} s")
    return {"courses": courses, "scores": scores}


ROUND_TRIP = pytest.mark.timeout(1800)  # ten chapters executed twice; slower on a busy machine


@ROUND_TRIP
def test_released_chapters_hold_no_solutions_or_hidden_tests(graded):
    course = graded["courses"]["right"]
    for path in NOTEBOOKS:
        text = (course / "release" / path.stem / path.name).read_text()
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "raise NotImplementedError()" in text
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # MissingIDFieldWarning and friends
            released = nbformat.reads(text, as_version=4)
            nbformat.validate(released)
        assert all(cell.get("id") for cell in released.cells), f"{path.stem}: every cell has an id"
        source = nbformat.read(course / "source" / path.stem / path.name, as_version=4)
        released_code = "\n".join(c.source for c in released.cells)
        leaked = sorted(line for line in hidden_test_lines(source) if line in released_code)
        assert not leaked, f"{path.stem}: hidden test lines in the release: {leaked[:3]}"


@ROUND_TRIP
def test_right_answers_get_every_autograded_point(graded):
    course = graded["courses"]["right"]
    for path in NOTEBOOKS:
        scores = graded["scores"][path.stem, "right"]
        assert scores, f"{path.stem} has autograded cells"
        missed = {name: score for name, score in scores.items() if score[0] != score[1]}
        assert not missed, f"{path.stem}: the reference solution loses points in {missed}"
        graded_nb = json.loads((course / "autograded" / "right" / path.stem / path.name).read_text())
        errors = [(i, o.get("ename"), o.get("evalue", "")[:200]) for i, c in enumerate(graded_nb["cells"])
                  for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{path.stem}: cells of the reference solution raise: {errors[:3]}"


@ROUND_TRIP
def test_each_wrong_answer_loses_its_exercise_points_and_no_other(graded):
    """Each autograded exercise answered wrong (one plausible mistake each) loses the points of
    its cells, except those its mistake passes (``keeps``); each lost point is an assertion
    of that exercise's own tests, not an error carried over from another exercise."""
    course = graded["courses"]["wrong"]
    for path in NOTEBOOKS:
        scores = graded["scores"][path.stem, "wrong"]
        expected = {}
        for name, (_, best) in scores.items():
            found = nbgrader_course.GRADE_ID.match(name)
            keeps = autograder_tests.AUTOGRADED[found.group("label")].keeps
            expected[name] = best if found.group("kind") in keeps else 0
        got = {name: score for name, (score, _) in scores.items()}
        assert got == expected, f"{path.stem}: {sorted(n for n in got if got[n] != expected[n])} scored otherwise"
        graded_nb = json.loads((course / "autograded" / "wrong" / path.stem / path.name).read_text())
        for cell in graded_nb["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if meta.get("grade") and cell["cell_type"] == "code" and not expected[meta["grade_id"]]:
                names = [o.get("ename") for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                assert names and names[0] in ("AssertionError", "CheckFailed"), \
                    f"{path.stem}, {meta['grade_id']}: failed with {names or 'no error'}, not an assertion"

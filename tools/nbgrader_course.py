"""Write an nbgrader course from the chapters: each chapter an assignment, its exercises autograded
(self-checks and hidden tests) where code can check them.

    python tools/nbgrader_course.py [--course nbgrader] [notebooks/01_convolution_by_hand.ipynb ...]
    cd nbgrader
    nbgrader generate_assignment 01_convolution_by_hand    # release/: the students' version
    nbgrader autograde 01_convolution_by_hand              # grades submitted/<student>/...

Each chapter becomes the assignment ``source/<chapter>/<chapter>.ipynb``, written in the
Colab edition's plain Markdown (``tools/colab.py``), with nbgrader's cell metadata:

- the code of an exercise's solution becomes one *solution cell*, the instructor's code
  between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (the released version holds
  ``raise NotImplementedError()`` there);
- a self-check the solution runs (a function of ``alexnet_lib.checks``, such as
  ``check_correlate2d(my_correlate2d)``) becomes a locked, *autograded test cell* worth
  one point, after the solution cell;
- the prose of a solution becomes a *manually graded answer* worth one point: students
  see "YOUR ANSWER HERE", the instructor's text stays in the source as the reference;
- the hidden tests of ``tools/autograder_tests.py`` (instructor-only) become locked
  *autograded test cells* after the solution, their code between ``### BEGIN HIDDEN
  TESTS`` and ``### END HIDDEN TESTS``: ``generate_assignment`` removes it from the
  release, ``autograde`` runs it. Where an exercise's text does not name what they read,
  a line tells the students which names to define, above the solution cell or above a
  solution cell of its own for them (which runs even where the self-check stopped the
  first); where the exercise asks only for what they check, the prose of the solution
  stays in the source as a comment of the solution cell instead of becoming a hand-graded
  answer.

The course folder gets an ``nbgrader_config.py`` (course id, a generous cell timeout for
the chapters that train, kernels reached through files rather than TCP ports on Linux and
macOS). ``tests/test_nbgrader.py`` runs ``generate_assignment`` and ``autograde`` on every
chapter and checks the marks of right and wrong answers, cell by
cell. ``--table`` prints the instructor guide's table of what is graded how.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import autograder_tests  # noqa: E402
import colab  # noqa: E402

ROOT = colab.ROOT
CHECK_CALL = re.compile(r"^(?:\w+\.)*(?P<name>check_\w+)\(.*\)\s*$", re.M)
# A graded cell's grade id: its exercise's label and what the cell is.
GRADE_ID = re.compile(r"^(?P<label>.+?)-(?P<kind>check|answer|hidden(?:-\w+)?)$")
CONFIG = '''\
# nbgrader's configuration for the AlexNet book's chapters (written by tools/nbgrader_course.py).
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "alexnet-book"
# The chapters that train take minutes in a cell on a CPU; the default limit is 30 seconds.
c.ExecutePreprocessor.timeout = 1800
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# Kernels talk to nbgrader over files of their own, not TCP ports: a port that another
# process takes between being chosen and being bound stops a kernel from starting ("Address
# already in use"), which happens when several graders or builds run at once.
import atexit, os, shutil, tempfile  # noqa: E401, E402
if os.name == "posix":
    _folder = tempfile.mkdtemp(prefix="nbgrader-kernels-")  # short: a socket's path has a limit
    atexit.register(shutil.rmtree, _folder, True)
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = os.path.join(_folder, "kernel")
'''
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
NAMES = "-names"  # the grade id suffix of a solution cell for the names the hidden tests read


def _nbgrader(grade_id: str, *, solution: bool, grade: bool, locked: bool, points: int = 0) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


class GraderConverter(colab.Converter):
    """The Colab edition's conversion, with solutions as nbgrader's cells instead of folded."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.label: str | None = None
        self.solution_code: list[str] = []
        self.solution_prose: list[str] = []
        self.answers: dict[str, str] = {}  # prose {solution} blocks by exercise label

    def start_solution(self, label: str) -> None:
        self.label, self.solution_code, self.solution_prose = label, [], []

    def end_solution(self) -> None:
        self.emit(self.label, "\n\n".join(self.solution_code), "\n\n".join(self.solution_prose))
        self.label = None

    def add_code(self, cell: nbformat.NotebookNode, inside: str | None) -> None:
        if inside is None:
            self.cells.append(self.code(cell, None))
        else:
            self.solution_code.append(cell.source.strip())

    def prose(self, text: str, inside: str | None) -> None:
        text = self.markdown(text)
        # A prose {solution} block left a marker where it stood (see directive()).
        parts = re.split(r"\x00ANSWER ([\w-]+) \x00", text)
        for i, part in enumerate(parts):
            if i % 2 == 1:
                self.emit(part, "", self.answers.pop(part))
                continue
            part = part.strip()
            if not part:
                continue
            if inside is not None:
                self.solution_prose.append(part)
            else:
                self.cells.append(nbformat.v4.new_markdown_cell(part))

    def directive(self, block: re.Match[str]) -> str:
        if block.group("name") != "solution":
            return super().directive(block)
        label = block.group("arg").split()[0]
        _, body = colab._split_options(block.group("body"))
        self.answers[label] = self.markdown(body).strip()
        return f"\n\x00ANSWER {label} \x00\n"

    def emit(self, label: str, code: str, prose: str) -> None:
        """The cells of one exercise's solution: the book's solution code and its self-check; the
        names the hidden tests read, where the exercise asks for them; the hidden tests; the
        written answer."""
        exercise = self.labels[label]
        auto = autograder_tests.AUTOGRADED.get(label)
        if auto is None and label not in autograder_tests.BY_HAND:
            raise ValueError(f"{self.name}: exercise {label} is in neither AUTOGRADED nor BY_HAND of "
                             "tools/autograder_tests.py: say how it is graded")
        answer = auto.answer if auto is not None else ""
        if auto is not None:
            if not code and not answer:
                raise ValueError(f"{self.name}: the hidden tests of {label} need solution code or an answer")
            if auto.prose and not prose:
                raise ValueError(f"{self.name}: {label} has no written solution to grade by hand (prose=False)")
            if not auto.prose and prose:  # the grader's reference, inside the solution markers
                note = "\n".join(f"# {line}".rstrip() for line in prose.splitlines())
                note = f"# The book's written solution (the grader's reference, not graded by hand):\n{note}"
                answer, code = (f"{answer}\n\n{note}", code) if answer else (answer, f"{code}\n\n{note}")
                prose = ""
        ask = ""
        if auto is not None and auto.ask:
            points = sum(t.points for t in auto.tests)
            ask = f"**Autograded** (hidden tests, {points} point{'s' if points > 1 else ''}): {auto.ask}"
        if code:
            if ask and not answer:  # the book's solution defines what the tests read
                self.cells.append(nbformat.v4.new_markdown_cell(ask))
            self.cells.append(_solution_cell(label, code))
            checks = [m.group(0).strip() for m in CHECK_CALL.finditer(code)]
            if checks:
                names = sorted({CHECK_CALL.match(c).group("name") for c in checks})
                test = nbformat.v4.new_code_cell(
                    f"# {exercise}: the self-check, autograded (1 point).\n"
                    f"from alexnet_lib.checks import {', '.join(names)}\n" + "\n".join(checks)
                )
                test.metadata["nbgrader"] = _nbgrader(f"{label}-check", solution=False, grade=True,
                                                      locked=True, points=1)
                self.cells.append(test)
        if answer:  # a cell of its own: it runs even where the self-check above stopped its cell
            if ask:
                self.cells.append(nbformat.v4.new_markdown_cell(ask))
            self.cells.append(_solution_cell(f"{label}{NAMES}" if code else label, answer))
        for hidden in auto.tests if auto is not None else ():
            test = nbformat.v4.new_code_cell(
                f"# {exercise}: hidden tests, autograded ({hidden.points} point{'s' if hidden.points > 1 else ''}).\n"
                f"{HIDDEN_BEGIN}\n{hidden.code}\n{HIDDEN_END}"
            )
            test.metadata["nbgrader"] = _nbgrader(hidden.grade_id(label), solution=False, grade=True,
                                                  locked=True, points=hidden.points)
            self.cells.append(test)
        if prose:
            written = nbformat.v4.new_markdown_cell(prose)
            written.metadata["nbgrader"] = _nbgrader(f"{label}-answer", solution=True, grade=True,
                                                     locked=False, points=1)
            self.cells.append(nbformat.v4.new_markdown_cell(f"**Your answer to {exercise}** (graded by hand, 1 point):"))
            self.cells.append(written)


def _solution_cell(grade_id: str, code: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(f"### BEGIN SOLUTION\n{code}\n### END SOLUTION")
    cell.metadata["nbgrader"] = _nbgrader(grade_id, solution=True, grade=False, locked=False)
    return cell


def exercise_of(grade_id: str) -> str:
    """The exercise label of a solution cell's grade id (the names cell's ends with ``-names``)."""
    return grade_id.removesuffix(NAMES)


def source_notebook(path: Path, bib: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The nbgrader source version of the chapter at ``path``."""
    nb = nbformat.read(path, as_version=4)
    chapter = int(path.name.split("_", 1)[0])
    converter = GraderConverter(chapter, path.stem, bib if bib is not None else colab.bibliography())
    out = nbformat.v4.new_notebook()
    out.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                    "language_info": {"name": "python"}}
    out.cells = converter.convert(nb)
    for i, cell in enumerate(out.cells):
        cell.id = f"c{i:03d}"
    return out


def write_course(course: Path, notebooks: list[Path]) -> list[Path]:
    """Write ``course/nbgrader_config.py`` and one source assignment per chapter."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(CONFIG)
    bib = colab.bibliography()
    written = []
    for path in notebooks:
        target = course / "source" / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(source_notebook(path, bib), target)
        written.append(target)
    return written


def points(nb: nbformat.NotebookNode) -> dict[str, dict[str, int]]:
    """Each exercise's points in a source notebook: ``{label: {"auto": n, "hand": m}}``."""
    found: dict[str, dict[str, int]] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            label = GRADE_ID.match(meta["grade_id"]).group("label")
            kind = "hand" if meta.get("solution") else "auto"
            found.setdefault(label, {"auto": 0, "hand": 0})[kind] += meta["points"]
    return found


def grading_table(notebooks: list[Path]) -> str:
    """The instructor guide's table: each exercise's points and what is checked or read by hand."""
    bib = colab.bibliography()
    lines = ["| exercise | autograded | by hand | the autograder checks; *by hand:* look for |", "|---|---:|---:|---|"]
    for path in notebooks:
        converter = GraderConverter(int(path.name.split("_", 1)[0]), path.stem, bib)
        nb = nbformat.read(path, as_version=4)
        cells = converter.convert(nb)
        scored = points(nbformat.v4.new_notebook(cells=cells))
        for label, name in converter.labels.items():
            if not name.startswith("Exercise"):
                continue
            auto = autograder_tests.AUTOGRADED.get(label)
            got = scored.get(label, {"auto": 0, "hand": 0})
            what = []
            if auto is not None:
                check = any(c.metadata.get("nbgrader", {}).get("grade_id") == f"{label}-check" for c in cells)
                what.append(("the self-check; " if check else "") + auto.checks)
            if got["hand"]:
                what.append("*by hand:* " + (auto.look_for if auto is not None else autograder_tests.BY_HAND[label]))
            lines.append(f"| {name.removeprefix('Exercise ')} | {got['auto']} | {got['hand']} | {'; '.join(what)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--course", type=Path, default=ROOT / "nbgrader")
    parser.add_argument("--table", action="store_true", help="print the instructor guide's grading table")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if args.table:
        print(grading_table(notebooks))
        return 0
    total = {"auto": 0, "hand": 0}
    for target in write_course(args.course, notebooks):
        scored = points(nbformat.read(target, as_version=4)).values()
        auto, hand = sum(p["auto"] for p in scored), sum(p["hand"] for p in scored)
        total["auto"] += auto
        total["hand"] += hand
        print(f"{target}: {auto} autograded and {hand} hand-graded points")
    print(f"in all: {total['auto']} of {total['auto'] + total['hand']} points autograded")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Write an nbgrader course from the chapters: each chapter an assignment, its self-checks autograded.

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
  see "YOUR ANSWER HERE", the instructor's text stays in the source as the reference.

The course folder gets an ``nbgrader_config.py`` (course id, a generous cell timeout for
the chapters that train). ``tests/test_nbgrader.py`` runs ``generate_assignment`` and
``autograde`` on one chapter and checks the marks of a right and a wrong answer.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import colab  # noqa: E402

ROOT = colab.ROOT
CHECK_CALL = re.compile(r"^(?:\w+\.)*(?P<name>check_\w+)\(.*\)\s*$", re.M)
CONFIG = '''\
# nbgrader's configuration for the AlexNet book's chapters (written by tools/nbgrader_course.py).
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "alexnet-book"
# The chapters that train take minutes in a cell on a CPU; the default limit is 30 seconds.
c.ExecutePreprocessor.timeout = 1800
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
'''


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
        """The cells of one exercise's solution: solution code, self-check test, answer."""
        exercise = self.labels[label]
        if code:
            cell = nbformat.v4.new_code_cell(f"### BEGIN SOLUTION\n{code}\n### END SOLUTION")
            cell.metadata["nbgrader"] = _nbgrader(label, solution=True, grade=False, locked=False)
            self.cells.append(cell)
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
        if prose:
            answer = nbformat.v4.new_markdown_cell(prose)
            answer.metadata["nbgrader"] = _nbgrader(f"{label}-answer", solution=True, grade=True,
                                                    locked=False, points=1)
            self.cells.append(nbformat.v4.new_markdown_cell(f"**Your answer to {exercise}** (graded by hand, 1 point):"))
            self.cells.append(answer)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--course", type=Path, default=ROOT / "nbgrader")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for target in write_course(args.course, notebooks):
        nb = nbformat.read(target, as_version=4)
        meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
        auto = sum(m.get("points", 0) for m in meta if m.get("grade") and not m.get("solution"))
        manual = sum(m.get("points", 0) for m in meta if m.get("grade") and m.get("solution"))
        print(f"{target}: {auto} autograded and {manual} hand-graded points")
    return 0


if __name__ == "__main__":
    sys.exit(main())

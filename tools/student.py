"""Write the student edition of the notebooks: exercises kept, solutions removed.

    python tools/student.py [--out student] [notebooks/*.ipynb]

For every exercise the student edition keeps the question and removes its solution:

- a ``{solution}`` block (a solution in prose) becomes a "Your answer" cell;
- a gated solution (``{solution-start}`` ... ``{solution-end}``, prose and code cells)
  becomes one code cell ``# YOUR CODE HERE`` that raises ``NotImplementedError``, so a
  notebook run top to bottom stops at the first exercise not yet done.

Everything else (the chapter, its setup cell, its outputs-free code) stays as it is.
``tests/test_student.py`` checks that no solution text survives.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

# A fenced {solution} block: its opening fence (3 or more backticks or colons) up to the same fence.
SOLUTION_BLOCK = re.compile(r"^(?P<fence>`{3,}|:{3,})\{solution\}\s*(?P<label>\S+).*?^(?P=fence)\s*$\n?", re.M | re.S)
GATED_START = re.compile(r"^(?P<fence>`{3,})\{solution-start\}\s*(?P<label>\S+).*?^(?P=fence)\s*$\n?", re.M | re.S)
GATED_END = re.compile(r"^(?P<fence>`{3,})\{solution-end\}.*?^(?P=fence)\s*$\n?", re.M | re.S)


def stub_cell(label: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(
        f"# Exercise {label}: YOUR CODE HERE\nraise NotImplementedError(\"exercise {label}\")"
    )


def answer_cell(label: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(f"**Your answer** (exercise {label}):\n\n...")


def student_edition(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with every solution replaced by a place for the student's answer."""
    cells: list[nbformat.NotebookNode] = []
    inside: str | None = None  # the label of the gated solution being skipped
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            if inside is None:
                cells.append(cell)
            continue  # a solution's code: dropped
        text = cell.source
        while text:
            if inside is not None:
                end = GATED_END.search(text)
                if end is None:
                    break  # a solution's prose: dropped
                cells.append(stub_cell(inside))
                inside, text = None, text[end.end():]
            else:
                start = GATED_START.search(text)
                cells.extend(_prose(text if start is None else text[: start.start()]))
                if start is None:
                    break
                inside, text = start.group("label"), text[start.end():]
    if inside is not None:
        raise ValueError(f"solution {inside} has no {{solution-end}}")
    out = nbformat.v4.new_notebook()
    out.metadata = nb.metadata
    out.cells = cells
    return out


def _prose(source: str) -> list[nbformat.NotebookNode]:
    """Markdown cells for ``source``, each prose ``{solution}`` block turned into an answer cell."""
    pieces: list[nbformat.NotebookNode] = []
    last = 0
    for block in SOLUTION_BLOCK.finditer(source):
        before = source[last : block.start()].strip()
        if before:
            pieces.append(nbformat.v4.new_markdown_cell(before))
        pieces.append(answer_cell(block.group("label")))
        last = block.end()
    rest = source[last:].strip()
    if rest:
        pieces.append(nbformat.v4.new_markdown_cell(rest))
    return pieces


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "student")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    args.out.mkdir(parents=True, exist_ok=True)
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        edition = student_edition(nb)
        nbformat.write(edition, args.out / path.name)
        exercises = sum(len(re.findall(r"\{exercise\}", c.source)) for c in nb.cells if c.cell_type == "markdown")
        print(f"{args.out / path.name}: {exercises} exercises, solutions removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

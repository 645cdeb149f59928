"""Commit notebooks clean: strip outputs, except the cells nbval compares.

    python tools/nbstrip.py notebooks/*.ipynb            strip in place
    python tools/nbstrip.py --execute notebooks/01_*.ipynb
        run the notebook first (smoke profile), so the kept outputs are fresh
    python tools/nbstrip.py --check notebooks/*.ipynb    exit 1 if a notebook is not clean

A code cell keeps its outputs (and its execution count, without which nbval
treats it as never run) when it is tagged ``nbval-check-output`` (or its source
contains ``# NBVAL_CHECK_OUTPUT``): nbval --nbval-lax compares exactly those cells. Every other cell loses its
outputs and execution count; widget state and per-run metadata are removed.

The cells of an exercise's solution (between ``{solution-start}`` and ``{solution-end}``)
are marked ``jupyter.source_hidden``: JupyterLab, Notebook 7 and VS Code show them folded
until the reader opens them, as the book folds them in a dropdown (JupyterLab renders each
cell on its own, so the dropdown alone cannot fold the code cells that follow it).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat

MARK = "NBVAL_CHECK_OUTPUT"
TAG = "nbval-check-output"
KEEP_METADATA = {"kernelspec", "language_info"}


def keeps_output(cell: nbformat.NotebookNode) -> bool:
    """nbval compares this cell's outputs: it is tagged nbval-check-output (or has the comment)."""
    tags = cell.get("metadata", {}).get("tags", [])
    return cell.cell_type == "code" and (TAG in tags or MARK in cell.source)


SOLUTION_MARK = re.compile(r"\{solution-(start|end)\}")


def solution_cells(nb: nbformat.NotebookNode) -> set[int]:
    """The indices of the cells wholly inside a gated solution: code cells, and Markdown cells
    without a marker of their own."""
    inside, found = False, set()
    for index, cell in enumerate(nb.cells):
        marks = SOLUTION_MARK.findall(cell.source) if cell.cell_type == "markdown" else []
        if inside and not marks:
            found.add(index)
        if marks:
            inside = marks[-1] == "start"
    return found


def _hidden(cell: nbformat.NotebookNode) -> bool:
    return bool(cell.metadata.get("jupyter", {}).get("source_hidden"))


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb.metadata = nbformat.NotebookNode({k: v for k, v in nb.metadata.items() if k in KEEP_METADATA})
    folded = solution_cells(nb)
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)
        if index in folded:
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
        elif _hidden(cell):
            del cell.metadata["jupyter"]["source_hidden"]
            if not cell.metadata["jupyter"]:
                del cell.metadata["jupyter"]
        if cell.cell_type != "code":
            continue
        if not keeps_output(cell):
            cell.outputs = []
            cell.execution_count = None
    return nb


def problems(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.outputs and not keeps_output(cell):
            found.append(f"cell {index} has outputs")
        if cell.cell_type == "code" and cell.execution_count is not None and not keeps_output(cell):
            found.append(f"cell {index} has an execution count")
    folded = solution_cells(nb)
    for index, cell in enumerate(nb.cells):
        if (index in folded) != _hidden(cell):
            found.append(f"cell {index} should {'' if index in folded else 'not '}be folded (a solution's cell)")
    extra = set(nb.metadata) - KEEP_METADATA
    if extra:
        found.append(f"notebook metadata has {sorted(extra)}")
    return found


def execute(nb: nbformat.NotebookNode, path: Path) -> None:
    from nbclient import NotebookClient

    os.environ["ALEXNET_PROFILE"] = "smoke"
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="report notebooks that are not clean")
    mode.add_argument("--execute", action="store_true", help="execute (smoke profile) before stripping")
    args = parser.parse_args(argv)
    status = 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if args.check:
            for problem in problems(nb):
                print(f"{path}: {problem}; run `python tools/nbstrip.py {path}`")
                status = 1
            continue
        if args.execute:
            execute(nb, path)
        nbformat.write(strip(nb), path)
        print(f"{path}: clean")
    return status


if __name__ == "__main__":
    sys.exit(main())

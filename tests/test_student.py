"""The student edition keeps every exercise and leaks no solution."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import student  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def split_lines(nb: nbformat.NotebookNode) -> tuple[set[str], set[str]]:
    """(lines only found in solutions, lines found outside them), stripped, longer than 25 characters."""
    hidden: list[str] = []
    public: list[str] = []
    inside = False
    for cell in nb.cells:
        text = cell.source
        if cell.cell_type != "markdown":
            (hidden if inside else public).extend(text.splitlines())
            continue
        while text:
            if inside:
                end = student.GATED_END.search(text)
                hidden.extend((text if end is None else text[: end.start()]).splitlines())
                if end is None:
                    break
                inside, text = False, text[end.end():]
            else:
                start = student.GATED_START.search(text)
                head = text if start is None else text[: start.start()]
                for block in student.SOLUTION_BLOCK.finditer(head):
                    hidden.extend(block.group(0).splitlines()[1:-1])
                public.extend(student.SOLUTION_BLOCK.sub("", head).splitlines())
                if start is None:
                    break
                inside, text = True, text[start.end():]
    keep = {line.strip() for line in public if len(line.strip()) > 25}
    secret = {line.strip() for line in hidden if len(line.strip()) > 25} - keep
    return secret, keep


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_solution_leaks(path):
    nb = nbformat.read(path, as_version=4)
    edition = student.student_edition(nb)
    text = "\n".join(cell.source for cell in edition.cells)
    secrets, _ = split_lines(nb)
    assert secrets, "the chapter has solutions to hide"
    leaked = sorted(line for line in secrets if line in text)
    assert not leaked, f"solution lines in the student edition: {leaked[:3]}"
    assert not re.search(r"\{solution", text)
    labels = re.findall(r"\{exercise\}\n:label: (\S+)", text)
    assert labels == re.findall(r"\{exercise\}\n:label: (\S+)", "\n".join(c.source for c in nb.cells))
    for label in labels:  # every exercise has a place for the answer
        assert f"exercise {label}" in text, label


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_edition_keeps_the_chapter(path):
    nb = nbformat.read(path, as_version=4)
    edition = student.student_edition(nb)
    nbformat.validate(edition)
    original_code = [c.source for c in nb.cells if c.cell_type == "code"]
    kept = [c.source for c in edition.cells if c.cell_type == "code" and "YOUR CODE HERE" not in c.source]
    assert kept == original_code[: len(kept)], "chapter code is kept, in order, before the exercises"
    assert "alexnet_lib.setup()" in kept[0]


def test_stub_stops_a_run():
    cell = student.stub_cell("demo")
    with pytest.raises(NotImplementedError, match="exercise demo"):
        exec(cell.source, {})


def test_unclosed_gated_solution_is_an_error():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("```{solution-start} x\n```\nsecret")]
    with pytest.raises(ValueError, match="solution x has no"):
        student.student_edition(nb)


def test_command_line(tmp_path):
    assert student.main([str(NOTEBOOKS[0]), "--out", str(tmp_path)]) == 0
    assert (tmp_path / NOTEBOOKS[0].name).exists()

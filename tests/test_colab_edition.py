"""The Colab edition (colab/): plain Markdown, the chapter's code unchanged, solutions folded."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MYST = re.compile(r"\{(?:cite|ref|doc|numref|eq|term|exercise|solution|glue)[a-z:-]*\}|^:::|^\([\w-]+\)=$", re.M)


def test_the_committed_edition_is_up_to_date():
    assert colab.main(["--check"]) == 0, "colab/ is older than the chapters: run `make colab`"
    assert sorted(p.name for p in (ROOT / "colab").glob("*.ipynb")) == [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_plain_markdown_same_code_solutions_folded(path):
    source = nbformat.read(path, as_version=4)
    edition = nbformat.reads(colab.render(colab.colab_edition(path)), as_version=4)
    nbformat.validate(edition)
    text = "\n".join(c.source for c in edition.cells if c.cell_type == "markdown")
    assert not MYST.search(text), f"MyST left in the Colab edition: {MYST.search(text).group()!r}"

    # The code is the chapter's, in order; a solution's code only gains a title line, and the
    # setup cell offers Google Drive as the cache, off until the reader turns it on.
    code = [re.sub(r"\A# @title [^\n]*\n", "", c.source) for c in edition.cells if c.cell_type == "code"]
    chapter_code = [c.source for c in source.cells if c.cell_type == "code"]
    assert "DRIVE = False\n" in code[0] and "alexnet_lib.setup(drive=DRIVE)" in code[0]
    assert code[0] == colab._offer_drive(chapter_code[0]) and code[1:] == chapter_code[1:]
    assert not any("drive.mount" in c for c in code), "Drive is mounted only by setup(drive=True)"
    assert not any(c.get("outputs") for c in edition.cells if c.cell_type == "code")

    # Every exercise a heading, numbered as in the book; every solution folded.
    exercises = sum(c.source.count("{exercise}") for c in source.cells if c.cell_type == "markdown")
    chapter = int(path.name[:2])
    headings = re.findall(r"^### Exercise (\d+)\.(\d+)", text, re.M)
    assert headings == [(str(chapter), str(i)) for i in range(1, exercises + 1)]
    for cell in edition.cells:
        if cell.cell_type == "code" and cell.source.startswith("# @title Solution"):
            assert cell.metadata["cellView"] == "form" and cell.metadata["jupyter"]["source_hidden"]
    solutions = re.findall(r"<summary><b>Solution to Exercise (\d+\.\d+)", text)
    assert solutions and set(solutions) <= {f"{a}.{b}" for a, b in headings}
    assert text.count("<details>") == text.count("</details>")

    # Citations name their authors and link to the book's bibliography.
    cited = sum(len(re.findall(r"\{cite[:a-z]*\}`([^`]*)`", c.source)) for c in source.cells if c.cell_type == "markdown")
    assert text.count(f"]({colab.site_url()}/book/bibliography.html)") >= cited
    assert colab.colab_url(path.name) not in text, "the edition links to the book, not to itself"
    assert f"{colab.site_url()}/notebooks/{path.stem}.html" in text


def test_bibliography_reads_authors_and_accents():
    bib = colab.bibliography()
    assert bib["krizhevsky2012imagenet"] == "Krizhevsky et al., 2012"
    assert bib["simonyan2015very"] == "Simonyan and Zisserman, 2015"
    assert bib["lecun1998gradient"] == "LeCun et al., 1998"
    assert colab._latex_to_text("Bottou, L{\\'e}on") == "Bottou, Léon"
    assert colab._latex_to_text("At{\\i}l{\\i}m G{\\\"u}ne{\\c{s}}") == "Atılım Güneş"


def test_unknown_myst_stops_the_conversion():
    converter = colab.Converter(1, "01_demo", {"a2020": "A, 2020"})
    with pytest.raises(ValueError, match="directive \\{figure\\}"):
        converter.markdown("```{figure} cat.png\n:width: 50%\n```\n")
    with pytest.raises(ValueError, match="role \\{term\\}"):
        converter.markdown("a {term}`kernel`")
    with pytest.raises(ValueError, match="not in references.bib"):
        converter.markdown("{cite}`missing2020`")
    assert converter.markdown("{cite}`a2020`") == f"([A, 2020]({colab.site_url()}/book/bibliography.html))"

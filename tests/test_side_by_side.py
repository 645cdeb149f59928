"""The side-by-side page pastes only numbers that the chapters record."""

from __future__ import annotations

import json
import re
from pathlib import Path

from alexnet_lib import ablations

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "side_by_side.md"


def recorded_keys(notebook: Path) -> set[str]:
    source = "\n".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code")
    # the formatter may put the key on the line after ``record(``
    keys = set(re.findall(r'record\(\s*f?"([a-z0-9_]+)"', source))
    if re.search(r'record\(\s*f"ch8_\{name\.split\(\)\[0\]\}"', source):
        keys |= {"ch8_centre", "ch8_ten"}
    if re.search(r'record\(\s*f"ablation_\{r\[\'key\'\]\}"', source):
        keys |= {f"ablation_{e.key}" for e in ablations.EXPERIMENTS}
    return keys


def test_every_pasted_number_is_recorded_by_its_chapter():
    refs = re.findall(r"\{glue(?::md)?\}`\.\./(notebooks/[^`:]+\.ipynb)::([a-z0-9_]+)`", PAGE.read_text())
    assert len(refs) >= 15
    for notebook, key in refs:
        path = ROOT / notebook
        assert path.exists(), notebook
        assert key in recorded_keys(path), f"{notebook} records no {key!r}"


def test_the_paper_s_numbers_on_the_page_come_from_the_library_s_table():
    """Every number in the "reports" column is one of alexnet_lib.paper's (or a count the text spells out)."""
    from alexnet_lib import paper

    known = {round(n.value, 4) for n in paper.NUMBERS.values()} | {n.value * 100 for n in paper.NUMBERS.values()}
    known |= {2012, 2009, 2010, 2011, 1, 2, 3, 4, 5, 6, 7, 10, 25, 90, 128, 1.2, 60, 650000, 10184}
    for line in PAGE.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 4 or cells[1] in ("the paper", "---") or set(cells[1]) <= {"-"}:
            continue
        reported = re.sub(r"\(Section[^)]*\)|Section \d(\.\d)?|Table \d|Figure \d|GTX \d+", "", cells[2])
        for number in re.findall(r"\d[\d,]*(?:\.\d+)?", reported):
            value = float(number.replace(",", ""))
            assert round(value, 4) in known, f"{number} in {cells[1]!r} is not in alexnet_lib.paper.NUMBERS"

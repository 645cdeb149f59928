"""The outputs that notebooks keep for comparison, against a build that executed them.

``make test`` executes every chapter once, in the strict book build (gpu-smoke profile); this
test then compares, in the notebooks that build executed, every cell marked for
comparison (``# NBVAL_CHECK_OUTPUT`` or the tag ``nbval-check-output``) with the output
committed in the repository, the way ``pytest --nbval-lax`` does (the same cells, the
same keys compared and skipped, streams by name, images not compared), without running
the notebooks a second time. ``ALEXNET_EXECUTED`` names the folder of executed notebooks
(``<build>/_build/jupyter_execute``); ``make test-notebooks`` runs nbval itself.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from streams import joined_streams, page_outputs  # noqa: E402  (the build's own joining of a cell's printout)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# as nbval: metadata, counts and widget ids differ from run to run; images are not compared
SKIP = {"metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
        "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg", "transient"}

pytestmark = pytest.mark.notebooks


def checked(cell: dict[str, Any]) -> bool:
    source = "".join(cell["source"])
    return cell["cell_type"] == "code" and ("NBVAL_CHECK_OUTPUT" in source or
                                            "nbval-check-output" in cell.get("metadata", {}).get("tags", []))


def flatten(outputs: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """nbval's comparison form: every key of every output (``data`` flattened by MIME type, streams
    by name and joined) with the values in order."""
    flat: dict[str, list[Any]] = defaultdict(list)
    streams: dict[str, str] = defaultdict(str)
    for output in outputs:
        if output.get("output_type") == "stream":
            text = output["text"]
            streams[output["name"]] += "".join(text) if isinstance(text, list) else text
            continue
        for key, value in output.items():
            if key in SKIP:
                continue
            if key == "data":
                for mime, content in value.items():
                    if mime not in SKIP:
                        flat[mime].append("".join(content) if isinstance(content, list) else content)
            else:
                flat[key].append(value)
    for name, text in streams.items():
        flat[name].append(text)
    return dict(flat)


def as_the_page_shows(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outputs as the book's pages show them: each stream's chunks joined in order, then
    merged by myst-nb (``nb_merge_streams``), as ``book/_ext/streams.py`` has the build do.

    How a cell's printout is cut into chunks depends on timing (the kernel sends what was
    printed every 0.2 s); joined, the chunks are the printout whatever the cut.
    """
    from myst_nb.core.utils import coalesce_streams

    return [dict(o) for o in coalesce_streams([nbformat.from_dict(o) for o in joined_streams(outputs)])]


def executed_folder() -> Path:
    folder = os.environ.get("ALEXNET_EXECUTED")
    if not folder or not Path(folder).is_dir():
        pytest.skip("no executed notebooks: set ALEXNET_EXECUTED to a book build's _build/jupyter_execute "
                    "(make test does), or run make test-notebooks")
    return Path(folder)


def find_executed(folder: Path, name: str) -> Path:
    matches = sorted(folder.rglob(name))
    if not matches:
        pytest.fail(f"{name} was not executed in {folder}: did the book build run it?")
    return matches[0]


def test_flatten_compares_as_nbval_does():
    a = [{"output_type": "stream", "name": "stdout", "text": "1\n"}, {"output_type": "stream", "name": "stdout",
                                                                       "text": ["2\n"]}]
    b = [{"output_type": "stream", "name": "stdout", "text": "1\n2\n"}]
    assert flatten(a) == flatten(b) == {"stdout": ["1\n2\n"]}
    shown = {"output_type": "execute_result", "execution_count": 3, "metadata": {},
             "data": {"text/plain": "42", "image/png": "..."}}
    assert flatten([shown]) == {"text/plain": ["42"]}


def test_a_printout_reads_the_same_however_it_was_cut_into_chunks():
    """A print whose text and newline came in two chunks is one line, not a line and a blank one
    (myst-nb's own merge makes the blank line); the chunks are joined on copies."""
    from myst_nb.core.utils import coalesce_streams

    cut = [{"output_type": "stream", "name": "stdout", "text": "layer  direct"},
           {"output_type": "stream", "name": "stdout", "text": "\nconv1  105\n"},
           {"output_type": "display_data", "metadata": {}, "data": {"text/plain": "<Figure>"}},
           {"output_type": "stream", "name": "stdout", "text": "fc8\n"}]
    kept = copy.deepcopy(cut)
    expected = {"stdout": ["layer  direct\nconv1  105\nfc8\n"], "text/plain": ["<Figure>"]}
    assert flatten(as_the_page_shows(cut)) == expected
    one_chunk = [{"output_type": "stream", "name": "stdout", "text": "layer  direct\nconv1  105\nfc8\n"}, cut[2]]
    assert flatten(as_the_page_shows(one_chunk)) == expected
    assert cut == kept, "the executed notebook's outputs are left as they came"
    page = [dict(o) for o in page_outputs([nbformat.from_dict(o) for o in cut])]
    assert page[0]["text"] == "layer  direct\nconv1  105\nfc8\n"
    blank = coalesce_streams([nbformat.from_dict(o) for o in copy.deepcopy(cut)])
    assert blank[0]["text"] == "layer  direct\n\nconv1  105\nfc8\n", "myst-nb's merge alone (the fault mended)"
    changed = copy.deepcopy(one_chunk)
    changed[0]["text"] = "layer  direct\nfc8\n"
    assert flatten(as_the_page_shows(changed)) != expected


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_kept_outputs_match_the_executed_notebook(notebook):
    folder = executed_folder()
    committed = json.loads(notebook.read_text())["cells"]
    executed = json.loads(find_executed(folder, notebook.name).read_text())["cells"]
    assert len(executed) == len(committed), "the executed notebook has other cells than the committed one"
    compared = 0
    for number, (cell, ran) in enumerate(zip(committed, executed)):
        if not checked(cell):
            continue
        compared += 1
        want = flatten(as_the_page_shows(cell.get("outputs", [])))
        got = flatten(as_the_page_shows(ran.get("outputs", [])))
        assert got == want, f"{notebook.name}, cell {number}: the output differs from the committed one\n" \
                            f"committed: {json.dumps(want, indent=1)[:1500]}\nexecuted: {json.dumps(got, indent=1)[:1500]}"
    assert compared or not any(checked(c) for c in committed)


# The width of a code or output box on the book's pages, in characters of its monospace font
# (measured in the rendered pages: about 80 characters fit before the box scrolls sideways).
PAGE_WIDTH = 80
BARE_STRING = re.compile(r"""^(?:'[^\n]*'|"[^\n]*")$""")


def _long_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if len(line.rstrip()) > PAGE_WIDTH]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_cells_print_results_that_fit_the_page(notebook):
    """No cell echoes a bare string (a function's return value shown as a quoted repr under the
    cell, ``'-1.66 points ...'``), and no printed line is wider than the page's output box."""
    ran = json.loads(find_executed(executed_folder(), notebook.name).read_text())["cells"]
    found = []
    for number, cell in enumerate(ran):
        for output in as_the_page_shows(cell.get("outputs", [])):
            if output.get("output_type") == "execute_result":
                plain = output.get("data", {}).get("text/plain", "")
                plain = "".join(plain) if isinstance(plain, list) else plain
                if BARE_STRING.match(plain.strip()):
                    found.append(f"cell {number}: echoes a string: {plain[:80]}")
            if output.get("output_type") == "stream":
                text = output["text"] if isinstance(output["text"], str) else "".join(output["text"])
                found += [f"cell {number}: a printed line of {len(line)} characters: {line[:60]}..."
                          for line in _long_lines(text)]
    assert not found, f"{notebook.name}:\n" + "\n".join(found[:15])


def test_the_checks_see_a_string_echo_and_a_long_line():
    assert BARE_STRING.match("'-1.66 points (one standard deviation of chance: 0.42)'")
    assert not BARE_STRING.match("42") and not BARE_STRING.match("'a'\n'b'")
    assert _long_lines("short\n" + "x" * 81) == ["x" * 81]

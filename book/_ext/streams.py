"""A cell's printout on the page as it was printed: each stream's chunks joined, not re-cut.

The kernel sends what a cell prints in chunks, cut wherever its 0.2 s flush falls, so one
``print`` can reach the notebook as two chunks, its text and then its newline with what follows.
myst-nb 1.4 merges a cell's chunks (``nb_merge_streams``) by stripping each chunk's end and
adding a newline, which turns such a cut into a blank line that the program never printed
(seen on a busy machine: a table's header line followed by an empty one), and it merges in
place, so the executed notebook it writes keeps the later chunks beside the grown first one.
This extension joins the chunks of each stream first, on copies, and hands myst-nb one chunk
per stream: the page shows the printout whatever the timing, and the executed notebook keeps
the chunks as they came. ``tests/test_notebook_outputs.py`` reads outputs the same way.
"""

from __future__ import annotations

import copy
from typing import Any

from myst_nb.core import render
from sphinx.application import Sphinx

_MYST_NB_MERGE = render.coalesce_streams


def joined_streams(outputs: list[Any]) -> list[Any]:
    """``outputs`` with each stream's chunks joined into its first, in order (copies; other
    outputs as they are)."""
    joined: list[Any] = []
    first: dict[str, Any] = {}
    for output in outputs:
        if output.get("output_type") != "stream":
            joined.append(output)
            continue
        text = "".join(output["text"]) if isinstance(output["text"], list) else output["text"]
        if output["name"] in first:
            first[output["name"]]["text"] += text
        else:
            output = copy.deepcopy(output)
            output["text"] = text
            first[output["name"]] = output
            joined.append(output)
    return joined


def page_outputs(outputs: list[Any]) -> list[Any]:
    """What the page shows of a cell's outputs: its streams joined, then merged by myst-nb."""
    return _MYST_NB_MERGE(joined_streams(outputs))


def setup(app: Sphinx) -> dict[str, Any]:
    render.coalesce_streams = page_outputs
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

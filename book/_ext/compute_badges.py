"""Sphinx extension: measured compute budgets as a badge on each chapter and a table in the guide.

The numbers come from ``book/compute_budget.json``, written by
``tools/measure_notebooks.py`` (``make measure``), which runs every chapter in a fresh
kernel per profile and records its wall time and peak memory, the machine, and a hash
of the chapter's code. A badge whose hash no longer matches the chapter says that the
measurement belongs to an earlier version. Nothing here is typed by hand.

- Every page under ``notebooks/`` gets a line of badges under its title.
- The directive ``{compute-table}`` renders all chapters and profiles as a table, with a
  reading time computed from the number of words of prose (at 150 words a minute).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

import nbformat
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

PROFILES = ("smoke", "cpu", "gpu")
WORDS_PER_MINUTE = 150  # technical prose with maths and figures: slower than the usual 200-250
STYLE = ("display:inline-block;margin:0 .4em .3em 0;padding:.1em .55em;border-radius:.8em;font-size:.82em;"
         "border:1px solid {border};background:{background};color:#222")
COLOURS = {"smoke": ("#b9c6d8", "#eef3fa"), "cpu": ("#9fd0a8", "#eaf7ec"), "gpu": ("#e0c48f", "#fbf3e2")}


def _root(app: Sphinx) -> Path:
    return Path(app.srcdir)


def _load(app: Sphinx) -> dict[str, Any]:
    path = _root(app) / "book" / "compute_budget.json"
    return json.loads(path.read_text()) if path.exists() else {}


def code_hash(nb: nbformat.NotebookNode) -> str:
    """SHA-256 (first 12 hex digits) of a notebook's code cells: what a measurement belongs to.

    ``tools/measure_notebooks.py`` records it with each measurement; pages compare it.
    """
    code = "\n\x00".join(c.source for c in nb.cells if c.cell_type == "code")
    # the released version that the Colab install line names runs only in Colab: a new release
    # changes no measurement
    code = re.sub(r"@v\d+(\.\d+)*", "@v*", code)
    return hashlib.sha256(code.encode()).hexdigest()[:12]


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _cell(budget: dict[str, Any], stem: str, current: str | None, profile: str) -> tuple[str, str]:
    """(short text, longer explanation) for one chapter (whose code hash is ``current``) and profile."""
    run = budget.get("profiles", {}).get(profile, {}).get(stem)
    if run is None:
        return "not measured yet", f"No {profile} run has been measured for this chapter."
    where = budget.get("machines", {}).get(profile, {})
    machine = f"{where.get('processor', '?')}, {where.get('cpus', '?')} CPUs" + (
        f", {where['gpu']}" if where.get("gpu") else "")
    text = f"{_duration(run['seconds'])} · {run['peak_mib']:,} MiB"
    note = (f"Measured on {run['date']} on {machine}: wall time, and peak memory of the kernel and its "
            "worker processes (pages they share counted once).")
    if "peak_gpu_mib" in run:
        text += f" · GPU {run['peak_gpu_mib']:,} MiB"
        note += " GPU: the most memory in use on the card."
    if current is not None and current != run.get("code"):
        text += " (earlier version)"
        note += " The chapter's code has changed since."
    return text, note


def _badges(app: Sphinx, stem: str) -> str:
    budget = _load(app)
    notebook = _root(app) / "notebooks" / f"{stem}.ipynb"
    current = code_hash(nbformat.read(notebook, as_version=4)) if notebook.exists() else None
    parts = []
    for profile in PROFILES:
        text, note = _cell(budget, stem, current, profile)
        border, background = COLOURS[profile]
        parts.append(f'<span class="compute-badge compute-{profile}" title="{html.escape(note)}" '
                     f'style="{STYLE.format(border=border, background=background)}">'
                     f"<b>{profile}</b> {html.escape(text)}</span>")
    return ('<p class="compute-budget" style="margin-top:-.3em">'
            '<span style="font-size:.82em;margin-right:.5em">Run time and memory, measured:</span>'
            + "".join(parts) + "</p>")


def add_badge(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    if not docname.startswith("notebooks/"):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    title = next(iter(section.findall(nodes.title)), None)
    index = section.index(title) + 1 if title is not None else 0
    section.insert(index, nodes.raw("", _badges(app, docname.split("/", 1)[1]), format="html"))


def _largest_peak(budget: dict[str, Any]) -> str:
    """A sentence naming the largest memory peak of the ``cpu`` profile: what a laptop must hold."""
    runs = budget.get("profiles", {}).get("cpu", {})
    if not runs:
        return ""
    stem, run = max(runs.items(), key=lambda item: item[1]["peak_mib"])
    return (f"<p>The most memory a chapter needs in the <code>cpu</code> profile: {run['peak_mib']:,} MiB "
            f"(Chapter {int(stem[:2])}; the kernel and its worker processes, pages they share counted "
            "once).</p>")


class ComputeTable(SphinxDirective):
    """A table of every chapter's measured time and memory in each profile."""

    def run(self) -> list[nodes.Node]:
        budget = _load(self.env.app)
        notebooks = sorted((_root(self.env.app) / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        rows = []
        for nb in notebooks:
            self.env.note_dependency(str(nb))
            notebook = nbformat.read(nb, as_version=4)
            title = notebook.cells[0].source.splitlines()[0].lstrip("# ").strip()
            words = sum(len(c.source.split()) for c in notebook.cells if c.cell_type == "markdown")
            reading = f"<td>{max(round(words / WORDS_PER_MINUTE), 1)} min ({words:,} words)</td>"
            current = code_hash(notebook)
            cells = reading
            for profile in PROFILES:
                text, note = _cell(budget, nb.stem, current, profile)
                cells += f'<td title="{html.escape(note)}">{html.escape(text)}</td>'

            rows.append(f"<tr><td>{int(nb.stem[:2])}</td><td>{html.escape(title)}</td>{cells}</tr>")
        machines = budget.get("machines", {})
        notes = "".join(
            f"<li><b>{p}</b>: {html.escape(str(m.get('processor')))}, {m.get('cpus')} CPUs, "
            f"{m.get('memory_gib')} GiB{', ' + html.escape(m['gpu']) if m.get('gpu') else ', no GPU'}; "
            f"torch {html.escape(str(m.get('torch')))}</li>" for p, m in machines.items())
        table = ('<table class="table compute-table"><thead><tr><th>#</th><th>chapter</th><th>reading</th>'
                 + "".join(f"<th>{p}</th>" for p in PROFILES) + "</tr></thead><tbody>" + "".join(rows)
                 + f"</tbody></table>{_largest_peak(budget)}<p>Measured on:</p><ul>{notes}</ul>")
        self.env.note_dependency(str(_root(self.env.app) / "book" / "compute_budget.json"))
        return [nodes.raw("", table, format="html")]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("doctree-read", add_badge)
    app.add_directive("compute-table", ComputeTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

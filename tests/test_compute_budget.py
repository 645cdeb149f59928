"""The compute badges describe the chapters as they are: every measurement belongs to the current code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

from compute_badges import code_hash  # noqa: E402


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_every_chapter_is_measured_in_its_current_version(profile):
    budget = json.loads((ROOT / "book" / "compute_budget.json").read_text())["profiles"][profile]
    stale = []
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        run = budget.get(notebook.stem)
        current = code_hash(nbformat.read(notebook, as_version=4))
        if run is None or run["code"] != current:
            stale.append(notebook.stem)
    assert not stale, f"measure these chapters again (make measure): {stale}; their badges would say 'earlier version'"


def test_every_chapter_is_within_its_budget():
    budget = json.loads((ROOT / "book" / "compute_budget.json").read_text())["profiles"]
    over = [f"{p} {stem}: {run['seconds']:.0f} s" for p, limit in (("smoke", 60), ("cpu", 240))
            for stem, run in budget.get(p, {}).items() if run["seconds"] > limit]
    assert not over, f"chapters over their budget: {over}"


def test_no_cpu_cell_runs_over_100_seconds():
    budget = json.loads((ROOT / "book" / "compute_budget.json").read_text())["profiles"]["cpu"]
    slow = {stem: run.get("longest_cell_seconds") for stem, run in budget.items()
            if run.get("longest_cell_seconds") is None or run["longest_cell_seconds"] > 100}
    assert not slow, f"cells over 100 s (or not measured per cell): {slow}"


def test_the_pages_promise_no_less_memory_than_the_chapters_need():
    """Where the guide and the setup page name a laptop's memory, it holds the largest peak that
    any chapter measured in the cpu profile (the badges' figure)."""
    import re

    budget = json.loads((ROOT / "book" / "compute_budget.json").read_text())["profiles"]["cpu"]
    most = max(run["peak_mib"] for run in budget.values())
    found = []
    for page in ("instructor_guide.md", "setup.md", "intro.md"):
        text = (ROOT / "book" / page).read_text()
        found += [(page, int(gb)) for gb in re.findall(r"(\d+) GB of\s+memory", text)]
    assert found, "the guide should say how much memory a laptop needs"
    for page, gb in found:
        assert gb * 1024 >= most, f"{page} promises {gb} GB, but a chapter peaked at {most:,} MiB (cpu profile)"

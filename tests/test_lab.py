"""The explorer in JupyterLab: it renders, reacts, and shares its state with Python.

Starts a JupyterLab server on a small notebook, runs it in headless Chromium,
edits the filter in the browser and asks Python what it sees.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _lab(root: Path, settings: Path | None = None) -> Iterator[str]:
    """A JupyterLab server on ``root`` (no token, this machine only); yields its address."""
    port = _free_port()
    env = {**os.environ, **({"JUPYTERLAB_SETTINGS_DIR": str(settings)} if settings else {})}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.token=",
         "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={root}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def lab_url(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from alexnet_lib.widgets import SlidingFilterExplorer\n"
            "e = SlidingFilterExplorer(kernel='sobel x (vertical edges)', position=5)\ne"
        ),
        nbformat.v4.new_code_cell("print('python sees', e.kernel[0][0], e.position, round(e.value(), 6))"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "explorer.ipynb")
    with _lab(tmp_path) as url:
        yield url


def test_a_chapter_renders_in_jupyterlab_with_myst(browser, tmp_path, screenshot_dir):
    """`make lab` as a reader meets it: jupyterlab-myst is enabled and renders a chapter's
    exercise as an exercise, its solution as a folded dropdown, and the solution's code folded
    (tools/nbstrip.py marks it source_hidden); no cell is left as raw MyST."""
    chapter = ROOT / "notebooks" / "01_convolution_by_hand.ipynb"
    (tmp_path / "nb").mkdir()
    shutil.copy(chapter, tmp_path / "nb" / chapter.name)
    settings = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)  # every cell in the page, not only those scrolled to
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    with _lab(tmp_path / "nb", tmp_path / "settings") as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        try:
            page.goto(f"{url}/lab/tree/{chapter.name}")
            page.wait_for_selector(".jp-Notebook .jp-MarkdownCell .myst", timeout=120000)
            exercise = page.locator(".jp-MarkdownCell", has_text="output_size(n, k, padding, stride)").first
            exercise.scroll_into_view_if_needed()
            # cells render one after another; on a busy machine this one may come seconds later
            exercise.locator(".myst-exercise-header").first.wait_for(timeout=120000)
            page.locator(".jp-MarkdownCell", has_text="Start of Solution to").first.wait_for(timeout=120000)
            headers = exercise.locator(".myst-exercise-header").all_inner_texts()
            assert any(h.strip().startswith("Exercise") for h in headers), headers
            assert ":label:" not in exercise.inner_text() and "{exercise}" not in exercise.inner_text()
            opener = page.locator(".jp-MarkdownCell", has_text="Start of Solution to").first
            assert opener.is_visible()
            # the solution's code cell right after it: folded, its code not shown
            solution = page.locator(".jp-CodeCell", has_text="check_output_size").first
            code = solution.locator(".jp-InputArea-editor")
            assert solution.locator(".jp-InputPlaceholder").count() == 1 and not code.is_visible()
            raw = [t for t in page.locator(".jp-MarkdownCell").all_inner_texts() if "```{" in t or "````{" in t]
            assert not raw, f"cells left as raw MyST: {raw[:2]}"
            exercise.screenshot(path=str(screenshot_dir / "chapter1_exercise_jupyterlab.png"))
            assert not errors, errors
        finally:
            page.close()


def test_explorer_in_jupyterlab(browser, lab_url, screenshot_dir):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(f"{lab_url}/lab/tree/explorer.ipynb")
        page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=60000)
        # Run the cell that shows the explorer once the kernel is up. A run asked for while
        # the kernel is still connecting can be dropped, so ask again if nothing happens.
        shown_selector = '[data-testid="sliding-filter-explorer"] [data-role="value"][data-value]'
        for attempt in range(4):
            page.wait_for_selector("text=| Idle", timeout=60000)
            page.locator(".jp-CodeCell").first.locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")
            try:
                page.wait_for_selector(shown_selector, timeout=30000)
                break
            except Exception:
                if attempt == 3:
                    page.screenshot(path=str(screenshot_dir / "explorer_jupyterlab_failed.png"))
                    raise
        first = page.locator('[data-role="value"]').get_attribute("data-value")

        page.click('[data-role="next"]')                          # move the window
        page.wait_for_function("() => document.querySelector('[data-testid=sliding-filter-explorer]').dataset.position === '6'")
        weight = page.locator('[data-role="kernel-cell"][data-row="0"][data-col="0"]')
        weight.click(click_count=3)
        page.keyboard.type("3")                                   # edit a weight, as a reader types it
        page.wait_for_function("() => document.querySelector('[data-role=preset]').value === 'custom'")
        shown = float(page.locator('[data-role="value"]').get_attribute("data-value"))
        assert page.locator('[data-role="value"]').get_attribute("data-value") != first

        check = page.locator(".jp-CodeCell", has_text="python sees")
        check.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        output = check.locator(".jp-OutputArea-output")
        output.wait_for(timeout=30000)
        words = output.inner_text().split()
        assert words[:2] == ["python", "sees"]
        assert float(words[2]) == 3.0, "Python sees the weight typed in the browser"
        assert int(words[3]) == 6, "Python sees the window moved in the browser"
        assert float(words[4]) == pytest.approx(shown, abs=1e-6), "Python computes the value the browser shows"
        page.locator('[data-testid="sliding-filter-explorer"]').screenshot(path=str(screenshot_dir / "explorer_jupyterlab.png"))
        assert not errors, errors
    finally:
        page.close()

"""The built site as a reader meets it: headless Chromium, no network.

Needs a built site (ALEXNET_SITE, default _build/html) and a Chromium; `make test`
builds the site in the gpu-smoke profile and runs these against it.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
import torch
import torch.nn.functional as F

pytestmark = pytest.mark.browser

CHAPTER_1 = "notebooks/01_convolution_by_hand.html"
CHAPTER_9 = "notebooks/09_what_the_network_learned.html"


def pages(site: Path) -> list[str]:
    skip = {"genindex.html"}
    return sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if "_static" not in p.parts and "_sources" not in p.parts and p.name not in skip
    )


# --- static checks of the HTML ------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        for key in ("href", "src"):
            if a.get(key) and tag in {"a", "img", "script", "link", "iframe", "source"}:
                self.links.append((tag, a[key] or ""))


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


class _Outputs(HTMLParser):
    """The text of every cell output of a page (the ``cell_output`` blocks)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # > 0 inside an output block, counting the divs opened there
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "div":
            return
        classes = (dict(attrs).get("class") or "").split()
        if self.depth:
            self.depth += 1
        elif "cell_output" in classes:
            self.depth = 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.texts[-1] += data


STRAY = {
    "an object's address (a repr, not a result)": re.compile(r"<[\w.]+(?: object)? at 0x[0-9a-f]+>"),
    "a path of the build machine": re.compile(r"(?<![\w.])/(?:tmp|root|home|work|usr|var|private)/[\w./-]+"),
    "an installed package's path": re.compile(r"site-packages"),
    "a warning (fix its cause)": re.compile(r"\b[A-Z]\w*Warning: .{0,60}"),
}


def test_outputs_show_results_not_strays_or_machine_paths(site_dir):
    """No cell prints a Python object's repr with its address (torch.manual_seed's generator, say), a
    folder of the machine that built the book, or a warning: a reader can do nothing with any of them."""
    found = []
    for page in pages(site_dir):
        parser = _Outputs()
        parser.feed((site_dir / page).read_text(encoding="utf-8"))
        for text in parser.texts:
            for what, pattern in STRAY.items():
                for match in pattern.findall(text):
                    found.append(f"{page}: {what}: {match}")
    assert not found, "\n".join(found[:20])


def test_no_resource_comes_from_another_host(site_dir):
    """Scripts, styles, images and frames are all files of the site (links to elsewhere are fine)."""
    bad = []
    for page in pages(site_dir):
        for tag, url in _parse(site_dir / page).links:
            if tag != "a" and urlsplit(url).scheme in {"http", "https"} or url.startswith("//"):
                bad.append(f"{page}: <{tag}> {url}")
    assert not bad, "resources loaded from the network:\n" + "\n".join(bad)


def test_internal_links_and_anchors_resolve(site_dir):
    parsed = {page: _parse(site_dir / page) for page in pages(site_dir)}
    broken = []
    for page, parser in parsed.items():
        for tag, url in parser.links:
            parts = urlsplit(url)
            if parts.scheme or url.startswith(("//", "mailto:", "javascript:")):
                continue
            target = (site_dir / page).parent / unquote(parts.path) if parts.path else site_dir / page
            target = target.resolve()
            if not target.exists():
                broken.append(f"{page}: <{tag}> {url} (no file {target.relative_to(site_dir.resolve())})")
                continue
            if parts.fragment and tag == "a" and target.suffix == ".html":
                rel = target.relative_to(site_dir.resolve()).as_posix()
                ids = parsed[rel].ids if rel in parsed else _parse(target).ids
                if parts.fragment not in ids:
                    broken.append(f"{page}: {url} (no id {parts.fragment!r} in {rel})")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


# --- every page in the browser -----------------------------------------------


def test_every_page_renders_offline(site_dir, open_page, screenshot_dir):
    problems = []
    for path in pages(site_dir):
        rec = open_page(path)
        page = rec.page
        html = (site_dir / path).read_text(encoding="utf-8")
        # maths: every formula typeset by MathJax
        n_math = page.locator("span.math, div.math").count()
        if n_math:
            try:
                page.wait_for_function(
                    "n => document.querySelectorAll('mjx-container').length >= n", arg=n_math, timeout=15000
                )
            except Exception:
                typeset = page.locator("mjx-container").count()
                problems.append(f"{path}: {typeset} of {n_math} formulas typeset")
        # widgets: every widget view rendered by the widget manager
        n_views = html.count('<script type="application/vnd.jupyter.widget-view+json">')
        if n_views:
            try:  # the widget manager renders each view into a .widget-subarea before its script tag
                page.wait_for_function(
                    "n => document.querySelectorAll('.widget-subarea > *').length >= n", arg=n_views, timeout=15000
                )
            except Exception:
                shown = page.locator(".widget-subarea > *").count()
                problems.append(f"{path}: {shown} of {n_views} widgets rendered")
        # images: all loaded
        broken = page.evaluate(
            "() => [...document.images].filter(i => i.complete && i.naturalWidth === 0).map(i => i.src)"
        )
        problems += [f"{path}: image did not load: {src}" for src in broken]
        # chapters: measured run time and memory under the title, for every profile
        if path.startswith("notebooks/"):
            badges = page.locator(".compute-badge").all_inner_texts()
            if len(badges) != 3 or not all(b.split()[0] in ("smoke", "cpu", "gpu") for b in badges):
                problems.append(f"{path}: compute badges missing or wrong: {badges}")
            elif not any("MiB" in b for b in badges):
                problems.append(f"{path}: no measured budget in the badges: {badges}")
        problems += [f"{path}: request to another host: {url}" for url in rec.external]
        problems += [f"{path}: {failure}" for failure in rec.failed]
        problems += [f"{path}: {error}" for error in rec.errors]
        page.screenshot(path=str(screenshot_dir / (path.replace("/", "__").removesuffix(".html") + ".png")))
    assert not problems, "\n".join(problems)


def test_search_works_offline(open_page):
    rec = open_page("search.html?q=convolution")
    rec.page.wait_for_selector("#search-results li", timeout=15000)
    assert rec.page.locator("#search-results li").count() >= 1
    assert not rec.external


# --- the sliding-filter explorer, with no kernel -------------------------------


def widget_states(site_dir: Path, page: str, marker: str) -> list[dict]:
    """The saved states of the widgets on ``page`` whose JavaScript contains ``marker``."""
    html = (site_dir / page).read_text(encoding="utf-8")
    match = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S)
    assert match, f"{page} holds no widget state"
    states = json.loads(match.group(1))["state"]
    return [m["state"] for m in states.values() if marker in str(m["state"].get("_esm", ""))]


def explorer_state(site_dir: Path) -> dict:
    found = widget_states(site_dir, CHAPTER_1, "sliding-filter-explorer")
    assert len(found) == 1, "expected one sliding-filter explorer in Chapter 1"
    return found[0]


def reference_map(image, kernel, stride: int, padding: int) -> np.ndarray:
    """The feature map by PyTorch (which drops rows/columns the stride never reaches)."""
    x = torch.tensor(np.asarray(image, dtype=np.float64))[None, None]
    w = torch.tensor(np.asarray(kernel, dtype=np.float64))[None, None]
    return F.conv2d(x, w, stride=stride, padding=padding)[0, 0].numpy()


class Explorer:
    """Reads and drives the explorer's DOM."""

    def __init__(self, page) -> None:
        self.page = page
        self.root = page.locator('[data-testid="sliding-filter-explorer"]')
        self.root.wait_for(timeout=20000)

    def role(self, name: str):
        return self.root.locator(f'[data-role="{name}"]')

    def value(self) -> float:
        return float(self.role("value").get_attribute("data-value"))

    def position(self) -> int:
        return int(self.root.get_attribute("data-position"))

    def filled(self) -> dict[tuple[int, int], float]:
        cells = self.page.evaluate(
            """root => [...root.querySelectorAll('[data-role="feature-map"] > [data-value]')]
                     .map(c => [Number(c.dataset.row), Number(c.dataset.col), Number(c.dataset.value)])""",
            self.root.element_handle(),
        )
        return {(i, j): v for i, j, v in cells}

    def map_shape(self) -> tuple[int, int]:
        cells = self.role("feature-map").locator(":scope > .sfe-cell")
        rows = {int(r) for r in cells.evaluate_all("cs => cs.map(c => c.dataset.row)")}
        cols = {int(c) for c in cells.evaluate_all("cs => cs.map(c => c.dataset.col)")}
        return len(rows), len(cols)

    def check(self, ref: np.ndarray) -> None:
        """The shown value, the current window and every filled cell agree with `ref`."""
        out_w = ref.shape[1]
        p = self.position()
        i, j = divmod(p, out_w)
        assert self.map_shape() == ref.shape
        assert self.value() == pytest.approx(ref[i, j], abs=1e-9)
        assert self.role("value").inner_text() == f"{ref[i, j]:.3f}".replace("-0.000", "0.000")
        filled = self.filled()
        assert len(filled) == p + 1, "the feature map fills in up to the current window"
        for (r, c), v in filled.items():
            assert v == pytest.approx(ref[r, c], abs=1e-9), f"feature map cell ({r}, {c})"


def test_explorer_is_interactive_without_a_kernel(site_dir, open_page, screenshot_dir):
    state = explorer_state(site_dir)
    image = np.array(state["image"])
    kernel = np.array(state["kernel"], dtype=float)
    rec = open_page(CHAPTER_1)
    ex = Explorer(rec.page)
    ex.root.scroll_into_view_if_needed()

    # 1. as saved: the position the notebook chose
    ref = reference_map(image, kernel, 1, 0)
    assert ex.position() == state["position"]
    ex.check(ref)

    # 2. move the window with the keyboard on the slider, and with the next button
    before = ex.position()
    ex.role("position").focus()
    rec.page.keyboard.press("ArrowRight")
    ex.role("next").click()
    assert ex.position() == before + 2
    ex.check(ref)

    # 3. click a pixel of the input: the window centres on it
    ex.role("input").locator('[data-row="10"][data-col="3"]').click()
    assert ex.position() == 9 * ref.shape[1] + 2
    ex.check(ref)

    # 4. edit one filter weight: the value and the whole feature map follow
    cell = ex.role("kernel").locator('[data-row="1"][data-col="1"]')
    cell.fill("2.5")
    cell.press("Enter")
    kernel[1, 1] = 2.5
    ref = reference_map(image, kernel, 1, 0)
    assert ex.role("preset").input_value() == "custom"
    ex.check(ref)
    ex.root.screenshot(path=str(screenshot_dir / "explorer_edited.png"))

    # 5. a preset filter
    ex.role("preset").select_option("box blur")
    kernel = np.array(state["presets"]["3"]["box blur"])  # 1/9, as stored (6 decimals)
    ref = reference_map(image, kernel, 1, 0)
    ex.check(ref)

    # 6. padding 1 keeps the size; "fill all" completes the map
    ex.role("padding").select_option("1")
    ex.role("fill-all").click()
    ref = reference_map(image, kernel, 1, 1)
    assert ref.shape == image.shape
    ex.check(ref)

    # 7. stride 2 without padding: 16 - 3 = 13 is odd, so the last row and column are never seen
    ex.role("padding").select_option("0")
    ex.role("stride").select_option("2")
    ex.role("fill-all").click()
    ref = reference_map(image, kernel, 2, 0)
    ex.check(ref)
    unseen = ex.role("input").locator(".sfe-unseen").count()
    assert unseen == image.shape[0] + image.shape[1] - 1
    assert "do not fit evenly" in ex.role("size-note").inner_text()

    # 8. a 5x5 kernel
    ex.role("kernel-size").select_option("5")
    ex.role("stride").select_option("1")
    ex.role("fill-all").click()
    kernel = np.array(state["presets"]["5"]["box blur"])
    ex.check(reference_map(image, kernel, 1, 0))
    ex.root.screenshot(path=str(screenshot_dir / "explorer_5x5.png"))
    assert not rec.errors and not rec.external and not rec.failed


# --- the feature-map explorer (Chapter 9), with no kernel ----------------------------

VIRIDIS = [(68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
           (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)]


def viridis(v: int) -> np.ndarray:
    """The explorer's colour for a byte, as its JavaScript computes it."""
    x = v / 255 * (len(VIRIDIS) - 1)
    i = min(int(x), len(VIRIDIS) - 2)
    t = x - i
    return np.array([round(a + t * (b - a)) for a, b in zip(VIRIDIS[i], VIRIDIS[i + 1])])


def saved_map(state: dict, image: int, layer: int, channel: int) -> np.ndarray:
    import base64

    m = state["maps"][image][layer]
    data = np.frombuffer(base64.b64decode(m["data"]), dtype=np.uint8)
    return data.reshape(m["channels"], m["height"], m["width"])[channel]


def canvas_pixels(page, root, testid: str) -> np.ndarray:
    rgba = page.evaluate(
        """([root, id]) => { const c = root.querySelector(`[data-testid="${id}"]`);
               const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
               return [c.height, c.width, Array.from(d)]; }""",
        [root.element_handle(), testid],
    )
    h, w, values = rgba
    return np.array(values, dtype=np.uint8).reshape(h, w, 4)[..., :3]


def check_map(page, root, state: dict, image: int, layer: int, channel: int) -> None:
    """Every cell of the drawn map has the colour of the saved byte for that cell."""
    expected = saved_map(state, image, layer, channel)
    drawn = canvas_pixels(page, root, "fmx-map")
    scale = drawn.shape[0] // expected.shape[0]
    assert drawn.shape[:2] == (expected.shape[0] * scale, expected.shape[1] * scale)
    centres = drawn[scale // 2::scale, scale // 2::scale]
    want = np.array([[viridis(int(v)) for v in row] for row in expected])
    assert np.abs(centres.astype(int) - want).max() <= 1


def test_feature_map_explorer_is_interactive_without_a_kernel(site_dir, open_page, screenshot_dir):
    states = widget_states(site_dir, CHAPTER_9, "feature-map-explorer")
    assert states, "Chapter 9 holds no feature-map explorer"
    state = max(states, key=lambda s: len(s["layers"]))  # the chapter's (the exercise shows one layer)
    rec = open_page(CHAPTER_9)
    root = rec.page.locator('[data-testid="feature-map-explorer"]').first
    root.wait_for(timeout=20000)
    root.scroll_into_view_if_needed()
    assert root.get_attribute("data-layer") == state["layers"][0]
    check_map(rec.page, root, state, 0, 0, 0)
    grid = root.locator('[data-testid="fmx-grid"] canvas')
    assert grid.count() == state["maps"][0][0]["channels"]

    # the next-channel button, then a click on a thumbnail
    root.locator('button[aria-label="next channel"]').click()
    assert root.get_attribute("data-channel") == "1"
    check_map(rec.page, root, state, 0, 0, 1)
    grid.nth(5).click()
    assert root.get_attribute("data-channel") == "5"
    check_map(rec.page, root, state, 0, 0, 5)

    # another layer (the channel starts again at 0), another image
    root.locator('select[aria-label="layer"]').select_option("1")
    assert root.get_attribute("data-layer") == state["layers"][1] and root.get_attribute("data-channel") == "0"
    assert grid.count() == state["maps"][0][1]["channels"]
    check_map(rec.page, root, state, 0, 1, 0)
    root.locator('select[aria-label="image"]').select_option("2")
    assert root.get_attribute("data-image") == "2"
    check_map(rec.page, root, state, 2, 1, 0)
    shown = canvas_pixels(rec.page, root, "fmx-input")
    assert shown.std() > 0, "the input image is drawn"
    root.screenshot(path=str(screenshot_dir / "feature_map_explorer.png"))
    assert not rec.errors and not rec.external and not rec.failed


def test_result_tables_and_pasted_numbers_render(site_dir):
    """Tables that cells display are HTML tables, and the side-by-side page shows numbers, not reprs."""
    for page, tables in (("notebooks/06_alexnet_architecture.html", 2), ("notebooks/10_ablations_and_legacy.html", 2)):
        html = (site_dir / page).read_text(encoding="utf-8")
        assert html.count("<table") >= tables, page
    side = (site_dir / "book" / "side_by_side.html").read_text(encoding="utf-8")
    assert "IPython.core.display" not in side and "object at 0x" not in side
    assert side.count("±") >= 8  # the ablation rows carry their standard errors
    assert not re.search(r"<code[^>]*>[^<]*(±|points|top-1)", side), "a pasted result is shown as code"

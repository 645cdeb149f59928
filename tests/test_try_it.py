"""The page "Try it: AlexNet on your photograph" (book/try_it.md) against the library.

Without a browser: the page's preprocessing (book/try_it/preprocess.js, run by Node) cuts the
same patch as BookNetwork.patch, byte for byte. In headless Chromium (``browser`` marker; the
built site served on 127.0.0.1, every other request blocked): the page's guesses, feature maps
and occlusion map against PyTorch's on the same weights, awkward files, the keyboard, a
phone-sized screen, and the page opened as a file.

The page runs the network its build exported: the shipped one, or the file that
ALEXNET_TRY_IT_WEIGHTS named when the site was built (set it here too); the tests check the
page's record of the weights' SHA-256 first.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from alexnet_lib import data, datasets, pretrained, viz
from alexnet_lib.full_run import OCCLUSION_SIZE, OCCLUSION_STRIDE

ROOT = Path(__file__).resolve().parents[1]
PAGE = "book/try_it.html"
PREPROCESS_JS = ROOT / "book" / "try_it" / "preprocess.js"
TOLERANCE = 0.02  # on each probability, page against PyTorch


# --- the preprocessing in JavaScript, without a browser -----------------------------------------

def _images() -> list[tuple[str, torch.Tensor]]:
    rng = np.random.default_rng(0)
    images = [(path.name, data.read_image(path)) for path, _ in pretrained.sample_photos()[:3]]
    for h, w in [(1, 1), (3, 500), (601, 379), (146, 146), (147, 300), (1000, 999), (2000, 3000)]:
        images.append((f"random {h}x{w}", torch.from_numpy(rng.integers(0, 256, (3, h, w), dtype=np.uint8))))
    return images


def test_preprocess_js_cuts_pytorchs_patch_byte_for_byte(tmp_path):
    """cutPatch on an image's RGBA bytes gives BookNetwork.patch's bytes (torchvision's antialiased
    resize of uint8 pixels and its centre crops) for photographs and odd sizes: 1x1, thin, square."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    cases = []
    for i, (name, x) in enumerate(_images()):
        rgba = torch.cat([x, torch.full((1, *x.shape[1:]), 255, dtype=torch.uint8)]).permute(1, 2, 0)
        rgba.contiguous().numpy().tofile(tmp_path / f"{i}.rgba")
        cases.append({"name": name, "file": str(tmp_path / f"{i}.rgba"), "width": x.shape[2], "height": x.shape[1]})
    from alexnet_lib.run_data import square_size

    script = tmp_path / "run.mjs"
    script.write_text(f"""
import {{ cutPatch }} from {json.dumps(PREPROCESS_JS.as_uri())};
import fs from "node:fs";
const out = [];
for (const c of {json.dumps(cases)}) {{
  const rgba = new Uint8Array(fs.readFileSync(c.file));
  const read = (x, y, w, h) => {{
    const band = new Uint8Array(w * h * 4);
    for (let r = 0; r < h; r++) band.set(rgba.subarray(((y + r) * c.width + x) * 4, ((y + r) * c.width + x + w) * 4), r * w * 4);
    return band;
  }};
  const {{ patch }} = await cutPatch(read, c.width, c.height, {square_size(128)}, 128);
  out.push(Buffer.from(patch).toString("base64"));
}}
console.log(JSON.stringify(out));
""")
    result = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=120, check=True)
    patches = json.loads(result.stdout)
    from torchvision.transforms import v2

    steps = v2.Compose([*data.square_steps(square_size(128)), v2.CenterCrop(128)])
    for (name, x), got in zip(_images(), patches):
        want = steps(x).permute(1, 2, 0).contiguous().numpy().ravel()
        got = np.frombuffer(base64.b64decode(got), dtype=np.uint8)
        assert np.array_equal(got, want), f"{name}: {np.count_nonzero(got != want)} bytes differ"


# --- in the browser --------------------------------------------------------------------------------

def _weights_path() -> Path | None:
    value = os.environ.get("ALEXNET_TRY_IT_WEIGHTS")
    return Path(value) if value else None


@pytest.fixture(scope="module")
def page_config(site_dir):
    path = site_dir / "try-it" / "config.json"
    if not path.exists():
        pytest.fail(f"the built site has no {path.relative_to(site_dir)}: its build had no network (see its warnings)")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def net(page_config):
    weights = _weights_path()
    file = weights or pretrained.BOOK_NETWORK_FILE
    if datasets.file_sha256(file) != page_config["weights_sha256"]:
        pytest.fail(f"the site was built with another network than {file}: set ALEXNET_TRY_IT_WEIGHTS as for its build")
    return pretrained.book_network(weights) if weights else pretrained.book_network()


def _summary(page, blob_bytes: bytes, name: str) -> dict | None:
    """Classify ``blob_bytes`` in the page (tryIt.classify, the path every photograph takes)."""
    return page.evaluate(
        """async ([b64, name]) => {
             const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
             const r = await tryIt.classify(new Blob([bytes]), name);
             if (!r) return null;
             return { probabilities: r.probabilities, top: r.top.map((t) => t.index), width: r.width, height: r.height,
                      patch: btoa(String.fromCharCode(...r.patch)), runMs: r.runMs }; }""",
        [base64.b64encode(blob_bytes).decode(), name])


def _ready(rec):
    rec.page.wait_for_function("window.tryIt !== undefined", timeout=30000)
    rec.page.evaluate("tryIt.ready")
    assert rec.page.get_attribute('[data-testid="try-it"]', "data-state") == "ready"


def _test_photographs() -> list[Path]:
    """Three test photographs of each Imagenette class where the data is on this machine."""
    root = os.environ.get(datasets.ENV_VAR)
    val = Path(root) / datasets.IMAGENETTE_224 / "val" if root else None
    if val is None or not val.is_dir():
        return []
    return [p for folder in sorted(val.iterdir()) if folder.is_dir() for p in sorted(folder.glob("*.JPEG"))[:3]]


def _compare(net, results: dict[str, dict], sources: dict[str, Path | torch.Tensor]) -> list[str]:
    """The page's answers against PyTorch's; returns the names whose best guess differs."""
    probs = torch.softmax(net(net.preprocess(list(sources.values()))), dim=1).detach().numpy()
    differ = []
    for (name, result), p in zip(results.items(), probs):
        assert np.abs(np.array(result["probabilities"]) - p).max() <= TOLERANCE, name
        if result["top"][0] != int(p.argmax()):
            differ.append(name)
    return differ


@pytest.mark.browser
def test_page_answers_as_pytorch_does(open_page, net, screenshot_dir):
    rec = open_page(PAGE)
    _ready(rec)
    photos = [path for path, _ in pretrained.sample_photos()] + _test_photographs()
    results, patches_differ = {}, []
    for path in photos:
        result = _summary(rec.page, path.read_bytes(), path.name)
        assert result is not None, rec.page.inner_text('[data-role="status"]')
        results[str(path)] = result
        got = np.frombuffer(base64.b64decode(result["patch"]), dtype=np.uint8)
        want = net.patch(path).permute(1, 2, 0).contiguous().numpy().ravel()
        if not np.array_equal(got, want):
            patches_differ.append(f"{path.name}: max {np.abs(got.astype(int) - want).max()}")
    differ = _compare(net, results, {name: Path(name) for name in results})
    assert len(differ) <= 1, f"best guesses differ from PyTorch's for {differ}"
    print(f"{len(photos)} photographs; best guess differs for {len(differ)}; patches differ for {patches_differ}")
    assert len(photos) >= 10 + (20 if _test_photographs() else 0)
    assert not rec.errors and not rec.external and not rec.failed


@pytest.mark.browser
def test_feature_maps_and_occlusion_match_the_library(open_page, net, screenshot_dir):
    rec = open_page(PAGE)
    _ready(rec)
    path, _ = pretrained.sample_photos()[0]
    rec.page.locator(f'[data-sample="{path.name}"]').click()
    rec.page.wait_for_selector('[data-testid="try-it"][data-state="done"]', timeout=30000)
    page_input = np.array(rec.page.evaluate("Array.from(tryIt.current().input)"), dtype=np.float32)
    x = net.preprocess([path])
    # The page's input is the library's (tolerance: float32 rounding of the same bytes)
    assert np.abs(page_input - x.numpy().ravel()).max() <= 1e-5
    # conv1's maps, after the ReLU: tolerance 1e-4 of their largest value (float32 arithmetic in
    # another order: ONNX Runtime's WebAssembly against PyTorch)
    maps = np.array(rec.page.evaluate("Array.from(tryIt.current().maps)"), dtype=np.float32).reshape(96, 30, 30)
    want = viz.activations(net, x, ["relu1"])["relu1"][0].numpy()
    assert np.abs(maps - want).max() <= 1e-4 * max(1.0, float(np.abs(want).max()))
    # point at a map: its kernel is shown large beside it
    rec.page.locator('[data-role="maps"] button').nth(40).hover()
    assert rec.page.get_attribute('[data-testid="try-it"]', "data-channel") == "40"
    assert rec.page.locator('[data-role="kernels"] canvas').nth(40).evaluate("c => c.classList.contains('try-it-selected')")
    # the occlusion map, as the button computes it, against viz.occlusion_map
    rec.page.locator('[data-role="occlusion-button"]').click()
    rec.page.wait_for_function("tryIt.current().occlusion !== null", timeout=60000)
    occlusion = rec.page.evaluate("tryIt.current().occlusion")
    label = int(rec.page.evaluate("tryIt.current().top[0].index"))
    heat = viz.occlusion_map(net, x[0], label, OCCLUSION_SIZE, OCCLUSION_STRIDE).numpy()
    got = np.array(occlusion["values"]).reshape(occlusion["rows"], occlusion["columns"])
    assert occlusion["label"] == label and got.shape == heat.shape == (13, 13)
    assert np.abs(got - heat).max() <= 1e-4
    rec.page.locator('[data-testid="try-it"]').screenshot(path=str(screenshot_dir / "try_it_occlusion.png"))
    assert not rec.errors and not rec.external and not rec.failed


def _jpeg(array: np.ndarray, **options) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", **options)
    return buffer.getvalue()


@pytest.mark.browser
def test_awkward_files_get_an_answer_or_a_message(open_page, net, tmp_path):
    from PIL import Image

    rec = open_page(PAGE)
    _ready(rec)
    chooser = rec.page.locator('[data-role="file"]')
    status = rec.page.locator('[data-role="status"]')
    state = '[data-testid="try-it"][data-state="{}"]'

    # not an image, whatever its name says
    (tmp_path / "notes.jpg").write_text("this is text, not a photograph")
    chooser.set_input_files(tmp_path / "notes.jpg")
    rec.page.wait_for_selector(state.format("error"), timeout=20000)
    assert "not a JPEG or PNG" in status.inner_text()
    # a GIF
    Image.new("RGB", (20, 20), (200, 30, 30)).save(tmp_path / "red.gif")
    chooser.set_input_files(tmp_path / "red.gif")
    rec.page.wait_for_selector(state.format("error"), timeout=20000)
    assert "not a JPEG or PNG" in status.inner_text()
    # a JPEG cut short
    photo = pretrained.sample_photos()[3][0].read_bytes()
    (tmp_path / "cut.jpg").write_bytes(photo[:200])
    chooser.set_input_files(tmp_path / "cut.jpg")
    rec.page.wait_for_selector(f'{state.format("error")}, {state.format("done")}', timeout=20000)

    rng = np.random.default_rng(1)
    files = {
        "one_pixel.png": None,
        "grey.jpg": _jpeg(np.asarray(Image.open(pretrained.sample_photos()[4][0]).convert("L"))),
        "huge.jpg": None,
    }
    Image.new("RGB", (1, 1), (40, 160, 90)).save(tmp_path / "one_pixel.png")
    big = np.zeros((8000, 12000, 3), dtype=np.uint8)  # 12,000 x 8,000: a smooth picture with some noise
    big[...] = np.linspace(0, 255, 12000, dtype=np.uint8)[None, :, None]
    big[2000:6000, 4000:8000] = rng.integers(0, 256, (4000, 4000, 3), dtype=np.uint8) // 2 + 64
    (tmp_path / "huge.jpg").write_bytes(_jpeg(big, quality=85))
    del big
    (tmp_path / "grey.jpg").write_bytes(files["grey.jpg"])
    results = {}
    for name in files:
        chooser.set_input_files(tmp_path / name)
        rec.page.wait_for_selector(state.format("done"), timeout=120000)
        result = rec.page.evaluate("({probabilities: tryIt.current().probabilities, top: tryIt.current().top.map(t => t.index),"
                                   " name: tryIt.current().name, width: tryIt.current().width})")
        assert result["name"] == name, status.inner_text()
        results[str(tmp_path / name)] = result
    assert results[str(tmp_path / "huge.jpg")]["width"] == 12000
    with torch.no_grad():
        differ = _compare(net, results, {name: Path(name) for name in results})
    assert not differ, f"best guesses differ from PyTorch's for {differ}"
    # the page still answers after all that
    rec.page.locator("[data-sample]").first.click()
    rec.page.wait_for_selector(state.format("done"), timeout=20000)
    assert not rec.errors and not rec.external and not rec.failed


@pytest.mark.browser
def test_keyboard_drop_alt_text_and_a_phone_screen(browser, site_url, screenshot_dir):
    page = browser.new_page(viewport={"width": 375, "height": 800})
    try:
        page.goto(f"{site_url}/{PAGE}")
        page.wait_for_function("window.tryIt !== undefined", timeout=30000)
        page.evaluate("tryIt.ready")
        # the file chooser opens from the keyboard: Tab reaches it, the space bar opens it
        page.click('[data-role="drop"] p')  # the text just before it: Tab goes on from there
        for _ in range(5):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.dataset.role === 'file'"):
                break
        assert page.evaluate("document.activeElement.dataset.role") == "file", "Tab never reached the file chooser"
        with page.expect_file_chooser(timeout=30000) as chooser:  # a busy machine is slow to answer
            page.keyboard.press("Space")
        chooser.value.set_files(str(pretrained.sample_photos()[6][0]))
        page.wait_for_selector('[data-testid="try-it"][data-state="done"]', timeout=30000)
        # a photograph dropped on the page (drag and drop, as a file manager does it)
        dropped = pretrained.sample_photos()[2][0]
        page.evaluate("""([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
            const zone = document.querySelector('[data-role="drop"]');
            for (const type of ["dragenter", "dragover", "drop"])
              zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }""", [base64.b64encode(dropped.read_bytes()).decode(), dropped.name])
        page.wait_for_function(f"tryIt.current() && tryIt.current().name === {json.dumps(dropped.name)}", timeout=30000)
        # images have alternative text; canvases that show pictures have labels
        assert page.evaluate("[...document.images].every(i => i.alt && i.alt.trim())")
        assert page.evaluate("""[...document.querySelectorAll('[data-testid="try-it"] canvas')]
                                  .every(c => c.getAttribute('aria-label') || c.closest('[aria-label]'))""")
        # nothing of the page sticks out of a 375-pixel screen
        wide = page.evaluate("""() => { const root = document.querySelector('[data-testid="try-it"]');
                                 return [root.scrollWidth - root.clientWidth, root.getBoundingClientRect().right,
                                         document.documentElement.scrollWidth]; }""")
        assert wide[0] <= 0 and wide[1] <= 375 and wide[2] <= 375, wide
        page.screenshot(path=str(screenshot_dir / "try_it_375px.png"), full_page=True)
    finally:
        page.close()


@pytest.mark.browser
def test_opened_as_a_file_it_says_how_to_serve_it(browser, site_dir):
    page = browser.new_page()
    try:
        page.goto((site_dir / PAGE).resolve().as_uri())
        status = page.locator('[data-testid="try-it"] [data-role="status"]')
        assert "Opened as a file" in status.inner_text() and "python -m http.server" in status.inner_text()
        assert page.get_attribute('[data-testid="try-it"]', "data-state") == "file"
    finally:
        page.close()

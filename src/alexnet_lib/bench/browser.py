"""The page "Try it" (``book/try_it.md``) measured in a real browser: what it downloads and how fast
it answers.

The built site is served from 127.0.0.1 (every request elsewhere is blocked) and opened in
headless Chromium, driven by Playwright (the ``test`` extra; the browser is Debian's
``chromium``, or ``CHROMIUM``). It measures, on a cold load (a fresh browser profile, nothing
cached):

- the bytes the page downloads (every response body, the book's theme included), and those of
  the network and ONNX Runtime alone;
- the time from the start of navigation to the first five guesses, a sample photograph
  clicked as soon as its button exists (so downloading, starting ONNX Runtime and the
  network, reading the photograph and the network's run all count);

then, with the page loaded, over ``runs`` photographs (the samples in turn): the network's
run alone (``session.run``: its median is "inference ms per photograph") and the whole path
from the file to the guesses; and occlusion maps of the first sample. These shared machines
are noisy, so the cold load and the occlusion map are repeated (``cold``, ``occlusions``) and
their medians reported, with every value and the machine's load average when it started.

    python -m alexnet_lib.bench browser [--site _build/html] [--runs 20] [--cold 3] [--json]
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import statistics
import threading
from pathlib import Path
from typing import Any

from ..machine import describe

try:  # the `test` extra
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the benchmark says what is missing
    sync_playwright = None

__all__ = ["BROWSER_TARGETS", "bench_browser", "format_browser"]

PAGE = "book/try_it.html"
BROWSER_TARGETS = {"download_mb": 25.0, "first_prediction_s": 3.0, "inference_ms": 40.0, "occlusion_s": 10.0}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


def _chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return str(shutil.which(candidate))
    raise FileNotFoundError("no Chromium found: install one (Debian: apt-get install chromium) or set CHROMIUM")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _cold_load(browser, url: str, timeout: int) -> tuple[Any, dict[str, int], list[str], float, dict[str, float]]:
    """Open the page in a fresh profile (nothing cached), click a sample photograph as soon as its
    button exists; returns (the page, bytes per URL, blocked URLs, seconds from the start of
    navigation to the five guesses, the page's marks)."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    sizes: dict[str, int] = {}
    external: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith((url, "data:", "blob:")):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("requestfinished", lambda request: sizes.__setitem__(request.url, request.sizes()["responseBodySize"]))
    page.goto(f"{url}/{PAGE}", wait_until="commit")
    page.locator("[data-sample]").first.click(timeout=timeout)
    page.wait_for_selector('[data-testid="try-it"][data-state="done"]', timeout=timeout)
    first = page.evaluate("tryIt.current().finishedAt") / 1000
    marks = page.evaluate("tryIt.marks")  # ms after navigation: each file in, the network started
    page.wait_for_load_state("networkidle")
    return page, sizes, external, first, marks


def bench_browser(site: str | os.PathLike[str] = "_build/html", runs: int = 20, cold: int = 3, occlusions: int = 3,
                  timeout_s: float = 120) -> dict[str, Any]:
    """Measure the page in ``site`` (a built book) as described in the module's documentation:
    ``cold`` cold loads, ``runs`` photographs and ``occlusions`` occlusion maps (medians reported)."""
    if sync_playwright is None:
        raise FileNotFoundError("the browser benchmark needs Playwright: pip install -e '.[test]'")
    site = Path(site)
    if not (site / PAGE).exists():
        raise FileNotFoundError(f"no {PAGE} in {site}: build the book first (make book)")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    timeout = int(timeout_s * 1000)
    load = os.getloadavg()[0]  # other work on the machine slows the page: say how much there was
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS, headless=True)
            loads = []
            for _ in range(cold):
                page, sizes, external, first, marks = _cold_load(browser, url, timeout)
                loads.append((first, marks["downloaded"] / 1000, marks["started"] / 1000))
                if len(loads) < cold:
                    page.context.close()
            config = page.evaluate("tryIt.config")
            heavy = {config["files"][k]["name"] for k in ("script", "runtime", "model")}
            total = sum(sizes.values())
            network = sum(v for k, v in sizes.items() if any(k.endswith("/try-it/" + name) for name in heavy))
            # The network's run and the whole path, one photograph at a time (the samples in turn).
            timings = page.evaluate(
                """async (runs) => {
                     const samples = tryIt.config.samples, out = [];
                     const base = new URL(document.querySelector('[data-testid="try-it"]').dataset.assets, document.baseURI);
                     for (let i = 0; i < runs; i++) {
                       const s = samples[i % samples.length];
                       const blob = await (await fetch(new URL(s.url, base))).blob();
                       const r = await tryIt.classify(blob, s.file);
                       out.push([r.runMs, r.totalMs]);
                     }
                     return out; }""", runs)
            # Occlusion maps of the first sample photograph.
            occlusion = page.evaluate(
                """async (n) => {
                     const s = tryIt.config.samples[0], out = [];
                     const base = new URL(document.querySelector('[data-testid="try-it"]').dataset.assets, document.baseURI);
                     await tryIt.classify(await (await fetch(new URL(s.url, base))).blob(), s.file);
                     for (let i = 0; i < n; i++) { const o = await tryIt.occlude(); out.push([o.ms, o.rows * o.columns]); }
                     return out; }""", occlusions)
            version = browser.version
            browser.close()
    finally:
        server.shutdown()
    median = statistics.median
    measured = {
        "download_mb": round(total / 1e6, 2), "network_and_runtime_mb": round(network / 1e6, 2),
        "requests": len(sizes), "cold_loads": cold,
        "first_prediction_s": round(median(f for f, _, _ in loads), 2),
        "first_prediction_s_all": [round(f, 2) for f, _, _ in loads],
        "downloaded_s": round(median(d for _, d, _ in loads), 2),
        "network_started_s": round(median(n for _, _, n in loads), 2),
        "inference_ms": round(median(t[0] for t in timings), 1), "inference_runs": runs,
        "inference_ms_all": [round(t[0], 1) for t in timings],
        "photo_ms": round(median(t[1] for t in timings), 1),
        "occlusion_s": round(median(o[0] for o in occlusion) / 1000, 2),
        "occlusion_s_all": [round(o[0] / 1000, 2) for o in occlusion],
        "occlusion_positions": occlusion[0][1], "occlusion": config["occlusion"],
    }
    return {
        "benchmark": "browser", "page": PAGE, "machine": {**describe(threads=1), "load_average_1min": round(load, 2)},
        "browser": version, "onnxruntime_web": "1.30.0", "network": config.get("source", ""),
        "files_bytes": {k: v["bytes"] for k, v in config["files"].items() if "bytes" in v},
        "external_requests": external, "measured": measured, "targets": BROWSER_TARGETS,
        "targets_met": {k: measured[k] <= v for k, v in BROWSER_TARGETS.items()},
    }


def format_browser(result: dict[str, Any]) -> str:
    m, t = result["measured"], result["targets"]
    lines = [f"The page {result['page']} in Chromium {result['browser']} ({result['machine']['processor']}):"]
    for key, label, unit in (("download_mb", "downloaded, cold", "MB"), ("first_prediction_s", "first prediction", "s"),
                             ("inference_ms", f"network run, median of {m['inference_runs']}", "ms"),
                             ("occlusion_s", f"occlusion map, {m['occlusion_positions']} positions", "s")):
        met = "met" if result["targets_met"][key] else "not met"
        lines.append(f"  {label:<36} {m[key]:>8} {unit}  (target {t[key]:g} {unit}: {met})")
    lines.append(f"  {'file to five guesses, median':<36} {m['photo_ms']:>8} ms")
    return "\n".join(lines)

"""Shared fixtures. The browser fixtures serve a built site and drive headless Chromium; the data
policy's fixtures give a test an empty cache and a local web server."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Console messages that every Jupyter Book 1.x page logs and that do no harm: the theme
# resets an unset colour mode to "auto" on a first visit. (sphinx-thebe's settings, included
# twice, are dropped from the pages by book/_ext/offline_assets.py.)
KNOWN_HARMLESS_CONSOLE = ("Got invalid theme mode",)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _require_browser() -> bool:
    return os.environ.get("ALEXNET_REQUIRE_BROWSER") == "1"


def _skip_or_fail(message: str) -> None:
    if _require_browser():
        pytest.fail(message + " (ALEXNET_REQUIRE_BROWSER=1 makes this an error)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """The built book: ALEXNET_SITE, or _build/html."""
    site = Path(os.environ.get("ALEXNET_SITE", ROOT / "_build" / "html"))
    if not site.is_absolute():
        site = ROOT / site
    if not (site / "index.html").exists():
        _skip_or_fail(f"no built site at {site}: run `make book` (or `make test-book`) first")
    return site


@pytest.fixture(scope="session")
def site_url(site_dir: Path) -> Iterator[str]:
    """The site served over HTTP on localhost, as a reader's browser would load it."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def chromium_executable() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


@pytest.fixture(scope="session")
def browser():
    executable = chromium_executable()
    if executable is None:
        _skip_or_fail("no Chromium found: run tools/ensure_chromium.sh or set CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class PageRecorder:
    """A browser page that blocks and records every request leaving localhost, and logs problems."""

    def __init__(self, browser, site_url: str) -> None:
        self.site_url = site_url
        self.page = browser.new_page(viewport={"width": 1300, "height": 900})
        self.external: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda err: self._error(f"page error: {err}"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        self.page.on("requestfailed", self._request_failed)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.site_url) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def _request_failed(self, request) -> None:
        if request.url.startswith(self.site_url):
            self.failed.append(f"failed {request.url}: {request.failure}")

    def _console(self, message) -> None:
        if message.type == "error":
            self._error(f"console error: {message.text}")

    def _error(self, text: str) -> None:
        if not any(known in text for known in KNOWN_HARMLESS_CONSOLE):
            self.errors.append(text)

    def goto(self, path: str) -> None:
        self.page.goto(f"{self.site_url}/{path}", wait_until="load")
        self.page.wait_for_load_state("networkidle")

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def open_page(browser, site_url):
    pages: list[PageRecorder] = []

    def opener(path: str) -> PageRecorder:
        recorder = PageRecorder(browser, site_url)
        pages.append(recorder)
        recorder.goto(path)
        return recorder

    yield opener
    for recorder in pages:
        recorder.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = ROOT / "_build" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- the data policy's fixtures: an empty cache, a local web server -----------------------------


@pytest.fixture
def no_cache(tmp_path, monkeypatch):
    """An empty cache and no ALEXNET_DATA_DIR."""
    from alexnet_lib import datasets

    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv(datasets.CACHE_VAR, str(cache))
    monkeypatch.delenv("ALEXNET_DATA_DIR", raising=False)
    return cache


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over tmp_path/served."""
    served = tmp_path / "served"
    served.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """The book's cache (downloads, checked folders, runs) in the test's own folder; the data
    folder (ALEXNET_DATA_DIR) stays as it is."""
    monkeypatch.setenv("ALEXNET_CACHE_DIR", str(tmp_path / "cache"))

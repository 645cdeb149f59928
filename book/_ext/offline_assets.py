"""Sphinx extension: make the built book work with no network.

By default a Jupyter Book page loads MathJax, require.js, the widget manager
(`@jupyter-widgets/html-manager`) and anywidget from public CDNs, so maths and
widgets do not render offline (a classroom without internet, CI). This extension
serves all of them from the site itself:

- at build start it fetches the npm packages below from the npm registry (once,
  cached in ``.cache/npm/``), checks each file's SHA-256, and unpacks what the
  page needs into ``_build/vendor/``; anywidget's front end comes from the
  installed ``anywidget`` Python package;
- it adds that folder to ``html_static_path``, so the files land in
  ``_static/vendor/``, and writes ``widgets-config.js``, which tells require.js
  where anywidget lives. ``_config.yml`` points ``mathjax_path`` and myst-nb's
  ``nb_ipywidgets_js`` at these local copies.

It also drops sphinx-thebe's scripts and style sheet from the pages: the book has no Thebe
(``launch_buttons: thebe: false``), and its settings script, added twice, stops with an error.

Nothing vendored is committed. The folder is outside the book's own ``_static``
because Jupyter Book adds every script found there to every page.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

REGISTRY = "https://registry.npmjs.org"

# name, version, SHA-256 of the registry tarball
PACKAGES: dict[str, tuple[str, str]] = {
    "requirejs": ("2.3.8", "777158e89275e16bd51aec3ef714fbcb5dc45789e7078659933bc814916d7dec"),
    "@jupyter-widgets/html-manager": (
        "1.0.15",
        "2b9d65cb7913e1c7d671757a10008b32c9c2448d4429513371e55c07d6107638",
    ),
    "mathjax": ("3.2.2", "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"),
}

# MathJax ships many alternative entry points; the page uses only tex-mml-chtml.js.
_MATHJAX_SKIP = (
    "es5/tex-svg", "es5/tex-chtml-full", "es5/mml-svg", "es5/tex-mml-svg", "es5/node-main",
    "es5/mml-chtml", "es5/tex-chtml.js", "es5/output/svg",
)

WIDGETS_CONFIG_JS = """\
// Written by book/_ext/offline_assets.py: load widget front ends from this site, never a CDN.
(function () {
  var root = document.documentElement.getAttribute("data-content_root") || "./";
  var base = new URL(root + "_static/vendor/", window.location.href).href;
  window.requirejs.config({
    paths: {
      anywidget: base + "anywidget/index",
      // The widget manager finds its icon fonts next to its own module's URL.
      "@jupyter-widgets/html-manager/dist": base + "html-manager",
    },
  });
})();
"""


def _repo_root(app: Sphinx) -> Path:
    return Path(app.confdir).resolve()


def _tarball_url(name: str, version: str) -> str:
    short = name.split("/")[-1]
    return f"{REGISTRY}/{name}/-/{short}-{version}.tgz"


def _fetch(name: str, version: str, sha256: str, cache: Path) -> bytes:
    """The package's tarball from the cache or the registry, verified against its SHA-256."""
    path = cache / f"{name.replace('/', '__')}-{version}.tgz"
    if path.exists():
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() == sha256:
            return data
        logger.warning(f"offline_assets: cached {path} has the wrong SHA-256; fetching it again")
    url = _tarball_url(name, version)
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (fixed https URL)
            data = response.read()
    except OSError as err:
        raise ExtensionError(
            f"offline_assets: could not download {url} ({err}). The book vendors MathJax and the "
            "widget scripts from the npm registry on its first build; connect once, or copy a "
            f"verified {path.name} into {cache}/."
        ) from err
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ExtensionError(
            f"offline_assets: {url} has SHA-256 {digest}, expected {sha256}; refusing to use it."
        )
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return data


def _extract(data: bytes, members: dict[str, str], dest: Path) -> int:
    """Unpack the tarball members whose path starts with a key into ``dest / value``."""
    count = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            name = member.name.removeprefix("package/")
            for prefix, target in members.items():
                if not name.startswith(prefix):
                    continue
                if prefix == "es5/" and name.startswith(_MATHJAX_SKIP):
                    continue
                out = dest / target / name[len(prefix):] if prefix.endswith("/") else dest / target
                out.parent.mkdir(parents=True, exist_ok=True)
                extracted = tar.extractfile(member)
                assert extracted is not None
                out.write_bytes(extracted.read())
                count += 1
    return count


def _anywidget_js() -> Path:
    """anywidget's require.js (AMD) front end, shipped inside the anywidget Python package."""
    import anywidget

    path = Path(anywidget.__file__).parent / "nbextension" / "index.js"
    if not path.exists():
        raise ExtensionError(f"offline_assets: {path} is missing; reinstall anywidget")
    return path


def vendor(root: Path) -> Path:
    """Populate ``root/_build/vendor`` (idempotent) and return it."""
    dest = root / "_build" / "vendor"
    stamp = dest / ".stamp"
    wanted = repr(sorted(PACKAGES.items())) + str(_anywidget_js().stat().st_size)
    if stamp.exists() and stamp.read_text() == wanted:
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    cache = root / ".cache" / "npm"
    plan = {
        "requirejs": {"require.js": "vendor/require.js"},
        "@jupyter-widgets/html-manager": {"dist/": "vendor/html-manager/"},
        "mathjax": {"es5/": "vendor/mathjax/"},
    }
    for name, (version, sha256) in PACKAGES.items():
        n = _extract(_fetch(name, version, sha256, cache), plan[name], dest)
        logger.info(f"offline_assets: {name}@{version}: {n} files")
    # Source maps and the non-AMD bundle are not needed by the page.
    for extra in (dest / "vendor" / "html-manager").glob("*"):
        if extra.suffix == ".map" or extra.name in {"embed.js", "libembed-amd.js"} or extra.name.endswith(".txt"):
            extra.unlink()
    (dest / "vendor" / "anywidget").mkdir(parents=True)
    shutil.copy2(_anywidget_js(), dest / "vendor" / "anywidget" / "index.js")
    (dest / "vendor" / "widgets-config.js").write_text(WIDGETS_CONFIG_JS)
    stamp.write_text(wanted)
    return dest


def _builder_inited(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    dest = vendor(_repo_root(app))
    app.config.html_static_path.append(str(dest))


def _without_thebe(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Drop sphinx-thebe's scripts from a page when the book has no Thebe (``launch_buttons:
    thebe: false``). Jupyter Book loads sphinx-thebe all the same, which adds its settings to
    every page twice (the second copy stops with "Identifier 'THEBE_JS_URL' has already been
    declared"), a script that would fetch Thebe from a CDN, and its style sheet: nothing on the
    page uses them."""
    launch = (app.config.html_theme_options or {}).get("launch_buttons", {})
    if launch.get("thebe"):
        return
    if "script_files" in context:
        context["script_files"] = [
            script for script in context["script_files"]
            if "sphinx-thebe" not in str(script)
            and "THEBE_JS_URL" not in str(getattr(script, "attributes", {}).get("body", ""))
        ]
    if "css_files" in context:
        context["css_files"] = [css for css in context["css_files"] if "sphinx-thebe" not in str(css)]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _builder_inited)
    app.connect("html-page-context", _without_thebe)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

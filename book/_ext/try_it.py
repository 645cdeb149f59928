"""Sphinx extension: the page "Try it: AlexNet on your photograph" (``book/try_it.md``).

The page runs the book's network in the reader's browser with ONNX Runtime Web, so the
build puts these files into the folder ``try-it/`` at the site's root (not into
``_static/``, whose scripts Jupyter Book adds to every page; they are prepared in
``_build/try_it/site/try-it/`` when the build starts and copied when it ends):

- ONNX Runtime Web from the npm registry (pinned, its tarball checked against SHA-256 and
  cached in ``.cache/npm/`` as ``offline_assets`` does): ``ort.wasm.min.js`` with its
  WebAssembly (gzipped here; the page inflates it) and its loader module;
- the network, exported from :func:`alexnet_lib.pretrained.book_network` by
  :func:`alexnet_lib.onnx_export.page_assets` (cached under ``_build/try_it/`` until the
  weights or the exporter change), and conv1's kernels;
- the page's JavaScript and CSS (``book/try_it/``) and the library's sample photographs.

Two directives: ``{try-it}`` writes the page's interactive part with its configuration (the
library's constants, which the JavaScript reads; none is typed twice), and
``{try-it-figures}`` the page's measured figures from a results file
(``python -m alexnet_lib.bench browser``).

``ALEXNET_TRY_IT_WEIGHTS=file.npz`` builds the page with another network file (one written by
``pretrained.save_book_network``), for development; the default is the shipped network.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import io
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

from docutils import nodes
from offline_assets import _fetch  # the same download, check and cache as the other vendored files
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri

logger = logging.getLogger(__name__)

# ONNX Runtime Web: version and SHA-256 of its npm tarball, and the three files the page loads.
ORT_PACKAGE = ("onnxruntime-web", "1.30.0", "d2228df7e4616bc3348bf504ee888f3bec43789a273f0a63f3e68d203ce3bf71")
ORT_FILES = ("dist/ort.wasm.min.js", "dist/ort-wasm-simd-threaded.mjs", "dist/ort-wasm-simd-threaded.wasm")
FOLDER = "try-it"  # in the built site
WEIGHTS_ENV = "ALEXNET_TRY_IT_WEIGHTS"
RESULTS = "src/alexnet_lib/results/browser_try_it_cpu_2core.json"
_HERE = Path(__file__).resolve().parent


def _root(app: Sphinx) -> Path:
    return Path(app.confdir).resolve()


def _write_if_changed(path: Path, data: bytes) -> None:
    """Write only when the content differs, so that an unchanged file keeps its time (Sphinx
    re-reads the page when a file it depends on changes)."""
    if not path.exists() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _vendor_runtime(root: Path, dest: Path) -> dict[str, Any]:
    """ONNX Runtime Web's files into ``dest/ort/``; their names and sizes as the page needs them."""
    name, version, sha256 = ORT_PACKAGE
    data = _fetch(name, version, sha256, root / ".cache" / "npm")
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in ORT_FILES:
            extracted = tar.extractfile("package/" + member)
            if extracted is None:
                raise ExtensionError(f"try_it: {name}@{version} has no {member}")
            files[Path(member).name] = extracted.read()
    wasm = "ort-wasm-simd-threaded.wasm"
    files[wasm + ".gz"] = _gzip_bytes(files.pop(wasm))
    files["README.txt"] = (f"ONNX Runtime Web {version} (npm package {name}, MIT licence, Microsoft), the three files the page "
                           f"needs; the WebAssembly is gzipped. Its npm tarball has SHA-256 {sha256}.\n").encode()
    for file, content in files.items():
        _write_if_changed(dest / "ort" / file, content)
    return {"script": {"name": "ort/ort.wasm.min.js", "bytes": len(files["ort.wasm.min.js"])},
            "runtime": {"name": f"ort/{wasm}.gz", "bytes": len(files[wasm + ".gz"])}}


def _weights() -> Path | None:
    value = os.environ.get(WEIGHTS_ENV)
    return Path(value).resolve() if value else None


def _export_network(root: Path, dest: Path) -> dict[str, Any]:
    """The network's files (exported once per weights and exporter) into ``dest``; its configuration."""
    import torch

    from alexnet_lib import onnx_export, pretrained

    weights = _weights()
    file = weights or pretrained.BOOK_NETWORK_FILE
    if weights is None:
        pretrained.book_network()  # the shipped file, checked against its SHA-256 (raises if damaged)
    key = hashlib.sha256()
    for part in (file.read_bytes(), Path(onnx_export.__file__).read_bytes(), torch.__version__.encode()):
        key.update(hashlib.sha256(part).digest())
    cache = root / "_build" / "try_it" / f"network-{key.hexdigest()[:16]}"
    if not (cache / onnx_export.CONFIG_FILE).exists():
        for old in cache.parent.glob("network-*"):
            shutil.rmtree(old)
        logger.info(f"try_it: exporting the network to ONNX ({file.name})")
        onnx_export.page_assets(cache.with_suffix(".tmp"), weights)
        os.replace(cache.with_suffix(".tmp"), cache)
    config = json.loads((cache / onnx_export.CONFIG_FILE).read_text())
    model = onnx_export.MODEL_FILE + ".gz"
    for name in (model, onnx_export.KERNELS_FILE):
        _write_if_changed(dest / name, (cache / name).read_bytes())
    config["files"] = {"model": {"name": model, **config["files"][model]},
                       "kernels": {"name": onnx_export.KERNELS_FILE, **config["files"][onnx_export.KERNELS_FILE]},
                       "onnx": config["files"][onnx_export.MODEL_FILE]}
    return config


def _samples(dest: Path) -> list[dict[str, str]]:
    from alexnet_lib import pretrained

    samples = []
    for path, name in pretrained.sample_photos():
        _write_if_changed(dest / "samples" / path.name, path.read_bytes())
        samples.append({"file": path.name, "url": f"samples/{path.name}", "name": name})
    return samples


def build_assets(root: Path) -> tuple[Path, dict[str, Any] | None, str | None]:
    """Write the folder the site serves as ``try-it/`` (``_build/try_it/site/try-it``); returns (the
    folder above it, the page's configuration or None, and why not)."""
    site = root / "_build" / "try_it" / "site"
    dest = site / FOLDER
    for name in ("try_it.js", "preprocess.js", "try_it.css"):
        _write_if_changed(dest / name, (root / "book" / "try_it" / name).read_bytes())
    files = _vendor_runtime(root, dest)
    samples = _samples(dest)
    try:
        config = _export_network(root, dest)
    except Exception as err:  # noqa: BLE001 - the page says why it has no network; the build warns
        return site, None, f"{type(err).__name__}: {err}"
    config["files"].update(files)
    config["samples"] = samples
    text = json.dumps(config, sort_keys=True)
    _write_if_changed(dest / "config.json", text.encode())
    return site, config, None


def _builder_inited(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    _, config, problem = build_assets(_root(app))
    app.env.try_it_config = config  # type: ignore[attr-defined]
    if problem:
        logger.warning(f"try_it: the page 'Try it' has no network in this build ({problem}). Set {WEIGHTS_ENV} "
                       "to a network file to build it with another one.")


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    """Copy ``try-it/`` into the built site, replacing what an earlier build left there."""
    if exception is not None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / FOLDER
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(_root(app) / "_build" / "try_it" / "site" / FOLDER, dest)


class TryIt(SphinxDirective):
    """The page's interactive part, with its configuration (HTML builds only)."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        config = getattr(self.env, "try_it_config", None)
        if self.env.app.builder.format != "html":
            return [nodes.paragraph(text="The interactive part of this page runs in the book's website only.")]
        root = _root(self.env.app)
        self.env.note_dependency(str(root / "_build" / "try_it" / "site" / FOLDER / "config.json"))
        for name in ("try_it.html", "try_it.js", "preprocess.js", "try_it.css"):
            self.env.note_dependency(str(root / "book" / "try_it" / name))
        if config is None:
            return [nodes.paragraph(text="This build of the book has no network to run here (see the build's warnings).")]
        page = self.env.app.builder.get_target_uri(self.env.docname)
        assets = relative_uri(page, FOLDER + "/")
        # In a <script> element, "</" would end it: JSON allows writing "/" as "\/".
        text = json.dumps(config, sort_keys=True).replace("</", "<\\/")
        markup = ((root / "book" / "try_it" / "try_it.html").read_text()
                  .replace("@MODEL@", config["files"]["model"]["name"])
                  .replace("@RUNTIME@", config["files"]["runtime"]["name"])
                  .replace("@ASSETS@", html.escape(assets)).replace("@PAGE@", html.escape(page))
                  .replace("@CONFIG@", text))
        return [nodes.raw("", markup, format="html")]


def _table(rows: list[tuple[str, str, str]], header: tuple[str, str, str]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(header))
    table += group
    for _ in header:
        group += nodes.colspec(colwidth=1)
    head, body = nodes.thead(), nodes.tbody()
    group += head
    group += body
    for cells, parent in [(header, head)] + [(row, body) for row in rows]:
        line = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(text=cell)
            line += entry
        parent += line
    return table


class TryItFigures(SphinxDirective):
    """What the page costs, as measured (``python -m alexnet_lib.bench browser``): a table from
    the results file (the argument; default :data:`RESULTS`)."""

    optional_arguments = 1

    def run(self) -> list[nodes.Node]:
        path = _root(self.env.app) / (self.arguments[0] if self.arguments else RESULTS)
        self.env.note_dependency(str(path))
        if not path.exists():
            return [nodes.paragraph(text="Not measured yet: run python -m alexnet_lib.bench browser --json.")]
        r = json.loads(path.read_text())
        m, t = r["measured"], r["targets"]

        def met(key: str, unit: str) -> str:
            return f"at most {t[key]:g} {unit}: " + ("met" if m[key] <= t[key] else "not met")

        rows = [
            ("bytes the page downloads, cold (every file)", f"{m['download_mb']:.1f} MB", met("download_mb", "MB")),
            ("of which the network and ONNX Runtime (gzipped)", f"{m['network_and_runtime_mb']:.1f} MB", ""),
            (f"first prediction after a cold load (median of {m.get('cold_loads', 1)})",
             f"{m['first_prediction_s']:.2f} s", met("first_prediction_s", "s")),
            (f"one photograph through the network (median of {m['inference_runs']})", f"{m['inference_ms']:.0f} ms",
             met("inference_ms", "ms")),
            ("the same, from the file to the five guesses", f"{m['photo_ms']:.0f} ms", ""),
            (f"occlusion map ({m['occlusion_positions']} runs; median of {len(m.get('occlusion_s_all', [0]))})",
             f"{m['occlusion_s']:.1f} s",
             met("occlusion_s", "s")),
        ]
        machine = r["machine"]
        load = machine.get("load_average_1min")
        note = nodes.paragraph(text=(
            f"Measured on {machine['date']} in headless Chromium {r['browser']} on {machine['processor']} "
            f"({machine['cpu_count']} cores" + (f", load average {load:g} while it ran" if load is not None else "")
            + f"; ONNX Runtime Web {r['onnxruntime_web']}, WebAssembly, one thread), the site served from 127.0.0.1 "
            "by python -m http.server, which sends every file as it is: the rest of the bytes are the book's "
            "theme (scripts, styles, fonts), the same on every page and uncompressed here. "
            f"{r.get('note', '')}").strip())
        return [_table(rows, ("", "measured", "target")), note]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _builder_inited)
    app.connect("build-finished", _build_finished)
    app.add_directive("try-it", TryIt)
    app.add_directive("try-it-figures", TryItFigures)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

"""The student's path, tested as a student meets it (a stage of ``make test``).

A student installs the library from its wheel and runs the Colab edition of the chapters,
with no checkout and no ``../shared`` data beside them, and the chapters download what they
need. This script does the same on this machine, with nothing from the internet:

1. builds the wheel from the checkout's tracked files and checks that it carries every file
   of the package;
2. installs it into a new virtual environment outside the checkout (the dependencies, torch
   and the rest, are taken from this environment's site-packages as a plain path, without
   its ``.pth`` files, so that the checkout's editable install stays out);
3. serves small copies of the datasets on 127.0.0.1: Imagenette's 160 and 320 px releases
   and CIFAR-10's python release, each an archive with the real folder layout and its own
   SHA-256 (photographs from ``../shared/data`` where this machine has them, else the
   package's sample photographs), named to the library by ``ALEXNET_TEST_DOWNLOADS`` so
   that the chapters download them through the same code a student runs; torchvision's
   AlexNet weights (233 MB) are not served, so the chapters meet a failed download there,
   as a student offline would;
4. runs every chapter of ``colab/`` in that environment, in the ``cpu`` profile, from a
   fresh home folder, with every connection to another machine refused and written down.
   The ``cpu`` profile's data and code paths, with the ``smoke`` profile's sizes (epochs,
   image counts, benchmark sizes: ``ALEXNET_TEST_SIZES=smoke``) so that the stage fits in
   ``make test``; ``--cpu-sizes`` runs the ``cpu`` profile's own sizes (about 8 minutes).

It fails when a file of the package is missing from the wheel, a chapter stops with an
error, a chapter falls back to generated images (its banner) or the data comes from
anywhere but the download, or anything tries to reach another machine. For each chapter it
prints its time and where its data came from.

    python tools/student_path.py [--chapters 4,7] [--cpu-sizes] [--keep]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import json
import os
import pickle
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "src"))
from alexnet_lib import datasets, pretrained, profiles  # noqa: E402  (the addresses and names to stand in for)

PER_CLASS = {"train": 16, "val": 4}  # Imagenette photographs per class in the small copies
CIFAR_PER_BATCH, CIFAR_TEST = 100, 200
STAND_IN = "Generated images stand in"  # experiments.stand_in_banner's words

# Refuses and writes down every connection to another machine (and every name lookup of one)
# in the student's environment; installed there as sitecustomize.py.
GUARD = '''"""The student-path test: no connection leaves this machine (tools/student_path.py)."""
import os
import socket

_LOG = os.environ.get("STUDENT_PATH_CONNECTIONS")
_LOCAL = {"127.0.0.1", "::1", "localhost", None}


def _refuse(host, port):
    if _LOG:
        with open(_LOG, "a") as log:
            log.write(f"{host}:{port}\\n")
    raise OSError(f"the student-path test refuses connections to other machines ({host}:{port})")


def _host(address):
    return address[0] if isinstance(address, tuple) else None


_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and _host(address) not in _LOCAL:
        _refuse(_host(address), address[1])
    return _connect(self, address)


def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and _host(address) not in _LOCAL:
        _refuse(_host(address), address[1])
    return _connect_ex(self, address)


def getaddrinfo(host, port, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name not in _LOCAL:
        _refuse(name, port)
    return _getaddrinfo(host, port, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
'''

# Runs one notebook with nbclient in the student's environment (its kernel is that Python).
# Its kernel is reached through files, not TCP ports (Linux, macOS): a port that another
# process takes between being chosen and being bound stops a kernel from starting.
RUNNER = '''import os, sys, tempfile, nbformat
from nbclient import NotebookClient
from traitlets.config import Config
nb = nbformat.read(sys.argv[1], as_version=4)
config = Config()
with tempfile.TemporaryDirectory(prefix="kernels-") as sockets:
    if os.name == "posix":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = os.path.join(sockets, "kernel")
    client = NotebookClient(nb, timeout=1200, kernel_name="python3", config=config,
                            resources={"metadata": {"path": sys.argv[3]}})
    try:
        client.execute()
    finally:
        nbformat.write(nb, sys.argv[2])
'''


def say(text: str) -> None:
    print(f"student-path: {text}", flush=True)


# --- 1. the wheel --------------------------------------------------------------------------

def build_wheel(work: Path) -> Path:
    """The wheel, built from a copy of the checkout's tracked files (as a fresh clone has them)."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    source = work / "source"
    for name in tracked.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    "-w", str(work / "dist"), str(source)], check=True, cwd=work)
    wheel = next((work / "dist").glob("alexnet_lib-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    package = [n for n in tracked.decode().split("\0") if n.startswith("src/alexnet_lib/")]
    missing = [n for n in package if n.removeprefix("src/") not in names and not n.endswith(".gitignore")]
    if missing:
        raise SystemExit(f"student-path: files of the package missing from the wheel: {missing}")
    say(f"{wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB, all {len(package)} files of the package")
    return wheel


# --- 2. the student's environment ------------------------------------------------------------

def student_environment(work: Path, wheel: Path) -> Path:
    """A new virtual environment with the wheel, the connection guard and a Jupyter kernel; its Python."""
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (site / "sitecustomize.py").write_text(GUARD)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    where = subprocess.run([str(python), "-c", "import alexnet_lib; print(alexnet_lib.__file__)"], cwd=work,
                           capture_output=True, text=True, check=True).stdout.strip()
    if not where.startswith(str(site)):
        raise SystemExit(f"student-path: the new environment imports the library from {where}, not from the wheel")
    kernel = venv / "share" / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (the student's)", "language": "python"}))
    return python


# --- 3. the data, served -----------------------------------------------------------------------

def _tgz(folder: Path, dest: Path) -> None:
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)


def _imagenette_photos(rng: np.random.Generator) -> dict[str, dict[str, list[Image.Image]]]:
    """Photographs per split and class (WordNet id): from ../shared/data where it is, else the
    package's ten sample photographs, cut and flipped into several."""
    wnids = list(datasets.IMAGENETTE_CLASSES)
    shared = SHARED / "imagenette2-224"
    photos: dict[str, dict[str, list[Image.Image]]] = {split: {} for split in PER_CLASS}
    for split, count in PER_CLASS.items():
        for i, wnid in enumerate(wnids):
            files = sorted((shared / split / wnid).glob("*.JPEG"))[:count] if shared.is_dir() else []
            if len(files) == count:
                photos[split][wnid] = [Image.open(f).convert("RGB") for f in files]
                continue
            base = Image.open(pretrained.sample_photos()[i][0]).convert("RGB")
            made = []
            for _ in range(count):
                w, h = base.size
                x, y = int(rng.integers(0, w // 5 + 1)), int(rng.integers(0, h // 5 + 1))
                crop = base.crop((x, y, x + 4 * w // 5, y + 4 * h // 5))
                made.append(crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else crop)
            photos[split][wnid] = made
    return photos


def _imagenette_release(served: Path, work: Path, size: int, photos) -> Path:
    """A small imagenette2-<size>.tgz: train/<wnid>/ and val/<wnid>/, shorter sides <size> pixels."""
    folder = work / "releases" / f"imagenette2-{size}"
    for split, classes in photos.items():
        for wnid, images in classes.items():
            (folder / split / wnid).mkdir(parents=True, exist_ok=True)
            for k, image in enumerate(images):
                w, h = image.size
                scale = size / min(w, h)
                image.resize((round(w * scale), round(h * scale)), Image.Resampling.BILINEAR).save(
                    folder / split / wnid / f"{wnid}_{split}_{k}.JPEG", quality=90)
    dest = served / f"imagenette2-{size}.tgz"
    _tgz(folder, dest)
    return dest


def _cifar_release(served: Path, work: Path, rng: np.random.Generator) -> Path:
    """A small cifar-10-python.tar.gz: five training batches and a test batch, CIFAR-10's pickles
    of plain data (from ../shared/data's subset where it is, else random pixels)."""
    n_train = 5 * CIFAR_PER_BATCH
    subset = SHARED / "cifar10_subset.npz"
    if subset.is_file():
        with np.load(subset) as arrays:
            x_train, y_train = arrays["x_train"][:n_train], arrays["y_train"][:n_train]
            x_test, y_test = arrays["x_test"][:CIFAR_TEST], arrays["y_test"][:CIFAR_TEST]
    else:
        x_train, x_test = (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8) for n in (n_train, CIFAR_TEST))
        y_train, y_test = np.arange(n_train) % 10, np.arange(CIFAR_TEST) % 10
    folder = work / "releases" / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    def batch(name: str, x: np.ndarray, y: np.ndarray) -> None:
        rows = np.ascontiguousarray(x.transpose(0, 3, 1, 2).reshape(len(x), -1))
        (folder / name).write_bytes(pickle.dumps({b"batch_label": name.encode(), b"labels": [int(v) for v in y],
                                                  b"data": rows}, protocol=2))

    for i in range(5):
        part = slice(i * CIFAR_PER_BATCH, (i + 1) * CIFAR_PER_BATCH)
        batch(f"data_batch_{i + 1}", x_train[part], y_train[part])
    batch("test_batch", x_test, y_test)
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [c.encode() for c in datasets.CIFAR10_CLASSES]}))
    dest = served / "cifar-10-python.tar.gz"
    _tgz(folder, dest)
    return dest


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve_data(work: Path) -> tuple[Path, http.server.ThreadingHTTPServer]:
    """The small releases on 127.0.0.1 and the manifest that names them to the library."""
    served = work / "served"
    served.mkdir()
    rng = np.random.default_rng(0)
    photos = _imagenette_photos(rng)
    files = {datasets.IMAGENETTE["160"][0]: _imagenette_release(served, work, 160, photos),
             datasets.IMAGENETTE["320"][0]: _imagenette_release(served, work, 320, photos),
             datasets.CIFAR10_URL: _cifar_release(served, work, rng)}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    manifest = {url: {"url": f"{base}/{path.name}", "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
                for url, path in files.items()}
    # not served: the chapters meet a failed download, as a student without a network would
    manifest[pretrained.TORCHVISION_URL] = {"url": f"{base}/not-served/{pretrained.TORCHVISION_FILE}", "sha256": "0" * 64}
    (work / "downloads.json").write_text(json.dumps(manifest, indent=1))
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in files.values())
    say(f"serving {sizes} on {base}")
    return work / "downloads.json", server


# --- 4. the chapters ---------------------------------------------------------------------------

def _outputs(nb: dict) -> list[str]:
    texts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain") or ""
            texts.append("".join(text) if isinstance(text, list) else text)
    return texts


def run_chapters(work: Path, python: Path, manifest: Path, chapters: list[Path], *,
                 cpu_sizes: bool = False) -> list[str]:
    """Run each chapter (the ``cpu`` profile; its sizes, or the ``smoke`` profile's); the problems found."""
    home, student = work / "home", work / "student"
    home.mkdir()
    student.mkdir()
    (work / "run_one.py").write_text(RUNNER)
    log = work / "connections.log"
    # the host's tuning goes through (threads per process, glibc's allocator: see the Makefile's
    # `test`); nothing of the checkout's environment does
    keep = {"PATH", "LANG", "LC_ALL", "TERM", "TMPDIR", "OMP_NUM_THREADS", "MALLOC_MMAP_THRESHOLD_",
            "MALLOC_TRIM_THRESHOLD_"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(home), PATH=f"{python.parent}:{env.get('PATH', '')}", PYTHONNOUSERSITE="1",
               ALEXNET_PROFILE="cpu", TQDM_DISABLE="1", MPLBACKEND="Agg", PYDEVD_DISABLE_FILE_VALIDATION="1",
               **{datasets.TEST_DOWNLOADS_VAR: str(manifest)}, STUDENT_PATH_CONNECTIONS=str(log))
    if not cpu_sizes:
        env[profiles.TEST_SIZES_VAR] = "smoke"
    problems = []
    for notebook in chapters:
        start = time.perf_counter()
        out = work / "executed" / notebook.name
        out.parent.mkdir(exist_ok=True)
        done = subprocess.run([str(python), str(work / "run_one.py"), str(notebook), str(out), str(student)],
                              cwd=student, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        texts = _outputs(json.loads(out.read_text())) if out.exists() else []
        data = sorted({line.strip() for text in texts for line in text.splitlines()
                       if line.startswith(("CIFAR-10", "Imagenette", "data:"))})
        say(f"{notebook.stem}: {seconds:.0f} s" + "".join(f"\n    {line}" for line in data))
        if done.returncode != 0:
            problems.append(f"{notebook.name} stopped with an error:\n{done.stderr[-2500:]}")
        if any(STAND_IN in text for text in texts):
            problems.append(f"{notebook.name} used generated images in place of downloaded data")
    if log.exists() and log.read_text().strip():
        problems.append("connections to other machines were tried: " + ", ".join(sorted(set(log.read_text().split()))))
    downloaded = sorted(p.name for p in (home / ".cache" / "alexnet-book").glob("*.t*gz"))
    say(f"downloaded into the student's cache: {', '.join(downloaded) or 'nothing'}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", default="", help="chapter numbers to run, e.g. 4,7 (default: all)")
    parser.add_argument("--cpu-sizes", action="store_true",
                        help="the cpu profile's own sizes (default: its data and paths with the smoke sizes)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (its path is printed)")
    args = parser.parse_args(argv)
    chapters = sorted((ROOT / "colab").glob("[0-9][0-9]_*.ipynb"))
    if args.chapters:
        wanted = {int(c) for c in args.chapters.split(",")}
        chapters = [c for c in chapters if int(c.name[:2]) in wanted]
    start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="alexnet-student-path-"))
    server = None
    try:
        wheel = build_wheel(work)
        python = student_environment(work, wheel)
        manifest, server = serve_data(work)
        sizes = "its own sizes" if args.cpu_sizes else "the smoke profile's sizes"
        say(f"prepared in {time.perf_counter() - start:.0f} s; running {len(chapters)} chapters "
            f"(cpu profile, {sizes})")
        problems = run_chapters(work, python, manifest, chapters, cpu_sizes=args.cpu_sizes)
    finally:
        if server is not None:
            server.shutdown()
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    say(f"{len(chapters)} chapters in {time.perf_counter() - start:.0f} s")
    for problem in problems:
        print(f"student-path: FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

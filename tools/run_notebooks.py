"""Run every chapter top to bottom in a fresh kernel under a profile, and fail on the first error.

    python tools/run_notebooks.py --profile gpu-smoke        every chapter
    python tools/run_notebooks.py --profile gpu notebooks/07_training.ipynb

``make test-gpu-paths`` runs the ``gpu-smoke`` profile this way: the ``gpu`` profile's code
paths with tiny data on the CPU (``make test`` executes them in its strict book build).
``make gpu-check`` runs the ``gpu`` profile's paths on a real GPU. Nothing is written back.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, profile: str, timeout: int) -> float:
    """Execute one notebook; its seconds."""
    nb = nbformat.read(path, as_version=4)
    os.environ["ALEXNET_PROFILE"] = profile
    with tempfile.TemporaryDirectory(prefix="kernels-") as sockets:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", config=kernel_config(sockets),
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start


def kernel_config(folder: str) -> Config:
    """Kernels reached through files in ``folder`` rather than TCP ports (Linux, macOS): a port
    that another process takes between being chosen and being bound stops a kernel from
    starting ("Address already in use"), as happens when several stages run chapters at once."""
    config = Config()
    if os.name == "posix":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = os.path.join(folder, "kernel")
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", required=True, choices=["smoke", "cpu", "gpu", "gpu-smoke"])
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    total = 0.0
    for path in notebooks:
        print(f"{path.name} ({args.profile}) ...", end=" ", flush=True)
        try:
            seconds = run(path.resolve(), args.profile, args.timeout)
        except CellExecutionError as err:
            print("FAILED")
            print(str(err)[-3000:], file=sys.stderr)
            return 1
        total += seconds
        print(f"{seconds:.1f} s", flush=True)
    print(f"{len(notebooks)} chapters ran under the {args.profile} profile in {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

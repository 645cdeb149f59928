"""Measure what each chapter costs to run: wall time and peak memory, per profile.

    python tools/measure_notebooks.py --profile cpu            every chapter, cpu profile
    python tools/measure_notebooks.py --profile smoke notebooks/05_*.ipynb

Each notebook runs top to bottom in a fresh kernel (as nbval and the book build run
it); a thread samples the memory of the kernel and its child processes (DataLoader
workers; proportional set sizes, so that pages they share count once) every 0.1 s.
Results are merged into ``book/compute_budget.json`` with the machine they were
measured on and a hash of the notebook's code, so that a
page can say when a measurement belongs to an earlier version of the chapter. The
book shows them as a badge at the top of each chapter and in the instructor guide
(``book/_ext/compute_badges.py``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
import torch
from nbclient import NotebookClient

from alexnet_lib.machine import cpu_name

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from compute_badges import code_hash  # noqa: E402  (the pages compare this same hash)
RESULTS = ROOT / "book" / "compute_budget.json"
SLOW_CELL = 5  # seconds: cells at least this long are listed by number, to show where a chapter's time goes
CELL_LIMIT = 100  # seconds: a cell a third of the build's 600 s limit on a good day fails on a bad one


def _tree(pid: int) -> list[psutil.Process]:
    try:
        proc = psutil.Process(pid)
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _rss(procs: list[psutil.Process]) -> int:
    """The resident sizes added up: cheap, and never less than the proportional sizes."""
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _pss(procs: list[psutil.Process]) -> int:
    """The memory of a process and its children (DataLoader workers) in bytes.

    On Linux each process counts its proportional set size (PSS): a page that several
    processes share (the workers are forked from the kernel, and share its copy of
    PyTorch and of the decoded images) is divided between them, so the sum is what the
    machine must hold. Adding resident sizes (RSS) would count every shared page once
    per worker. Where PSS is not available, RSS. Reading it costs about 10 ms a process.
    """
    total = 0
    for p in procs:
        try:
            info = p.memory_full_info()
            total += getattr(info, "pss", info.rss)
        except psutil.AccessDenied:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _gpu_used_mib() -> int:
    """Memory in use on the first GPU (all processes), from nvidia-smi; 0 without one."""
    try:
        done = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
                              capture_output=True, text=True, timeout=5)
        return int(done.stdout.strip().splitlines()[0])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return 0


def measure(path: Path, profile: str, timeout: int = 1200) -> dict[str, object]:
    """Run one notebook in a fresh kernel; return its seconds and peak memory (MiB)."""
    nb = nbformat.read(path, as_version=4)
    os.environ["ALEXNET_PROFILE"] = profile
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    peak = peak_gpu = 0
    gpu = profile == "gpu" and torch.cuda.is_available()
    stop = threading.Event()

    def sample(pid: int) -> None:
        nonlocal peak, peak_gpu
        last_pss = 0.0
        while not stop.is_set():
            procs = _tree(pid)
            # PSS only where it could set a new peak (RSS is an upper bound), and at most twice a
            # second, so that the sampling takes a few percent of one core, not a quarter
            if _rss(procs) > peak and time.perf_counter() - last_pss >= 0.5:
                peak = max(peak, _pss(procs))
                last_pss = time.perf_counter()
            if gpu:  # the card's memory in use (nvidia-smi takes ~50 ms): what a 16 GB T4 must hold
                peak_gpu = max(peak_gpu, _gpu_used_mib())
            time.sleep(0.1)

    with client.setup_kernel():
        pid = client.km.provisioner.process.pid  # type: ignore[union-attr]
        sampler = threading.Thread(target=sample, args=(pid,), daemon=True)
        sampler.start()
        start = time.perf_counter()
        longest, longest_cell, slow = 0.0, None, {}
        try:
            for index, cell in enumerate(nb.cells):
                began = time.perf_counter()
                client.execute_cell(cell, index)
                took = time.perf_counter() - began
                if took > longest:
                    longest, longest_cell = took, index
                if took >= SLOW_CELL:
                    slow[str(index)] = round(took, 1)
        finally:
            seconds = time.perf_counter() - start
            stop.set()
            sampler.join()
    result = {"seconds": round(seconds, 1), "peak_mib": round(peak / 2**20), "code": code_hash(nb),
              "date": datetime.date.today().isoformat(), "longest_cell_seconds": round(longest, 1),
              "longest_cell": longest_cell, "slow_cells": slow}
    if gpu:
        result["peak_gpu_mib"] = peak_gpu
    return result


def machine() -> dict[str, object]:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"processor": cpu_name(), "cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30),
            "gpu": gpu, "python": platform.python_version(), "torch": torch.__version__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", required=True, choices=["smoke", "cpu", "gpu"])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    runs = results.setdefault("profiles", {}).setdefault(args.profile, {})
    results.setdefault("machines", {})[args.profile] = machine()
    for path in notebooks:
        path = path.resolve()
        print(f"{path.name} ({args.profile}) ...", end=" ", flush=True)
        runs[path.stem] = measure(path, args.profile)
        run = runs[path.stem]
        print(f"{run['seconds']} s, {run['peak_mib']} MiB; longest cell {run['longest_cell_seconds']} s "
              f"(cell {run['longest_cell']})", flush=True)
        RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    slow = {stem: run for stem, run in runs.items() if run.get("longest_cell_seconds", 0) > CELL_LIMIT}
    for stem, run in slow.items():
        print(f"{stem}: cell {run['longest_cell']} ran {run['longest_cell_seconds']} s, over {CELL_LIMIT} s: split it")
    total = sum(run["seconds"] for run in runs.values())
    print(f"all chapters ({args.profile}): {total / 60:.1f} minutes")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())

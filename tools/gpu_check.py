"""One command for a machine with a CUDA GPU: the GPU tests, every chapter's gpu code paths,
and the measurements behind the gpu badges, inside a time limit.

    make gpu-check                      # python tools/gpu_check.py --minutes 10
    make gpu-check WHEELS=wheels        # no network: install from wheels brought along

Without network, bring the wheels the machine lacks: on a machine with network and the
same Python, ``pip download -d wheels -e ".[book,test]"`` (torch is large: if the GPU
machine has a CUDA build of torch installed, create the venv with
``--system-site-packages`` and bring the rest).

The steps, each given what is left of the time limit:

1. the machine: the card, its compute capability, the mixed precision the library picks
   for it (bf16 from compute capability 8.0, fp16 with loss scaling below) and the
   loader workers for its CPUs;
2. the GPU tests (``pytest -m gpu``);
3. every chapter under the ``gpu-smoke`` profile: the gpu profile's code paths at reduced
   sizes, here on the GPU;
4. the training step's throughput on the GPU (``python -m alexnet_lib.bench train``);
5. the ``gpu`` profile of as many chapters as the time left allows, shortest first
   (``tools/measure_notebooks.py``), into ``book/compute_budget.json``: the gpu badges.

Everything it measured goes to ``src/alexnet_lib/results/gpu_check.json`` with the card's
name; it exits non-zero when there is no GPU or a step fails.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "alexnet_lib" / "results" / "gpu_check.json"
BUDGET = ROOT / "book" / "compute_budget.json"


def step(name: str, command: list[str], deadline: float, report: dict) -> bool:
    """Run one step with what is left of the time; record its result."""
    left = deadline - time.monotonic()
    if left < 20:
        report["steps"].append({"step": name, "result": "skipped: out of time"})
        print(f"== {name}: skipped, out of time", flush=True)
        return True
    print(f"== {name} ({left:.0f} s left)", flush=True)
    began = time.monotonic()
    try:
        done = subprocess.run(command, cwd=ROOT, timeout=left, capture_output=True, text=True)
        ok, tail = done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    except subprocess.TimeoutExpired as err:
        ok, tail = False, f"timed out after {left:.0f} s\n" + str(err.stdout or "")[-2000:]
    print(tail, flush=True)
    report["steps"].append({"step": name, "ok": ok, "seconds": round(time.monotonic() - began, 1), "output": tail})
    return ok


def machine() -> dict:
    import torch

    from alexnet_lib import devices

    device = torch.device("cuda")
    major, minor = torch.cuda.get_device_capability(device)
    return {
        "gpu": torch.cuda.get_device_name(device),
        "compute_capability": f"{major}.{minor}",
        "memory_gib": round(torch.cuda.get_device_properties(device).total_memory / 2**30, 1),
        "mixed_precision": str(devices.mixed_precision(device)),
        "workers": devices.default_workers(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="the time limit for all steps")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + 60 * args.minutes - 15  # 15 s to write the report

    import torch

    if not torch.cuda.is_available():
        print("make gpu-check needs a CUDA GPU: torch.cuda.is_available() is False here.", file=sys.stderr)
        return 2
    report: dict = {"date": datetime.date.today().isoformat(), "machine": machine(), "steps": []}
    print(json.dumps(report["machine"], indent=1), flush=True)
    python = sys.executable
    ok = step("GPU tests", [python, "-m", "pytest", "-q", "-m", "gpu", "tests", "-p", "no:randomly"], deadline, report)
    ok &= step("every chapter, gpu-smoke profile (the gpu paths, reduced sizes)",
               [python, "tools/run_notebooks.py", "--profile", "gpu-smoke"], deadline, report)
    ok &= step("training throughput (bench train)",
               [python, "-m", "alexnet_lib.bench", "train", "--device", "cuda", "--model", "paper",
                "--modes", "plain,fast,cached", "--steps", "20", "--json"], deadline, report)

    # The badges: the gpu profile of whole chapters, shortest (on the CPU) first, while time lasts.
    budget = json.loads(BUDGET.read_text()) if BUDGET.exists() else {}
    cpu_seconds = budget.get("profiles", {}).get("cpu", {})
    chapters = sorted(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"), key=lambda p: cpu_seconds.get(p.stem, {}).get("seconds", 1e9))
    measured = []
    for path in chapters:
        expected = 1.2 * cpu_seconds.get(path.stem, {}).get("seconds", 60)
        if deadline - time.monotonic() < expected + 20:
            report["steps"].append({"step": f"gpu profile of {path.stem}", "result": "skipped: would not fit the time left"})
            continue
        ok &= step(f"gpu profile of {path.stem}", [python, "tools/measure_notebooks.py", "--profile", "gpu", str(path)],
                   deadline, report)
        measured.append(path.stem)
    report["gpu_profile_measured"] = measured
    OUT.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}; gpu badges measured for {len(measured)} of {len(chapters)} chapters")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Results recorded with the library (``alexnet_lib/results/<name>.json``).

Some measurements take longer than a chapter may run (Figure 1's learning-rate search) or
need a machine the book's build does not have (the training benchmark on a GPU). They are
made with a command, saved here with the machine they ran on, and shipped with the
library, so a chapter can show them anywhere, Colab included, and say where they came from.
Arrays that go with a result (a network's kernels, feature maps) are in ``<name>.npz``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

RESULTS_DIR = Path(__file__).parent / "results"


def load(name: str, make: str | None = None) -> dict[str, Any]:
    """The recorded result ``name``; ``make`` is the command that makes it (for the error message)."""
    path = RESULTS_DIR / f"{name}.json"
    if not path.exists():
        how = f"; run `{make}` to make it" if make else ""
        raise FileNotFoundError(f"no recorded results {path}{how}")
    return json.loads(path.read_text())


def load_arrays(name: str) -> dict[str, np.ndarray]:
    """The arrays recorded beside ``name`` (``alexnet_lib/results/<name>.npz``: kernels, maps...)."""
    path = RESULTS_DIR / f"{name}.npz"
    if not path.exists():
        raise FileNotFoundError(f"no recorded arrays {path}")
    with np.load(path, allow_pickle=False) as arrays:
        return {key: arrays[key] for key in arrays.files}


def names(prefix: str = "") -> list[str]:
    """The names of the recorded results that start with ``prefix``, sorted."""
    return sorted(p.stem for p in RESULTS_DIR.glob(f"{prefix}*.json"))

"""A run's folder: the checkpoint that lets it resume exactly, its metrics and its test result.

The trainer writes, in ``--checkpoint-dir``:

- ``last.pt``: the weights, the optimiser (momentum), the loss scaler of fp16 training, the
  run's :class:`State` (epoch, batch, schedule, metrics so far), its settings and every
  process's random state, after every epoch and every ``--checkpoint-every`` steps;
- ``metrics.json`` and ``metrics.csv``: one row per epoch;
- ``test.json``: the test set's errors, measured once when the run has ended.

Every file is written to a temporary name and renamed, so a crash never leaves half a
file, and the metrics are rewritten from the checkpoint when a run resumes, so the two
always agree. A checkpoint is loaded with ``torch.load(..., weights_only=True)``: it holds
tensors, numbers and strings, never code.

:func:`load_checkpoint` refuses what it cannot continue exactly: a file that cannot be
read, or settings that differ from the saved run's (naming the setting that changed).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .config import Config, TrainError
from .distributed import Distributed

__all__ = ["CHECKPOINT", "METRICS", "TEST_RESULT", "State", "load_checkpoint", "load_history", "load_test",
           "read_checkpoint", "save_checkpoint", "unwrap", "write_json", "write_metrics"]

CHECKPOINT = "last.pt"
METRICS = "metrics.json"
TEST_RESULT = "test.json"

# Settings that change how a run is carried out, not what it computes: a resumed run may change them.
# (--epochs may grow too, unless the cosine schedule depends on it.)
CARRIED_OUT = ("data", "device", "workers", "checkpoint_dir", "checkpoint_every", "resume", "overwrite",
               "max_steps", "download", "progress", "cache_dir", "compile")


@dataclass
class State:
    """Where a run is: the next epoch and batch to do, and the schedule's memory."""

    epoch: int = 0
    batch: int = 0
    step: int = 0
    best_error: float = math.inf
    bad_epochs: int = 0
    drops: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    # the epoch so far, so that a resumed epoch reports the same metrics as an uninterrupted one
    seen: int = 0
    loss_sum: float = 0.0
    wrong: int = 0
    seconds: float = 0.0
    data_seconds: float = 0.0  # waiting for the loader's next batch
    test: dict[str, float] | None = None  # the test set's errors, measured once when the run has ended

    def start_epoch_totals(self) -> None:
        """Zero the running sums of the epoch (after an epoch has been reported)."""
        self.seen, self.loss_sum, self.wrong, self.seconds, self.data_seconds = 0, 0.0, 0, 0.0, 0.0


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside ``torch.compile`` and ``DistributedDataParallel`` wrappers."""
    while True:
        inner = getattr(model, "_orig_mod", None) or getattr(model, "module", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def _rng_state() -> dict[str, Any]:
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, state: State,
                    cfg: Config, num_classes: int, place: Distributed = Distributed(),
                    scaler: torch.amp.GradScaler | None = None) -> None:
    """Write the checkpoint to a temporary file and rename it: a crash never leaves half a file.

    Every process takes part (each one's random state is kept); the first one writes.
    """
    rngs = [_rng_state()]
    if place.world > 1:
        rngs = [None] * place.world
        dist.all_gather_object(rngs, _rng_state())
    if not place.main:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else {},
        "state": asdict(state),
        "config": asdict(cfg),
        "identity": {"model": cfg.model, "num_classes": num_classes, "dataset": cfg.dataset},
        "rng": rngs,
        "world": place.world,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The contents of a checkpoint, or :class:`TrainError` saying why it cannot be used."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise TrainError(f"no checkpoint at {path}") from None
    except Exception as err:  # torch raises several kinds for a truncated or foreign file
        # (torch's own message for a foreign pickle suggests weights_only=False: never for a file we cannot trust)
        raise TrainError(f"{path} cannot be read as a checkpoint ({type(err).__name__}). It is truncated, damaged "
                         "or not a checkpoint: start afresh with --overwrite, or restore the file.") from err
    if not isinstance(payload, dict) or not {"model", "optimizer", "state", "config"} <= set(payload):
        raise TrainError(f"{path} is not a checkpoint written by alexnet-train: start afresh with --overwrite")
    return payload


def _changed_settings(saved: dict[str, Any], cfg: Config) -> list[str]:
    """The settings of ``cfg`` that a resumed run cannot change, where they differ from ``saved``."""
    now = asdict(cfg)
    known = {f.name for f in fields(Config)}
    changed = []
    for name in known - set(CARRIED_OUT):
        before = saved.get(name, Config.__dataclass_fields__[name].default)
        if name == "epochs" and cfg.schedule != "cosine" and before is not None and now[name] >= before:
            continue
        if before != now[name]:
            changed.append(f"--{name.replace('_', '-')} was {before!r} and is now {now[name]!r}")
    return sorted(changed)


def load_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, cfg: Config,
                    num_classes: int, place: Distributed = Distributed(),
                    scaler: torch.amp.GradScaler | None = None) -> State:
    """Restore a run exactly: weights, optimiser, loss scaler, position, random state.

    Refuses (with :class:`TrainError`) a file that cannot be read and settings that differ
    from the saved run's: a changed learning rate, batch size, seed, subset or optimiser
    could not continue the saved run exactly. ``--epochs`` may grow (not under the cosine
    schedule, which depends on it), and how the run is carried out (device, workers,
    checkpoint interval...) may change.
    """
    payload = read_checkpoint(path)
    saved = payload["config"]
    changed = _changed_settings(saved, cfg)
    if changed:
        raise TrainError(f"--resume: {path} holds a run with other settings: {'; '.join(changed)}. A resumed run "
                         "continues exactly what was saved: resume with its settings, or start a new run with "
                         "--overwrite or another --checkpoint-dir.")
    identity = payload.get("identity", {})
    if identity.get("num_classes", num_classes) != num_classes:
        raise TrainError(f"{path} was written for {identity['num_classes']} classes; the data now has {num_classes}")
    try:
        unwrap(model).load_state_dict(payload["model"])
    except RuntimeError as err:
        raise TrainError(f"{path} does not fit this model: {err}") from err
    optimizer.load_state_dict(payload["optimizer"])
    if scaler is not None and scaler.is_enabled() and payload.get("scaler"):
        scaler.load_state_dict(payload["scaler"])
    rngs = payload["rng"]
    if payload.get("world", 1) != place.world:
        print(f"alexnet-train: {path} was written by {payload.get('world', 1)} processes and this run has "
              f"{place.world}: the weights continue exactly, the dropout masks do not.", file=sys.stderr)
    rng = rngs[place.rank % len(rngs)]
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return State(**payload["state"])


# --- the run's other files ---------------------------------------------------------------


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to a temporary file and rename it: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=1))
    os.replace(tmp, path)


def write_metrics(folder: Path, history: list[dict[str, Any]]) -> None:
    """``metrics.json`` and ``metrics.csv``: one row per epoch, each file written atomically."""
    write_json(folder / METRICS, history)
    if history:
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=list(history[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
        tmp = folder / "metrics.csv.tmp"
        tmp.write_text(text.getvalue())
        os.replace(tmp, folder / "metrics.csv")


def load_history(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The per-epoch metrics a run wrote to ``folder/metrics.json``."""
    path = Path(folder) / METRICS
    if not path.exists():
        raise TrainError(f"no metrics at {path}: has a run finished an epoch in {folder}?")
    return json.loads(path.read_text())


def load_test(folder: str | os.PathLike[str]) -> dict[str, float]:
    """The test set's errors that a finished run wrote to ``folder/test.json`` (measured once, at the end)."""
    path = Path(folder) / TEST_RESULT
    if not path.exists():
        raise TrainError(f"no test result at {path}: has the run in {folder} finished all its epochs?")
    return json.loads(path.read_text())

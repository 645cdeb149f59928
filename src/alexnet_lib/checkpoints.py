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
tensors, numbers and strings, never code. It also names the classes in the order of the
network's outputs, so that weights are never scored against, or trained on, classes that
were renamed or reordered since.

:func:`load_checkpoint` refuses what it cannot continue exactly: a file that cannot be
read, settings that differ from the saved run's (naming the setting that changed), or
other classes. :class:`RunLock` keeps a second run out of a folder while a run uses it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .config import Config, TrainError, upgrade_settings
from .datasets import lock_file, unlock_file
from .distributed import Distributed

__all__ = ["CHECKPOINT", "LOCK", "METRICS", "TEST_RESULT", "RunLock", "State", "check_classes", "clear_run",
           "load_checkpoint", "load_history", "load_test", "read_checkpoint", "save_checkpoint", "unwrap",
           "write_json", "write_metrics"]

CHECKPOINT = "last.pt"
METRICS = "metrics.json"
TEST_RESULT = "test.json"
LOCK = ".alexnet-train.lock"  # held by the run using the folder (see RunLock)
RUN_FILES = (CHECKPOINT, METRICS, "metrics.csv", TEST_RESULT)

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
                    scaler: torch.amp.GradScaler | None = None, *, class_names: Sequence[str] | None = None) -> None:
    """Write the checkpoint to a temporary file and rename it: a crash never leaves half a file.

    Every process takes part (each one's random state is kept); the first one writes.
    ``class_names`` (the data's classes, in the order of the network's outputs) are kept
    with the weights, for :func:`check_classes`.
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
        "identity": {"model": cfg.model, "num_classes": num_classes, "dataset": cfg.dataset,
                     **({"class_names": [str(c) for c in class_names]} if class_names is not None else {})},
        "rng": rngs,
        "world": place.world,
    }
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as err:  # torch reports a full disk as a RuntimeError
        tmp.unlink(missing_ok=True)
        raise TrainError(f"the checkpoint could not be written to {path} ({err}). Free some space or choose "
                         f"another --checkpoint-dir; the previous checkpoint, if any, is untouched.") from err


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
    if not isinstance(payload["config"], dict):
        raise TrainError(f"{path} is not a checkpoint written by alexnet-train: start afresh with --overwrite")
    unknown = set(payload["config"]) - {f.name for f in fields(Config)}
    if unknown:
        raise TrainError(f"{path} was written by another version of alexnet-train (settings "
                         f"{sorted(map(str, unknown))} are unknown here): use that version, or start afresh.")
    payload["config"] = upgrade_settings(payload["config"])  # values renamed since it was written
    return payload


def check_classes(payload: dict[str, Any], class_names: Sequence[str], where: str) -> None:
    """Refuse ``class_names`` (the data's classes, in order) where the checkpoint ``payload`` names
    others: scored against them, or trained on, the network's outputs would mean the wrong
    classes. Checkpoints written before the names were kept carry none, and pass.
    """
    saved = payload.get("identity", {}).get("class_names")
    if saved is None:
        return
    now = [str(c) for c in class_names]
    if list(saved) == now:
        return
    if sorted(saved) == sorted(now):
        moved = [f"class {i} was {a!r} and is now {b!r}" for i, (a, b) in enumerate(zip(saved, now)) if a != b]
        what = f"the same classes in another order ({'; '.join(moved[:4])})"
    else:
        gone, new = sorted(set(saved) - set(now)), sorted(set(now) - set(saved))
        what = (f"other classes (the network's {len(saved)}: {_names(saved)}; the data's {len(now)}: {_names(now)}"
                f"{'; missing: ' + _names(gone) if gone else ''}{'; new: ' + _names(new) if new else ''})")
    raise TrainError(f"{where} holds {what}. The network's outputs are the classes it was trained on, in that "
                     "order: use the data it was trained on, with its folder names as they were.")


def _names(names: Sequence[str], most: int = 6) -> str:
    shown = ", ".join(repr(n) for n in list(names)[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


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
                    scaler: torch.amp.GradScaler | None = None, *, class_names: Sequence[str] | None = None) -> State:
    """Restore a run exactly: weights, optimiser, loss scaler, position, random state.

    Refuses (with :class:`TrainError`) a file that cannot be read and settings that differ
    from the saved run's: a changed learning rate, batch size, seed, subset or optimiser
    could not continue the saved run exactly. ``--epochs`` may grow (not under the cosine
    schedule, which depends on it), and how the run is carried out (device, workers,
    checkpoint interval...) may change. ``class_names``, where given, must be the classes the
    checkpoint names (:func:`check_classes`): renamed or reordered class folders would train
    the network on swapped labels.
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
    if class_names is not None:
        check_classes(payload, class_names, f"--resume: {path}")
    try:
        unwrap(model).load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
    except (RuntimeError, ValueError, KeyError) as err:
        raise TrainError(f"{path} does not fit this model: {err}") from err
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


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise TrainError(f"{path} could not be written ({err.strerror or err}): free some space, or choose a "
                         "folder you can write to") from err


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to a temporary file and rename it: never half a file."""
    _write_text(path, json.dumps(value, indent=1))


def write_metrics(folder: Path, history: list[dict[str, Any]]) -> None:
    """``metrics.json`` and ``metrics.csv``: one row per epoch, each file written atomically."""
    write_json(folder / METRICS, history)
    if history:
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=list(history[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
        _write_text(folder / "metrics.csv", text.getvalue())


def clear_run(folder: Path) -> None:
    """Remove a run's files from ``folder`` (checkpoint, metrics, test result): a run started
    afresh over another (``--overwrite``) must not leave that run's numbers to be read as its own."""
    for name in RUN_FILES:
        (folder / name).unlink(missing_ok=True)


class RunLock:
    """One run at a time in a checkpoint folder.

    ``with RunLock(folder):`` creates the folder if needed, checks that it can be written (a
    file in its place, or a folder without write permission, is found here, before any
    training), and takes the lock of ``folder/.alexnet-train.lock``; a second run into the
    same folder is refused, naming the process that holds it. The lock is the operating
    system's (``flock``): it ends with its process, however that ends, so a run killed with
    SIGKILL leaves a lock file that the next run simply takes over. Where the file system
    offers no locks (or on Windows), runs are not kept apart.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self.fd: int | None = None
        self.created = False
        self.held = False

    def acquire(self) -> RunLock:
        """Take the lock, or raise :class:`TrainError` saying why the folder cannot be used."""
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            raise TrainError(f"--checkpoint-dir {folder} is a file, not a folder: choose another --checkpoint-dir")
        self.created = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise TrainError(f"--checkpoint-dir {folder} cannot be created: a folder on its path is a file. "
                             "Choose another --checkpoint-dir.") from None
        except OSError as err:
            raise TrainError(f"--checkpoint-dir {folder} cannot be created ({err.strerror or err}): choose "
                             "another --checkpoint-dir") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            self._forget()
            raise TrainError(f"--checkpoint-dir {folder} cannot be written (no permission): choose another "
                             "--checkpoint-dir")
        try:
            self.fd = lock_file(self.path, wait=False)
        except BlockingIOError:
            try:
                holder = self.path.read_text().strip() or "a process"
            except OSError:
                holder = "a process"
            raise TrainError(f"another run ({holder}) is using --checkpoint-dir {folder}: wait for it to end, "
                             "or choose another --checkpoint-dir") from None
        except OSError as err:
            self._forget()
            raise TrainError(f"--checkpoint-dir {folder} cannot be written ({err.strerror or err}): choose "
                             "another --checkpoint-dir") from None
        self.held = True
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.write(self.fd, f"process {os.getpid()} on {socket.gethostname()}, since "
                              f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        return self

    def release(self) -> None:
        """Let go of the lock; a folder this lock created and nobody used is removed again."""
        if not self.held:
            return
        self.held = False
        unlock_file(self.path, self.fd)
        self.fd = None
        self._forget()

    def _forget(self) -> None:
        if self.created:
            try:
                self.folder.rmdir()  # only if empty
            except OSError:
                pass
            self.created = False

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


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

"""The book's shared training runs: a chapter trains them, later chapters study them.

Chapter 7 trains the paper's AlexNet on Imagenette (:func:`imagenette_config`), which
Chapters 8 and 9 evaluate and look inside; the small AlexNet on CIFAR-10
(:func:`cifar_config`) is the first example of Chapters 8 and 9 and the base of Chapter
10's experiments. Every chapter must run on its own in a fresh
kernel, so a later chapter does not rely on Chapter 7 having run: it calls
:func:`train_or_load`, which trains the run into the book's cache
(``data/runs/<name>-<hash of the settings>``) unless a finished run with exactly the same
settings is already there, and then returns its metrics. :func:`load_model` gives back the
trained network.
"""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from torch import nn

from . import datasets, recorded, train
from .checkpoints import CHECKPOINT, load_history, read_checkpoint
from .config import Config, TrainError
from .devices import default_workers
from .profiles import NO_DOWNLOAD_VAR, Profile, no_downloads
from .run_data import data_identity
from .version import __version__

# Settings that change how a run is carried out, not what it computes.
_NOT_IN_KEY = ("checkpoint_dir", "progress", "resume", "overwrite", "workers", "cache_dir", "download", "max_steps")


def stand_in_banner(dataset: str, why: str) -> str:
    """The banner a chapter prints when generated images stand in for ``dataset``: what is
    missing, why, and what every number and figure below is then about (80 characters a line)."""
    rule = "=" * 78
    text = (f"{dataset} is not on this machine ({why}). Generated images stand in for it: every "
            "number and figure below built from them is about generated images, not photographs. "
            f"To use {dataset}, allow the download (unset {NO_DOWNLOAD_VAR}; the cpu and gpu "
            f"profiles download what is missing) or set {datasets.ENV_VAR} to a folder that holds it.")
    return "\n".join([rule, *textwrap.wrap(text, 78, break_on_hyphens=False), rule])


def _available(load: Callable[[bool], Any], name: str, profile: Profile) -> Any | None:
    """``load(download_ok)``, or ``None`` after printing :func:`stand_in_banner` where the data is
    missing (not here, download not allowed, or the download failed)."""
    try:
        return load(profile.downloads)
    except datasets.DataNotFound as err:
        if isinstance(err, datasets.DownloadFailed):
            why = "its download failed: " + str(err)
        elif no_downloads():
            why = f"{NO_DOWNLOAD_VAR} is set"
        elif not profile.downloads:
            why = f"the {profile.name} profile downloads nothing"
        else:
            why = str(err)
        print(stand_in_banner(name, why))
        return None


def cifar_dataset(profile: Profile) -> str:
    """``"cifar10"`` where CIFAR-10 is at hand (downloaded where missing in the ``cpu`` and ``gpu``
    profiles), else, with a banner that says why, ``"synthetic"``; the ``smoke`` profile always
    uses generated images."""
    if profile.is_smoke:
        return "synthetic"
    found = _available(lambda ok: datasets.load_cifar10("train", download_ok=ok, progress=True), "CIFAR-10",
                       profile)
    if found is None:
        return "synthetic"
    print(f"CIFAR-10: {found.source}")
    return "cifar10"


def cifar_config(profile: Profile, dataset: str | None = None, **changes: Any) -> Config:
    """The small AlexNet on CIFAR-10 with the paper's recipe and augmentation, sized for ``profile``.

    A quarter of the width on a CPU (full width on a GPU); random 28x28 patches of the 32x32
    images with flips (the paper's 224 of 256, in proportion) and the central patch for
    testing; learning rate 0.02 with batches of 64 (the paper's 0.01 and 128 were chosen for
    ImageNet); momentum, weight decay, dropout and the plateau rule as in the paper; the
    channels-last layout, which trained this network about 1.3x faster on the book's CPU.
    A tenth of the training images is held out for the plateau rule; the test images are
    evaluated once, at the end. ``changes`` override any setting (Chapter 10 removes the
    paper's tricks one by one).
    """
    cfg = Config(
        dataset=dataset or cifar_dataset(profile), model="small", width=profile.pick(smoke=0.25, cpu=0.25, gpu=1.0),
        image_size=28, recipe="paper", epochs=profile.pick(smoke=2, cpu=12, gpu=30), batch_size=64, lr=0.02,
        synthetic_size=profile.pick(smoke=256, cpu=2048, gpu=8192), seed=0,
        workers=default_workers() if profile.gpu_paths else 0, device="auto", channels_last=True,
    )
    return replace(cfg, **changes)


IMAGENETTE_BUDGET = "imagenette_budget_cpu_2core"  # the recorded study that chooses the live run's size


def imagenette_dataset(profile: Profile) -> str:
    """``"imagenette"`` where Imagenette is at hand (its 224 px copy, or the 320 px release,
    downloaded where missing in the ``cpu`` and ``gpu`` profiles), else, with a banner that says
    why, ``"synthetic"``; the ``smoke`` profile always uses generated images."""
    if profile.is_smoke:
        print(f"{profile.name} profile: generated images stand in for Imagenette")
        return "synthetic"
    found = _available(lambda ok: datasets.find_imagenette("auto", download_ok=ok, progress=True), "Imagenette",
                       profile)
    if found is None:
        return "synthetic"
    print(f"Imagenette: {found.name} in {found.parent.name}/ (train/ and val/ folders of ImageNet photographs)")
    return "imagenette"


def imagenette_config(profile: Profile, dataset: str | None = None, **changes: Any) -> Config:
    """The live run of Chapter 7: the paper's AlexNet on Imagenette, sized for ``profile``.

    In the ``cpu`` profile the width, image size and epochs are those that did best in the
    recorded budget study (:mod:`alexnet_lib.budget`: each candidate trained for the same
    time); on a GPU the full network at the paper's 227 pixels for 30 epochs, in mixed
    precision. The paper's recipe otherwise (batches of 128, learning rate 0.01, momentum,
    weight decay, the plateau rule on a held-out tenth of the training images), with He
    initialisation as in the recorded full run, and the images decoded once into squares.
    """
    dataset = dataset or imagenette_dataset(profile)
    try:
        study = recorded.load(IMAGENETTE_BUDGET)
        best = study["best"]
        width, size = best["width"], best["image_size"]
        epochs = next(r["epochs"] for r in study["candidates"] if (r["width"], r["image_size"]) == (width, size))
    except FileNotFoundError:
        width, size, epochs = 0.5, 112, 4
    cfg = Config(dataset=dataset, imagenette="auto", model="paper", init="he", recipe="paper", batch_size=128, lr=0.01,
                 predecode=dataset != "synthetic", seed=0, device="auto",
                 width=profile.pick(smoke=0.25, cpu=width, gpu=1.0),
                 image_size=profile.pick(smoke=80, cpu=size, gpu=227),
                 epochs=profile.pick(smoke=2, cpu=epochs, gpu=30),
                 synthetic_size=profile.pick(smoke=512, cpu=2048, gpu=8192),
                 amp="auto" if profile.gpu_paths else "off", channels_last=profile.gpu_paths,
                 workers=default_workers() if profile.gpu_paths else 0)
    return replace(cfg, **changes)


def settings_key(cfg: Config) -> str:
    """A short hash of what decides what a run computes: its settings, the data files it reads
    (:func:`alexnet_lib.run_data.data_identity`) and the library's version."""
    values = {k: v for k, v in asdict(cfg.resolved()).items() if k not in _NOT_IN_KEY}
    values["data_files"] = data_identity(cfg)
    values["library"] = __version__
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:10]


def run_folder(cfg: Config, name: str) -> Path:
    """Where the run ``name`` with these settings lives: ``<cache>/runs/<name>-<settings hash>``."""
    return datasets.cache_dir() / "runs" / f"{name}-{settings_key(cfg)}"


def _finished(folder: Path, cfg: Config) -> bool:
    path = folder / CHECKPOINT
    if not path.exists():
        return False
    try:
        payload = read_checkpoint(path)
    except TrainError:  # a damaged or foreign file: train again
        return False
    saved = Config(**payload["config"])
    state = payload["state"]
    return (settings_key(saved) == settings_key(cfg) and state["epoch"] >= cfg.resolved().epochs
            and state.get("test") is not None)


def _resumable(folder: Path) -> bool:
    try:
        read_checkpoint(folder / CHECKPOINT)
    except TrainError:
        return False
    return True


def train_or_load(cfg: Config, name: str, *, retrain: bool = False,
                  max_steps: int | None = None) -> tuple[list[dict[str, Any]], Path]:
    """Train ``cfg`` into :func:`run_folder` unless a finished run with the same settings is there.

    Returns the per-epoch metrics and the folder. A run that was interrupted is resumed; one
    whose checkpoint cannot be read is trained afresh, as with ``retrain=True``. With
    ``max_steps`` the run stops (with a checkpoint) after that many steps, and a later call
    continues it. Prints which of these happened.
    """
    folder = run_folder(cfg, name)
    if not retrain and _finished(folder, cfg):
        print(f"using the finished run {folder.name} (in the book's run cache)")
        return load_history(folder), folder
    resume = not retrain and (folder / CHECKPOINT).exists() and _resumable(folder)
    if resume and max_steps is not None:
        done = read_checkpoint(folder / CHECKPOINT)["state"]["step"]
        if done >= max_steps:
            print(f"run {folder.name} is already past step {max_steps} (in the book's run cache)")
            return load_history(folder) if (folder / "metrics.json").exists() else [], folder
    print(f"{'resuming' if resume else 'training'} {name} (run {folder.name}, in the run cache)")
    history = train.train(replace(cfg, checkpoint_dir=str(folder), resume=resume, overwrite=not resume,
                                  max_steps=max_steps))
    return history, folder


def load_model(folder: str | os.PathLike[str]) -> tuple[nn.Module, Config, int]:
    """The trained network of a run folder (in eval mode, on the CPU), its settings and its number of classes."""
    path = Path(folder) / CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}: train the run first (train_or_load)")
    payload = read_checkpoint(path)
    cfg = Config(**payload["config"])
    classes = payload["identity"]["num_classes"]
    model = train.build_model(cfg, classes)
    model.load_state_dict(payload["model"])
    return model.eval(), cfg, classes

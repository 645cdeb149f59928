"""Execution profiles: one switch that sizes every notebook to the machine it runs on.

=========  =====================================  ===========================
profile    where                                  budget
=========  =====================================  ===========================
``smoke``  tests and CI (nbval)                   each notebook under 60 s
``cpu``    laptops, the rendered book             each notebook under 4 min
``gpu``    Colab, a workstation with CUDA         a chapter under ~30 min
=========  =====================================  ===========================

The profile is ``ALEXNET_PROFILE`` when that is set, otherwise ``gpu`` when PyTorch
sees a CUDA device and ``cpu`` when it does not. Notebooks call :func:`setup` in
their first code cell; it prints the profile, the device and the library version
so the reader always knows which numbers they are looking at.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
import torch

from .version import __version__

PROFILES: tuple[str, ...] = ("smoke", "cpu", "gpu", "gpu-smoke")
ENV_VAR = "ALEXNET_PROFILE"


def progress_bars_off() -> bool:
    """True when ``TQDM_DISABLE`` is set (to 1 or true): no progress bars anywhere.

    The book's builds set it: a static page cannot show a live bar, and an empty one
    leaves a blank box. The library's own bars follow it like tqdm's defaults do.
    """
    return os.environ.get("TQDM_DISABLE", "").strip().lower() in ("1", "true", "yes")

NO_DOWNLOAD_VAR = "ALEXNET_NO_DOWNLOAD"
# For the tests only: the smoke profile's sizes under another profile (tools/student_path.py
# runs every chapter in the cpu profile, downloads included, within a stage of make test).
TEST_SIZES_VAR = "ALEXNET_TEST_SIZES"


def no_downloads() -> bool:
    """True when the reader has asked for no downloads: ``ALEXNET_NO_DOWNLOAD`` set, and not to
    ``0``, ``false`` or ``no``. Chapters then use what is on the machine, and generated images
    where a dataset is missing (saying so)."""
    return os.environ.get(NO_DOWNLOAD_VAR, "").strip().lower() not in ("", "0", "false", "no")


T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    """The execution profile a notebook runs under.

    ``gpu-smoke`` is for the tests: it takes every code path of the ``gpu`` profile (mixed
    precision chosen for the device, loader workers, the ``gpu`` branches of the chapters)
    with the ``smoke`` profile's tiny sizes and data and no downloads, so that no gpu path
    ships without having run, even on a machine without a GPU.

    Attributes:
        name: ``"smoke"``, ``"cpu"``, ``"gpu"`` or ``"gpu-smoke"``.
        reason: why this profile was chosen, in words (shown to the reader).
        device: the PyTorch device string the notebook should use (``"cuda"``, ``"mps"``, ``"cpu"``).
        smoke_sizes: :meth:`pick` takes the ``smoke`` value although the profile is another
            one (``ALEXNET_TEST_SIZES=smoke``, for the tests only): the profile's data and
            code paths with tiny sizes. False for ``smoke`` and ``gpu-smoke``, whose sizes are
            the smoke ones anyway.
    """

    name: str
    reason: str
    device: str
    smoke_sizes: bool = False

    def pick(self, *, smoke: T, cpu: T, gpu: T | None = None) -> T:
        """Choose a value by profile, e.g. ``epochs = P.pick(smoke=1, cpu=5, gpu=30)``.

        ``gpu`` defaults to the ``cpu`` value. Under ``ALEXNET_TEST_SIZES=smoke`` (the tests) the
        ``smoke`` value whatever the profile.
        """
        if self.is_smoke or self.smoke_sizes:
            return smoke
        if self.name == "gpu" and gpu is not None:
            return gpu
        return cpu

    @property
    def is_smoke(self) -> bool:
        """Tiny sizes and embedded data (the ``smoke`` and ``gpu-smoke`` profiles)."""
        return self.name in ("smoke", "gpu-smoke")

    @property
    def gpu_paths(self) -> bool:
        """Whether the ``gpu`` profile's code paths run (``gpu`` and ``gpu-smoke``)."""
        return self.name in ("gpu", "gpu-smoke")

    @property
    def downloads(self) -> bool:
        """Whether missing data and weights are downloaded: in the ``cpu`` and ``gpu`` profiles,
        unless ``ALEXNET_NO_DOWNLOAD`` is set (to anything but ``0``); never in ``smoke`` and
        ``gpu-smoke``, which the tests run without a network."""
        return self.name in ("cpu", "gpu") and not no_downloads()


def _cuda_available() -> bool:
    return bool(torch.cuda.is_available())


def _best_device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def current_profile() -> Profile:
    """Return the active :class:`Profile`.

    Raises:
        ValueError: when ``ALEXNET_PROFILE`` names no known profile, or ``ALEXNET_TEST_SIZES``
            is set to anything but ``smoke``.
    """
    device = _best_device()
    requested = os.environ.get(ENV_VAR, "").strip().lower()
    if requested:
        if requested not in PROFILES:
            raise ValueError(
                f"{ENV_VAR}={os.environ[ENV_VAR]!r} is not a profile; "
                f"use one of {', '.join(PROFILES)} (or unset it to choose automatically)."
            )
        profile = Profile(requested, f"set by {ENV_VAR}", device)
    elif _cuda_available():
        profile = Profile("gpu", "a CUDA GPU was found", device)
    else:
        profile = Profile("cpu", "no CUDA GPU was found", device)
    sizes = os.environ.get(TEST_SIZES_VAR, "").strip().lower()
    if sizes not in ("", "smoke"):
        raise ValueError(f"{TEST_SIZES_VAR}={os.environ[TEST_SIZES_VAR]!r}: its only value is 'smoke' (the smoke "
                         "profile's sizes, for the tests); unset it for the profile's own sizes.")
    if sizes and not profile.is_smoke:
        return replace(profile, reason=f"{profile.reason}; {TEST_SIZES_VAR}=smoke", smoke_sizes=True)
    return profile


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and PyTorch's random number generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _enable_colab_widgets() -> None:
    """Let Colab render third-party widgets (the book's explorers are anywidgets)."""
    try:
        from google.colab import output  # type: ignore[import-not-found]
    except ImportError:
        return
    output.enable_custom_widget_manager()


# In Colab, the book's cache on Google Drive (``setup(drive=True)``): downloads, decoded images
# and trained runs then outlive the machine, which Colab gives back after a few idle hours.
DRIVE_MOUNT = "/content/drive"
DRIVE_CACHE = DRIVE_MOUNT + "/MyDrive/alexnet-book-cache"


def _cache_on_drive() -> str:
    """Mount Google Drive (Colab asks for permission) and point the book's cache at a folder there."""
    from google.colab import drive  # type: ignore[import-not-found]  # exists only in Colab

    drive.mount(DRIVE_MOUNT)
    os.makedirs(DRIVE_CACHE, exist_ok=True)
    os.environ["ALEXNET_CACHE_DIR"] = DRIVE_CACHE
    return DRIVE_CACHE


def download_note(profile: Profile) -> str:
    """What the profile does when a dataset is missing, in two lines for :func:`setup`."""
    if profile.downloads:
        return ("data: a missing dataset is downloaded (its size said first, then checked);\n"
                f"      set {NO_DOWNLOAD_VAR}=1 to use only what is on this machine")
    if profile.name in ("cpu", "gpu"):
        return (f"data: no downloads ({NO_DOWNLOAD_VAR} is set); where a dataset is missing,\n"
                "      generated images stand in, and the chapter says so")
    return "data: no downloads in this profile; generated images stand in for missing data"


def setup(seed: int | None = 0, *, quiet: bool = False, drive: bool = False) -> Profile:
    """Prepare a notebook: choose the profile, seed the RNGs and say what was chosen.

    Args:
        seed: seed for Python, numpy and PyTorch; ``None`` leaves them alone.
        quiet: do not print the banner.
        drive: in Colab, keep the book's cache (downloaded data, decoded images, trained
            runs) in your Google Drive, in ``MyDrive/alexnet-book-cache``, so that the next
            chapter, on a fresh Colab machine, finds them there instead of downloading and
            training again. Mounting Drive asks for your permission; nothing is mounted unless
            you ask. Outside Colab it changes nothing (``ALEXNET_CACHE_DIR`` moves the cache).

    Returns:
        The active :class:`Profile`.
    """
    profile = current_profile()
    if seed is not None:
        seed_everything(seed)
    if in_colab():
        _enable_colab_widgets()
    cache_note = None
    if drive:
        cache_note = (f"cache: {_cache_on_drive()} (Google Drive)" if in_colab() else
                      "drive=True keeps the cache on Google Drive in Colab only; here it stays where it is")
    if not quiet:
        torch_version = torch.__version__
        print(f"alexnet_lib {__version__} | profile: {profile.name} ({profile.reason})")
        print(
            f"device: {profile.device} | torch {torch_version} | numpy {np.__version__}"
            f" | Python {platform.python_version()}"
        )
        if cache_note:
            print(cache_note)
        if profile.name in ("cpu", "gpu"):
            print(download_note(profile))
        if profile.name != "smoke":
            print(f"To change the profile, set {ENV_VAR} to {', '.join(PROFILES[:-1])} or {PROFILES[-1]}.")
    return profile

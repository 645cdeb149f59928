"""A training run's settings: :class:`Config`, the two recipes, and the checks of every setting.

The paper's recipe (section 5) is the default: stochastic gradient descent with batches
of 128, momentum 0.9, weight decay 0.0005, a learning rate of 0.01 divided by 10 when the
validation error stops improving, about 90 epochs. ``recipe="torchvision"`` uses the
recipe of torchvision's reference scripts instead (weight decay 0.0001, the rate divided
by 10 every 30 epochs). Every setting left unset takes the recipe's value
(:meth:`Config.resolved`), and :meth:`Config.check` refuses values that make no sense
with one message style, naming the flag.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from .lrn import LRN_READINGS

__all__ = ["DATASETS", "MODELS", "RECIPES", "SCHEDULES", "Config", "TrainError", "upgrade_settings"]

RECIPES: dict[str, dict[str, Any]] = {
    "paper": {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4, "batch_size": 128, "epochs": 90,
              "schedule": "plateau"},
    "torchvision": {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4, "batch_size": 256, "epochs": 90,
                    "schedule": "step"},
}
MODELS = ("paper", "small", "torchvision")
DATASETS = ("synthetic", "cifar10", "imagefolder", "imagenette", "tiny-imagenet")
SCHEDULES = ("plateau", "step", "cosine")
IMAGENETTE_SIZES = ("auto", "224", "160", "320", "full")
# Values that earlier versions wrote under names since changed, for the same computation: a run
# saved with the old name still loads, resumes and evaluates (LRN's readings were renamed after
# their sources; "code" computed 2 + (1e-4 / 5) * sum, "text" the printed 2 + 1e-4 * sum).
RENAMED_VALUES: dict[str, dict[Any, Any]] = {"lrn": {"code": "cuda-convnet2", "text": "printed"}}
MAX_WIDTH = 16  # --width: sixteen times the paper's channels is already far beyond any machine's memory
MAX_IMAGE_SIZE = 4096  # --image-size, in pixels


class TrainError(RuntimeError):
    """A training run cannot start or continue; the message says why and what to do."""


@dataclass
class Config:
    """Everything that defines a run (saved in every checkpoint)."""

    dataset: str = "synthetic"
    data: str | None = None
    model: str = "small"
    num_classes: int | None = None
    image_size: int | None = None
    recipe: str = "paper"
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    momentum: float | None = None
    weight_decay: float | None = None
    accumulate: int = 1
    device: str = "auto"
    amp: str = "off"  # mixed precision: off, bf16, fp16, or auto (devices.mixed_precision)
    channels_last: bool = False
    compile: bool = False
    workers: int = 0
    checkpoint_dir: str = "checkpoints"
    checkpoint_every: int = 0
    resume: bool = False
    overwrite: bool = False
    seed: int = 0
    max_steps: int | None = None
    deterministic: bool = False
    download: bool = True
    synthetic_size: int = 2048
    progress: bool = True
    dropout: float = 0.5
    width: float = 1.0
    train_subset: int | None = None
    val_split: float = 0.1  # the share of the training images held out for every choice made during the run
    imagenette: str = "auto"  # which Imagenette release: the 224 px copy where found, else the 320 px download
    predecode: bool = False
    cache_dir: str | None = None
    # the model's switches (Chapter 10 turns the paper's choices off one at a time)
    init: str = "paper"  # the paper's initialisation, or He et al.'s ("he"), for the paper's network
    lrn: str = "cuda-convnet2"  # which reading of LRN's constants (alexnet_lib.lrn.LRN_READINGS)
    norm: str = "none"
    pool: str = "3/2"
    activation: str = "relu"
    groups: int = 1
    # the optimisation's switches: what changed since 2012
    optimizer: str = "sgd"
    label_smoothing: float = 0.0
    schedule: str | None = None
    lighting: float = 0.0
    augment: bool = True  # random patches and flips for uint8 training images (else the central patch)

    def resolved(self) -> Config:
        """A copy with the recipe's defaults filled in for every setting left unset."""
        if self.recipe not in RECIPES:
            raise TrainError(f"--recipe must be one of {', '.join(RECIPES)}, got {self.recipe!r}")
        recipe = RECIPES[self.recipe]
        values = upgrade_settings(asdict(self))
        for key in ("epochs", "batch_size", "lr", "momentum", "weight_decay", "schedule"):
            if values[key] is None:
                values[key] = recipe[key]
        return Config(**values)

    def check(self) -> Config:
        """Refuse settings that make no sense, naming the flag; returns the resolved settings."""
        cfg = self.resolved()
        choices = {"dataset": DATASETS, "model": MODELS, "amp": ("off", "auto", "bf16", "fp16"),
                   "schedule": SCHEDULES, "optimizer": ("sgd", "adamw"), "norm": ("none", "lrn", "batch"),
                   "activation": ("relu", "tanh"), "lrn": tuple(LRN_READINGS), "init": ("paper", "he"), "imagenette": IMAGENETTE_SIZES}
        for name, allowed in choices.items():
            if getattr(cfg, name) not in allowed:
                _refuse(name, f"must be one of {', '.join(allowed)}", getattr(cfg, name))
        at_least = {"epochs": 1, "batch_size": 1, "accumulate": 1, "workers": 0, "checkpoint_every": 0,
                    "synthetic_size": 1, "groups": 1, "seed": 0}
        for name, low in at_least.items():
            value = getattr(cfg, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                _refuse(name, f"must be a whole number of at least {low}", value)
        for name in ("max_steps", "train_subset", "num_classes", "image_size"):
            value = getattr(cfg, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                _refuse(name, "must be a whole number of at least 1 (or left unset)", value)
        if cfg.num_classes is not None and cfg.num_classes < 2:
            _refuse("num_classes", "must be at least 2 (a classifier chooses between classes)", cfg.num_classes)
        if cfg.image_size is not None and cfg.image_size > MAX_IMAGE_SIZE:
            _refuse("image_size", f"must be at most {MAX_IMAGE_SIZE} pixels (the paper: 224)", cfg.image_size)
        for name in ("device", "recipe"):
            if not isinstance(getattr(cfg, name), str):
                _refuse(name, "must be a name", getattr(cfg, name))
        if not isinstance(cfg.checkpoint_dir, str) or not cfg.checkpoint_dir.strip():
            _refuse("checkpoint_dir", "must name a folder", cfg.checkpoint_dir)
        if cfg.resume and cfg.overwrite:
            raise TrainError("--resume and --overwrite contradict each other: --resume continues the run in "
                             "--checkpoint-dir, --overwrite starts afresh over it. Choose one.")
        if not (isinstance(cfg.lr, (int, float)) and math.isfinite(cfg.lr) and cfg.lr > 0):
            _refuse("lr", "must be a positive number", cfg.lr)
        for name in ("momentum", "weight_decay", "label_smoothing", "lighting"):
            value = getattr(cfg, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                _refuse(name, "must be a number of at least 0", value)
        if cfg.momentum >= 1:
            _refuse("momentum", "must be below 1 (the paper: 0.9)", cfg.momentum)
        if cfg.label_smoothing >= 1:
            _refuse("label_smoothing", "must be below 1", cfg.label_smoothing)
        if not isinstance(cfg.dropout, (int, float)) or not 0 <= cfg.dropout < 1:
            _refuse("dropout", "must be in [0, 1)", cfg.dropout)
        if not isinstance(cfg.val_split, (int, float)) or not 0 < cfg.val_split < 1:
            _refuse("val_split", "must be between 0 and 1 (the share of training images held out)", cfg.val_split)
        if not (isinstance(cfg.width, (int, float)) and math.isfinite(cfg.width) and 0 < cfg.width <= MAX_WIDTH):
            _refuse("width", f"must be a positive finite number, at most {MAX_WIDTH} (1 is the paper's width)",
                    cfg.width)
        try:
            size, stride = (int(v) for v in cfg.pool.split("/"))
        except (ValueError, AttributeError):
            _refuse("pool", "is SIZE/STRIDE, e.g. 3/2 (overlapping) or 2/2", cfg.pool)
        if min(size, stride) < 1:
            _refuse("pool", "needs a size and stride of at least 1", cfg.pool)
        return cfg

    def pool_window(self) -> tuple[int, int]:
        """``--pool SIZE/STRIDE`` as a pair of ints."""
        size, stride = (int(v) for v in self.pool.split("/"))
        return size, stride


def upgrade_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Settings as an earlier version may have saved them (a checkpoint's), with the values since
    renamed (:data:`RENAMED_VALUES`) under their new names; a new dict."""
    values = dict(values)
    for name, renamed in RENAMED_VALUES.items():
        if isinstance(values.get(name), str) and values[name] in renamed:
            values[name] = renamed[values[name]]
    return values


def _refuse(name: str, rule: str, value: Any) -> None:
    raise TrainError(f"--{name.replace('_', '-')} {rule}, got {value!r}")


def config_fields() -> list[str]:
    """The names of every setting (the keys of a checkpoint's ``config``)."""
    return [f.name for f in fields(Config)]

"""A training run's settings: :class:`Config`, the two recipes, and the checks of every setting.

:data:`RECIPE_TEXT` says what the recipes are (the trainer's ``--help`` prints it too). Every
setting left unset takes the recipe's value (:meth:`Config.resolved`), and
:meth:`Config.check` refuses values that make no sense with one message style, naming the
flag. Each field of :class:`Config` holds its help and allowed values (:func:`setting`), from
which :mod:`alexnet_lib.cli` builds the command line.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .lrn import LRN_READINGS
from .models import INITS, SMALL_OPTIONS, VARIANTS

__all__ = ["AMP_MODES", "DATASETS", "MODELS", "OPTIMIZERS", "RECIPES", "RECIPE_TEXT", "SCHEDULES", "Config", "TrainError",
           "setting", "upgrade_settings"]

RECIPE_TEXT = """The paper's recipe (section 5) is the default: stochastic gradient descent with batches
of 128, momentum 0.9, weight decay 0.0005, a learning rate of 0.01 divided by 10 when the
validation error stops improving (at most three times), about 90 epochs. The recipe
"torchvision" (--recipe torchvision) is that of torchvision's reference scripts instead
(weight decay 0.0001, the rate divided by 10 every 30 epochs)."""
RECIPES: dict[str, dict[str, Any]] = {
    "paper": {"lr": 0.01, "momentum": 0.9, "weight_decay": 5e-4, "batch_size": 128, "epochs": 90,
              "schedule": "plateau"},
    "torchvision": {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4, "batch_size": 256, "epochs": 90,
                    "schedule": "step"},
}
MODELS = tuple(sorted(VARIANTS))  # the networks of alexnet_lib.models
DATASETS = ("synthetic", "cifar10", "imagefolder", "imagenette", "tiny-imagenet")
SCHEDULES = ("plateau", "step", "cosine")  # alexnet_lib.schedule's rules
AMP_MODES = ("off", "auto", "bf16", "fp16")  # alexnet_lib.devices.mixed_precision's
OPTIMIZERS = ("sgd", "adamw")  # alexnet_lib.train.build_optimizer's
IMAGENETTE_SIZES = ("auto", "224", "160", "320", "full")
# Values that earlier versions wrote under names since changed, for the same computation: a run
# saved with the old name still loads, resumes and evaluates (LRN's readings were renamed after
# their sources; "code" computed 2 + (1e-4 / 5) * sum, "text" the printed 2 + 1e-4 * sum).
RENAMED_VALUES: dict[str, dict[Any, Any]] = {"lrn": {"code": "cuda-convnet2", "text": "printed"}}
MAX_WIDTH = 16  # --width: sixteen times the paper's channels is already far beyond any machine's memory
MAX_IMAGE_SIZE = 4096  # --image-size, in pixels


class TrainError(RuntimeError):
    """A training run cannot start or continue; the message says why and what to do."""


def setting(default: Any, help: str | None = None, *, choices: tuple[str, ...] | None = None,
            off: str | None = None, switch: bool = False) -> Any:
    """A field of :class:`Config` with what its command-line flag needs (:mod:`alexnet_lib.cli`
    builds the parser from them): its ``help``, its allowed values (``choices``, also checked by
    :meth:`Config.check`), for a setting that is on by default the flag that turns it ``off``,
    and whether it is one of Chapter 10's ``switch``-es (a group of its own in ``--help``)."""
    return field(default=default, metadata={"help": help, "choices": choices, "off": off, "switch": switch})


@dataclass
class Config:
    """Everything that defines a run (saved in every checkpoint). Each setting is a flag of the
    command line (``--batch-size`` for ``batch_size``), with the help written here."""

    dataset: str = setting(
        "synthetic", "synthetic (generated, no download), cifar10, imagefolder (ImageNet layout under --data), "
        "imagenette (its 224 px copy where found, else the 320 px release) or tiny-imagenet (downloaded on first "
        "use)", choices=DATASETS)
    data: str | None = setting(None, "data folder (imagefolder: holds train/ and val/; others: where to look "
                                     "before downloading)")
    model: str = setting("small", "paper (227 px, two towers, LRN), torchvision, or small (32 px)", choices=MODELS)
    num_classes: int | None = setting(None, "checked against the data")
    image_size: int | None = setting(None, "crop size (default: 227 paper, 224 torchvision)")
    recipe: str = setting("paper", "defaults for the settings below", choices=tuple(sorted(RECIPES)))
    epochs: int | None = setting(None, "the most epochs (the plateau schedule ends a run earlier once it has "
                                       "divided the rate three times and the validation error stalls again)")
    # left unset (None), the five below and the schedule take the recipe's values (resolved())
    batch_size: int | None = setting(None)
    lr: float | None = setting(None)
    momentum: float | None = setting(None)
    weight_decay: float | None = setting(None)
    accumulate: int = setting(1, "batches per optimiser step (gradient accumulation)")
    device: str = setting("auto", "auto, cpu, cuda, cuda:N or mps")
    amp: str = setting("off", "mixed precision (auto: bf16 on GPUs of compute capability 8.0 and newer, fp16 on "
                              "older ones, off on a CPU)", choices=AMP_MODES)
    channels_last: bool = setting(False, "NHWC memory layout")
    compile: bool = setting(False, "torch.compile the model")
    workers: int = setting(0, "DataLoader worker processes")
    checkpoint_dir: str = setting("checkpoints")
    checkpoint_every: int = setting(0, "also checkpoint every N steps")
    resume: bool = setting(False, "continue from CHECKPOINT_DIR/last.pt")
    overwrite: bool = setting(False, "start afresh even where CHECKPOINT_DIR holds a run (its checkpoint, metrics "
                                     "and test result are removed)")
    seed: int = setting(0)
    max_steps: int | None = setting(None, "stop (with a checkpoint) after N optimiser steps")
    deterministic: bool = setting(False, "deterministic algorithms (slower)")
    download: bool = setting(True, "never download data", off="--no-download")
    synthetic_size: int = setting(2048)
    progress: bool = setting(True, off="--no-progress")
    dropout: float = setting(0.5, "dropout probability in fc6 and fc7")
    width: float = setting(1.0, "channel multiplier (small and paper models: 0.5 halves every layer)")
    train_subset: int | None = setting(None, "train on N of the training images only, a fixed random draw (quick "
                                             "experiments)")
    val_split: float = setting(0.1, "share of the training images held out as the validation split, on which the "
                                    "plateau rule and every choice are made (the test images are evaluated once, "
                                    "at the end)")
    imagenette: str = setting("auto", "which Imagenette: its 224 px copy where found (auto), else the 320 px "
                                      "release", choices=IMAGENETTE_SIZES)
    predecode: bool = setting(False, "imagefolder: decode every image once into uint8 squares (cached on disk); "
                                     "crops and flips then run on whole batches on the device")
    cache_dir: str | None = setting(None, "where --predecode keeps its files (default: data/predecoded)")
    # the model's switches (Chapter 10 turns the paper's choices off one at a time)
    init: str = setting("paper", "the paper's network: its own initialisation, or He et al.'s (N(0, 2/fan_in))",
                        choices=INITS, switch=True)
    lrn: str = setting("cuda-convnet2", "which reading of LRN's constants: cuda-convnet2's ImageNet files "
                                        "(2 + 1e-4/5 * sum), the 2012 cuda-convnet (1 + 1e-4/5 * sum) or the paper "
                                        "as printed (2 + 1e-4 * sum)", choices=tuple(LRN_READINGS), switch=True)
    norm: str = setting("none", "none, the paper's LRN after the first two ReLUs, or batch normalisation",
                        choices=SMALL_OPTIONS["norm"], switch=True)
    pool: str = setting("3/2", "max pooling SIZE/STRIDE: 3/2 overlaps (the paper), 2/2 not", switch=True)
    activation: str = setting("relu", choices=SMALL_OPTIONS["activation"], switch=True)
    groups: int = setting(1, "2: the paper's towers in conv2, conv4, conv5", switch=True)
    # the optimisation's switches: what changed since 2012
    optimizer: str = setting("sgd", choices=OPTIMIZERS, switch=True)
    label_smoothing: float = setting(0.0, switch=True)
    schedule: str | None = setting(None, "default: the recipe's", choices=SCHEDULES, switch=True)
    augment: bool = setting(True, "train on the central patch, no random patches or flips", off="--no-augment",
                            switch=True)
    lighting: float = setting(0.0, "the paper's PCA colour augmentation with this standard deviation (0.1 in the "
                                   "paper)", switch=True)

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
        for f in fields(cfg):
            allowed = f.metadata["choices"]
            if allowed is not None and getattr(cfg, f.name) not in allowed:
                _refuse(f.name, f"must be one of {', '.join(allowed)}", getattr(cfg, f.name))
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

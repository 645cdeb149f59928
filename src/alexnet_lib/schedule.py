"""The learning rate over a run: the paper's plateau rule, torchvision's steps, a cosine decay.

The paper (section 5): "The heuristic which we followed was to divide the learning rate by
10 when the validation error rate stopped improving with the current learning rate. The
learning rate was initialized at 0.01 and reduced three times prior to termination." The
paper does not say how long "stopped improving" lasts; here it is two epochs in a row
without a better validation error than the best so far. The validation error is measured
on images held out of the training set (:mod:`alexnet_lib.run_data`), never on the test set.
"Reduced three times prior to termination": once the rate has been divided three times and
the validation error stalls again for as long, the run ends (:func:`run_is_over`), even
before ``--epochs``, which is then the most it may last.
"""

from __future__ import annotations

import math

import torch

from .checkpoints import State
from .config import Config

__all__ = ["PATIENCE", "adjust_learning_rate", "run_is_over"]

PATIENCE = 2  # epochs without a better validation error before the rate is divided by 10
MAX_DROPS = 3  # the paper lowered it three times


def adjust_learning_rate(state: State, val_error: float, optimizer: torch.optim.Optimizer, cfg: Config) -> None:
    """After epoch ``state.epoch`` (counted from 0), set the learning rate for the next one.

    ``"plateau"`` (the paper): divide by 10 after :data:`PATIENCE` epochs without improvement, at
    most three times; ``"step"`` (torchvision's recipe): divide by 10 every 30 epochs; ``"cosine"``
    (a schedule of today): decay from ``cfg.lr`` to 0 along half a cosine over ``cfg.epochs``.
    """
    if cfg.schedule == "cosine":
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * (state.epoch + 1) / cfg.epochs))
    elif cfg.schedule == "plateau":
        if val_error < state.best_error - 1e-4:
            state.best_error, state.bad_epochs = val_error, 0
        else:
            state.bad_epochs += 1
            if state.bad_epochs >= PATIENCE and state.drops < MAX_DROPS:
                for group in optimizer.param_groups:
                    group["lr"] /= 10
                state.drops, state.bad_epochs = state.drops + 1, 0
    elif (state.epoch + 1) % 30 == 0:
        for group in optimizer.param_groups:
            group["lr"] /= 10


def run_is_over(state: State, cfg: Config) -> bool:
    """Whether the plateau rule has ended the run: the rate divided :data:`MAX_DROPS` times and the
    validation error not improved for :data:`PATIENCE` epochs since (the paper's "reduced three
    times prior to termination"). Read from the saved state, so a resumed run decides the same."""
    return cfg.schedule == "plateau" and state.drops >= MAX_DROPS and state.bad_epochs >= PATIENCE

"""Training curves: loss, error and learning rate per epoch, for one run or several side by side."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt

from .checkpoints import load_history

__all__ = ["plot_history", "plot_runs"]


def plot_history(history: list[dict[str, Any]] | str | os.PathLike[str], title: str | None = None):
    """Loss, top-1 error and learning rate per epoch (from ``train`` or a run's folder); returns the figure.

    "validation" is the share of the training images held out for the run's choices; the
    test set is measured once, at the end, and is not on these curves.
    """
    if not isinstance(history, list):
        history = load_history(history)
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    axes[0].plot(epochs, [h["train_loss"] for h in history], "o-", label="training")
    axes[0].plot(epochs, [h["val_loss"] for h in history], "o-", label="validation")
    axes[0].set_ylabel("cross-entropy loss")
    axes[1].plot(epochs, [100 * h["train_top1_error"] for h in history], "o-", label="training")
    axes[1].plot(epochs, [100 * h["val_top1_error"] for h in history], "o-", label="validation (top-1)")
    if "val_top5_error" in history[0]:
        axes[1].plot(epochs, [100 * h["val_top5_error"] for h in history], "o--", label="validation (top-5)")
    axes[1].set_ylabel("error (%)")
    axes[2].plot(epochs, [h["lr"] for h in history], "o-", color="C3")
    axes[2].set_yscale("log")
    axes[2].set_ylabel("learning rate")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].legend()
    axes[1].legend()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_runs(runs: dict[str, list[dict[str, Any]]], *, x: str = "epoch", title: str | None = None,
              styles: Sequence[str] = ("o-", "s-", "^-", "d-")):
    """Validation top-1 error and training loss of several runs on shared axes; ``x`` is ``"epoch"``
    or ``"hours"`` (the runs' own training time). Returns the figure."""
    if x not in ("epoch", "hours"):
        raise ValueError(f"x must be 'epoch' or 'hours', got {x!r}")
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    for (name, history), style in zip(runs.items(), list(styles) * len(runs)):
        if x == "epoch":
            xs = [h["epoch"] for h in history]
        else:
            total, xs = 0.0, []
            for h in history:
                total += h["seconds"] / 3600
                xs.append(total)
        axes[0].plot(xs, [100 * h["val_top1_error"] for h in history], style, markersize=3, label=name)
        axes[1].plot(xs, [h["train_loss"] for h in history], style, markersize=3, label=name)
    axes[0].set_ylabel("validation top-1 error (%)")
    axes[1].set_ylabel("training loss")
    for ax in axes:
        ax.set_xlabel("epoch" if x == "epoch" else "hours of training")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig

"""The paper's Figure 1 at small scale: how fast a CNN with ReLUs trains next to one with tanh.

The paper (section 3.1, Figure 1): "A four-layer convolutional neural network with ReLUs
(solid line) reaches a 25% training error rate on CIFAR-10 six times faster than an
equivalent network with tanh neurons (dashed line). The learning rates for each network
were chosen independently to make training as fast as possible. No regularization of
any kind was employed."

This module follows that protocol on whatever CIFAR-10 images are at hand:

- :func:`four_layer_cnn`: three convolutions and one fully connected layer (the paper
  does not give the network's exact shape; this is a small one of that kind);
- :func:`train_to_error`: plain SGD with momentum, no weight decay, dropout or
  augmentation, until the training error of an epoch falls below 25%;
- :func:`lr_search`: the learning rate that reaches 25% in the fewest epochs, chosen
  separately for each activation.

``python -m alexnet_lib.figure1 search`` runs the search and ``... conditions`` the
experiments on initialisation, depth and data size; both write JSON that the
book's Chapter 3 reads from ``alexnet_lib/results/``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import recorded
from .datasets import ArrayDataset, load_cifar10
from .machine import describe
from .profiles import progress_bars_off

RESULTS_DIR = recorded.RESULTS_DIR
TARGET_ERROR = 0.25
ACTIVATIONS = ("relu", "tanh")


def four_layer_cnn(
    activation: str = "relu", *, width: int = 16, convs_per_stage: int = 1, init: str = "pytorch", num_classes: int = 10
):
    """A small CNN for 32x32 images: ``convs_per_stage`` 5x5 convolutions then 2x2 max pooling,
    three times (width, width, 2*width channels), then one fully connected layer.

    With ``convs_per_stage=1`` it has four layers with weights, like the paper's Figure 1
    network; 2 gives seven.

    Args:
        activation: ``"relu"`` or ``"tanh"``.
        init: ``"pytorch"`` (PyTorch's default, scaled by each layer's fan-in) or ``"paper"``
            (every weight from N(0, 0.01), biases 0, the scale the AlexNet paper used).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if init not in ("pytorch", "paper"):
        raise ValueError(f"init must be 'pytorch' or 'paper', got {init!r}")
    if convs_per_stage < 1 or width < 1:
        raise ValueError("width and convs_per_stage must be >= 1")
    act = nn.ReLU if activation == "relu" else nn.Tanh
    layers: list[nn.Module] = []
    channels = 3
    for stage_width in (width, width, 2 * width):
        for _ in range(convs_per_stage):
            layers += [nn.Conv2d(channels, stage_width, 5, padding=2), act()]
            channels = stage_width
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(channels * 4 * 4, num_classes)]
    model = nn.Sequential(*layers)
    if init == "paper":
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    module.weight.normal_(0.0, 0.01)
                    module.bias.zero_()
    return model


def to_tensors(data: ArrayDataset, device: str = "cpu", *, standardise: bool = True):
    """Images as float tensors ``(N, 3, H, W)`` and labels as int64.

    Each channel's mean is subtracted; with ``standardise`` it is also divided by its
    standard deviation, otherwise the values stay in pixel units (0-255 scale, as
    cuda-convnet fed them, standard deviation around 60).
    """
    x = torch.as_tensor(data.images).permute(0, 3, 1, 2).float()
    x = x - x.mean(dim=(0, 2, 3), keepdim=True)
    if standardise:
        x = x / x.std(dim=(0, 2, 3), keepdim=True)
    return x.to(device), torch.as_tensor(data.labels).to(device)


@dataclass
class RunResult:
    """One training run: the training error and elapsed seconds after each epoch."""

    activation: str
    lr: float
    seed: int
    errors: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    target: float = TARGET_ERROR
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def epochs_to_target(self) -> int | None:
        """The first epoch (counting from 1) whose training error was below the target."""
        for epoch, error in enumerate(self.errors, start=1):
            if error < self.target:
                return epoch
        return None

    @property
    def seconds_to_target(self) -> float | None:
        epoch = self.epochs_to_target
        return None if epoch is None else self.seconds[epoch - 1]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "epochs_to_target": self.epochs_to_target, "seconds_to_target": self.seconds_to_target}


def train_to_error(
    x,
    y,
    activation: str,
    lr: float,
    *,
    target: float = TARGET_ERROR,
    max_epochs: int = 30,
    batch_size: int = 128,
    momentum: float = 0.9,
    seed: int = 0,
    width: int = 16,
    convs_per_stage: int = 1,
    init: str = "pytorch",
    stop_at_target: bool = True,
    give_up: tuple[int, float] | None = None,
    progress: bool = False,
) -> RunResult:
    """Train with plain SGD + momentum until an epoch's training error falls below ``target``.

    The training error of an epoch is the fraction of its minibatch examples that the
    network got wrong while training on them (what the paper's cuda-convnet reported).
    There is no regularisation: no weight decay, dropout or augmentation. A run whose
    loss becomes NaN (the learning rate was too high) stops there, with error 1.0.
    ``give_up=(epoch, error)`` stops a run that is still above ``error`` after ``epoch``
    epochs (it counts as not reaching the target), to save time in searches.
    """
    torch.manual_seed(seed)
    model = four_layer_cnn(activation, width=width, convs_per_stage=convs_per_stage, init=init).to(x.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    generator = torch.Generator().manual_seed(seed)
    settings = dict(max_epochs=max_epochs, batch_size=batch_size, momentum=momentum, width=width,
                    convs_per_stage=convs_per_stage, init=init, n_train=len(y), give_up=give_up)
    result = RunResult(activation, lr, seed, target=target, settings=settings)
    start = time.perf_counter()
    bar = tqdm(range(max_epochs), desc=f"{activation} lr={lr:g} seed={seed}",
               disable=not progress or progress_bars_off(), leave=False)
    for _ in bar:
        order = torch.randperm(len(y), generator=generator).to(x.device)
        wrong, diverged = 0, False
        model.train()
        for i in range(0, len(y), batch_size):
            index = order[i : i + batch_size]
            logits = model(x[index])
            loss = F.cross_entropy(logits, y[index])
            if not torch.isfinite(loss):
                diverged = True
                break
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            wrong += int((logits.argmax(dim=1) != y[index]).sum())
        result.errors.append(1.0 if diverged else wrong / len(y))
        result.seconds.append(time.perf_counter() - start)
        bar.set_postfix(error=f"{result.errors[-1]:.3f}")
        if diverged or (stop_at_target and result.errors[-1] < target):
            break
        if give_up is not None and len(result.errors) >= give_up[0] and result.errors[-1] > give_up[1]:
            break
    return result


def lr_search(x, y, lrs: list[float], *, activations=ACTIVATIONS, max_epochs: int = 30, seed: int = 0,
              progress: bool = False, **settings: Any) -> dict[str, Any]:
    """For each activation, the learning rate that reaches the target in the fewest epochs.

    Ties go to the lower final error. A learning rate that never reaches the target loses
    to any that does.
    """
    runs = {a: [train_to_error(x, y, a, lr, max_epochs=max_epochs, seed=seed, progress=progress, **settings)
                for lr in lrs] for a in activations}

    def key(run: RunResult) -> tuple[float, float]:
        epochs = run.epochs_to_target
        return (math.inf if epochs is None else epochs, run.errors[-1])

    best = {a: min(rs, key=key).lr for a, rs in runs.items()}
    return {"best_lr": best, "runs": {a: [r.to_dict() for r in rs] for a, rs in runs.items()}}


def run_summary(runs: list[RunResult]) -> dict[str, Any]:
    """Mean and spread of epochs and seconds to the target over seeds (``None`` counts as not reached)."""
    epochs = [r.epochs_to_target for r in runs]
    reached = [e for e in epochs if e is not None]
    secs = [r.seconds_to_target for r in runs if r.seconds_to_target is not None]
    return {
        "runs": len(runs),
        "reached": len(reached),
        "epochs": epochs,
        "mean_epochs": float(np.mean(reached)) if reached else None,
        "std_epochs": float(np.std(reached)) if reached else None,
        "mean_seconds": float(np.mean(secs)) if secs else None,
    }


def speedup(relu: dict[str, Any], tanh: dict[str, Any]) -> float | None:
    """tanh's mean epochs to the target over ReLU's (``None`` unless both always reached it)."""
    if relu["reached"] < relu["runs"] or tanh["reached"] < tanh["runs"]:
        return None
    return tanh["mean_epochs"] / relu["mean_epochs"]


def load_results(name: str) -> dict[str, Any]:
    """Recorded results shipped with the library (``alexnet_lib/results/<name>.json``)."""
    return recorded.load(name, make=f"python -m alexnet_lib.figure1 {name.removeprefix('figure1_')}")


# --- command line ----------------------------------------------------------------

# Conditions of 2012 that may open or close the gap between ReLU and tanh: each changes one
# thing from the baseline (PyTorch's initialisation, four layers, 10,000 training images).
# "lrs": the learning rates searched for that condition; None reuses the recorded search.
CONDITIONS: dict[str, dict[str, Any]] = {
    "baseline": {"lrs": None},
    "paper init N(0, 0.01)": {"init": "paper", "lrs": [0.01, 0.03, 0.1]},
    "seven layers": {"convs_per_stage": 2, "lrs": [0.01, 0.03]},
    "quarter of the data": {"n_train": 2500, "lrs": None},
    "pixel-scale inputs": {"standardise": False, "lrs": [1e-4, 3e-4, 1e-3]},
}
GIVE_UP = (10, 0.6)  # in searches: stop a run still above 60% error after 10 epochs


def _machine() -> dict[str, Any]:
    return {**describe(), "device": "cuda" if torch.cuda.is_available() else "cpu"}


def _load(n_train: int | None, device: str, standardise: bool = True):
    data = load_cifar10("train")
    if n_train is not None and n_train < len(data):
        data = data.subset(n_train)
    x, y = to_tensors(data, device, standardise=standardise)
    return data, x, y


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alexnet_lib.figure1", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_search = sub.add_parser("search", help="choose each activation's learning rate")
    p_search.add_argument("--lrs", type=float, nargs="+", default=[0.003, 0.01, 0.03, 0.1, 0.3])
    p_cond = sub.add_parser("conditions", help="epochs to 25%% under conditions of 2012, several seeds")
    p_cond.add_argument("--seeds", type=int, default=2)
    p_cond.add_argument("--only", nargs="+", choices=list(CONDITIONS), default=None,
                        help="run only these conditions, keeping the others already recorded in --out")
    for p in (p_search, p_cond):
        p.add_argument("--max-epochs", type=int, default=30)
        p.add_argument("--n-train", type=int, default=None, help="use only the first N training images")
        p.add_argument("--device", default="cpu")
        p.add_argument("--out", type=Path, default=None, help="JSON file (default: alexnet_lib/results/<command>.json)")
    args = parser.parse_args(argv)

    out = args.out or RESULTS_DIR / f"figure1_{args.command}.json"
    if args.command == "search":
        data, x, y = _load(args.n_train, args.device)
        found = lr_search(x, y, args.lrs, max_epochs=args.max_epochs, progress=True)
        record = {"data": data.source, "machine": _machine(), "lrs": args.lrs, "max_epochs": args.max_epochs, **found}
        print(json.dumps(found["best_lr"]))
    else:
        record = {"machine": _machine(), "seeds": args.seeds, "max_epochs": args.max_epochs, "conditions": {}}
        if args.only and out.exists():
            record["conditions"] = json.loads(out.read_text())["conditions"]
        record["give_up_in_searches"] = GIVE_UP
        recorded_best = load_results("figure1_search")["best_lr"]
        for name, change in CONDITIONS.items():
            if args.only and name not in args.only:
                continue
            change = dict(change)
            n_train = change.pop("n_train", args.n_train)
            lrs = change.pop("lrs")
            standardise = change.pop("standardise", True)
            data, x, y = _load(n_train, args.device, standardise)
            if lrs is None:
                best = dict(recorded_best)
            else:
                best = lr_search(x, y, lrs, max_epochs=args.max_epochs, progress=True, give_up=GIVE_UP, **change)[
                    "best_lr"]
            summaries = {}
            runs = {}
            for activation in ACTIVATIONS:
                rs = [train_to_error(x, y, activation, best[activation], max_epochs=args.max_epochs, seed=s,
                                     progress=True, **change)
                      for s in range(1, args.seeds + 1)]
                summaries[activation] = run_summary(rs)
                runs[activation] = [r.to_dict() for r in rs]
            record["conditions"][name] = {
                "change": {**change, **({} if standardise else {"standardise": False})}, "lrs_searched": lrs, "n_train": len(y), "data": data.source, "best_lr": best,
                "summary": summaries, "speedup": speedup(summaries["relu"], summaries["tanh"]), "runs": runs,
            }
            print(name, json.dumps({a: s["mean_epochs"] for a, s in summaries.items()}), flush=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(record, indent=1))  # after each condition, in case of interruption
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

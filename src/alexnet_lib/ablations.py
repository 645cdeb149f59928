"""Chapter 10's experiments: the paper's choices removed one at a time, and what changed since 2012.

Every experiment is the book's CIFAR-10 run (Chapter 7's network,
:func:`alexnet_lib.experiments.cifar_config`: overlapping pooling, dropout, random patches
and flips, ReLUs) with one setting changed: one of those choices removed, or one of the
paper's two other choices that fit one tower added (local response normalisation, PCA
colour augmentation), or one of the changes made since 2012. Each is trained with several
seeds (the seed sets the initial weights, the order of the images and the dropout masks),
so that a difference can be compared with the spread between seeds.

``python -m alexnet_lib.ablations --seeds 3 --epochs 10`` trains them all (about 35
minutes on two CPU cores), reusing finished runs from the book's cache, and writes the
results to ``alexnet_lib/results/ablations.json``, which Chapter 10 reads.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from . import experiments, recorded
from .profiles import Profile
from .train import Config



@dataclass(frozen=True)
class Experiment:
    key: str  # a short name that other pages use
    name: str
    changes: dict[str, Any]
    group: str  # "baseline", "paper" (a choice of the paper removed or added), "towers", "modern"
    paper: str = ""  # what the paper reports for this choice


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("baseline", "Chapter 7's network", {}, "baseline"),
    Experiment("lrn", "with local response normalisation", {"norm": "lrn"}, "paper",
               "Section 3.3: normalisation lowers top-1 and top-5 error by 1.4 and 1.2 points (ImageNet); "
               "on CIFAR-10 a four-layer network had 13% test error without it and 11% with it"),
    Experiment("overlap", "no overlapping pooling (2/2 instead of 3/2)", {"pool": "2/2"}, "paper",
               "Section 3.4: overlapping pooling lowers top-1 and top-5 error by 0.4 and 0.3 points, and "
               "makes the network slightly harder to overfit"),
    Experiment("dropout", "no dropout", {"dropout": 0.0}, "paper",
               "Section 4.2: without dropout the network overfits substantially; dropout roughly doubles "
               "the iterations needed to converge"),
    Experiment("augment", "no random patches or flips", {"augment": False}, "paper",
               "Section 4.1: without it the network suffers from substantial overfitting"),
    Experiment("lighting", "with PCA colour augmentation (0.1)", {"lighting": 0.1}, "paper",
               "Section 4.1: the colour augmentation lowers top-1 error by over 1 point"),
    Experiment("tanh", "tanh instead of ReLU", {"activation": "tanh"}, "paper",
               "Section 3.1, Figure 1: a four-layer network with ReLUs reaches 25% training error on "
               "CIFAR-10 six times faster than with tanh"),
    Experiment("towers", "two towers (groups of 2 in conv2, conv4, conv5)", {"groups": 2}, "towers",
               "Section 3.2: the two-GPU network has 1.7 and 1.2 points lower top-1 and top-5 error than a "
               "network with half as many kernels in each convolution layer on one GPU"),
    Experiment("half_width", "one tower with half the kernels (width 1/8)", {"width": 0.125}, "towers"),
    Experiment("batchnorm", "with batch normalisation", {"norm": "batch"}, "modern"),
    Experiment("adamw", "AdamW (lr 0.001, weight decay 0.05)", {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.05},
               "modern"),
    Experiment("label_smoothing", "label smoothing 0.1", {"label_smoothing": 0.1}, "modern"),
    Experiment("cosine", "cosine learning-rate schedule", {"schedule": "cosine"}, "modern"),
)
BY_NAME = {e.name: e for e in EXPERIMENTS}
BY_KEY = {e.key: e for e in EXPERIMENTS}


def base_config(profile: Profile, dataset: str | None = None, epochs: int | None = None) -> Config:
    """The baseline: Chapter 7's run (``epochs`` changes its length)."""
    cfg = experiments.cifar_config(profile, dataset, progress=False)
    return replace(cfg, epochs=epochs) if epochs else cfg


def config(experiment: Experiment, base: Config, seed: int) -> Config:
    return replace(base, seed=seed, **experiment.changes)


def run_one(experiment: Experiment, base: Config, seed: int) -> dict[str, Any]:
    """Train (or find) one experiment with one seed; its last epoch's numbers."""
    cfg = config(experiment, base, seed)
    start = time.perf_counter()
    history, folder = experiments.train_or_load(cfg, "ablation")
    last = history[-1]
    return {"experiment": experiment.name, "seed": seed, "val_top1_error": last["val_top1_error"],
            "train_top1_error": last["train_top1_error"], "epochs": len(history),
            "seconds": round(time.perf_counter() - start, 1), "folder": folder.name}


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per experiment: the mean and standard deviation of the final validation error over seeds, and
    the difference from the baseline's mean with its standard error."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by.setdefault(r["experiment"], []).append(r)

    def stats(rs: list[dict[str, Any]], key: str) -> tuple[float, float]:
        values = [r[key] for r in rs]
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else float("nan")

    base_rs = by.get(EXPERIMENTS[0].name, [])
    base_mean, base_std = stats(base_rs, "val_top1_error") if base_rs else (float("nan"), float("nan"))
    rows = []
    for e in EXPERIMENTS:
        rs = by.get(e.name)
        if not rs:
            continue
        mean, std = stats(rs, "val_top1_error")
        train_mean, _ = stats(rs, "train_top1_error")
        se = (std**2 / len(rs) + base_std**2 / max(len(base_rs), 1)) ** 0.5
        rows.append({"key": e.key, "experiment": e.name, "group": e.group, "runs": len(rs), "val_top1_error": mean,
                     "val_std": std, "train_top1_error": train_mean, "vs_baseline": mean - base_mean,
                     "vs_baseline_se": se, "paper": e.paper})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alexnet_lib.ablations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--profile", default="cpu", choices=["smoke", "cpu", "gpu"])
    parser.add_argument("--only", default=None, help="comma-separated experiment numbers (0 is the baseline)")
    parser.add_argument("--out", type=Path, default=recorded.RESULTS_DIR / "ablations.json")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.epochs < 1:
        parser.error("--seeds and --epochs must be at least 1")
    profile = Profile(args.profile, "chosen on the command line", "cpu")
    base = base_config(profile, epochs=args.epochs)
    chosen = [EXPERIMENTS[int(i)] for i in args.only.split(",")] if args.only else list(EXPERIMENTS)
    runs = []
    for e in chosen:
        for seed in range(args.seeds):
            runs.append(run_one(e, base, seed))
            print(json.dumps(runs[-1]), flush=True)
    import torch

    from .bench import cpu_name

    result = {"machine": {"processor": cpu_name(), "python": platform.python_version(), "torch": torch.__version__,
                          "threads": torch.get_num_threads()},
              "base": {k: v for k, v in asdict(base).items() if k not in ("checkpoint_dir", "progress")},
              "seeds": args.seeds, "runs": runs, "summary": summarize(runs)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

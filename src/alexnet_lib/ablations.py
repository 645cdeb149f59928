"""Chapter 10's experiments: the paper's choices removed one at a time, and what changed since 2012.

Every experiment is the book's CIFAR-10 run (Chapter 7's network,
:func:`alexnet_lib.experiments.cifar_config`: overlapping pooling, dropout, random patches
and flips, ReLUs) with one setting changed: one of those choices removed, or one of the
paper's two other choices that fit one tower added (local response normalisation, PCA
colour augmentation), or one of the changes made since 2012. Each is trained with several
seeds (the seed sets the initial weights, the order of the images, the patches and the
dropout masks). Seed ``i`` gives every experiment the same random numbers, so each
experiment is compared with the baseline seed by seed (a paired comparison), and each
difference comes with a confidence interval from Student's t distribution.

``python -m alexnet_lib.ablations --seeds 3 --epochs 10`` trains them all (about 40 minutes
on two CPU cores), reusing finished runs from the book's cache, and writes the results to
``alexnet_lib/results/ablations.json``, which Chapter 10 reads.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from . import experiments, recorded
from .machine import describe
from .profiles import Profile
from .train import Config



@dataclass(frozen=True)
class Scaled:
    """A setting relative to the baseline's: ``factor`` times the baseline's value."""

    factor: float

    def __str__(self) -> str:
        return f"{self.factor:g} x the baseline's"


@dataclass(frozen=True)
class Experiment:
    key: str  # a short name that other pages use
    name: str
    changes: dict[str, Any]
    group: str  # "baseline", "paper" (a choice of the paper removed or added), "towers", "modern"
    paper: str = ""  # what the paper reports for this choice
    adds: int = 0  # +1: the experiment adds a choice of the paper; -1: it removes one; 0: neither


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("baseline", "Chapter 7's network", {}, "baseline"),
    Experiment("lrn", "with local response normalisation", {"norm": "lrn"}, "paper",
               "Section 3.3: normalisation lowers top-1 and top-5 error by 1.4 and 1.2 points (ImageNet); "
               "on CIFAR-10 a four-layer network had 13% test error without it and 11% with it", adds=1),
    Experiment("overlap", "no overlapping pooling (2/2 instead of 3/2)", {"pool": "2/2"}, "paper",
               "Section 3.4: overlapping pooling lowers top-1 and top-5 error by 0.4 and 0.3 points, and "
               "makes the network slightly harder to overfit", adds=-1),
    Experiment("dropout", "no dropout", {"dropout": 0.0}, "paper",
               "Section 4.2: without dropout the network exhibits substantial overfitting; dropout roughly "
               "doubles the iterations needed to converge", adds=-1),
    Experiment("augment", "no random patches or flips", {"augment": False}, "paper",
               "Section 4.1: without it the network suffers from substantial overfitting", adds=-1),
    Experiment("lighting", "with PCA colour augmentation (0.1)", {"lighting": 0.1}, "paper",
               "Section 4.1: the colour augmentation lowers top-1 error by over 1 point", adds=1),
    Experiment("tanh", "tanh instead of ReLU", {"activation": "tanh"}, "paper",
               "Section 3.1, Figure 1: a four-layer network with ReLUs reaches 25% training error on "
               "CIFAR-10 six times faster than with tanh", adds=-1),
    Experiment("towers", "two towers (groups of 2 in conv2, conv4, conv5)", {"groups": 2}, "towers",
               "Section 3.2: the two-GPU network has 1.7 and 1.2 points lower top-1 and top-5 error than a "
               "network with half as many kernels in each convolution layer on one GPU (which kept its "
               "last convolution and fully connected layers at full size)", adds=1),
    Experiment("half_width", "one tower with half the kernels in every layer", {"width": Scaled(0.5)}, "towers"),
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
    """The baseline's settings with the experiment's changes and this seed."""
    changes = {k: getattr(base, k) * v.factor if isinstance(v, Scaled) else v for k, v in experiment.changes.items()}
    return replace(base, seed=seed, **changes)


def run_one(experiment: Experiment, base: Config, seed: int) -> dict[str, Any]:
    """Train (or find) one experiment with one seed; its last epoch's numbers."""
    cfg = config(experiment, base, seed)
    start = time.perf_counter()
    history, folder = experiments.train_or_load(cfg, "ablation")
    last = history[-1]
    return {"experiment": experiment.name, "seed": seed, "val_top1_error": last["val_top1_error"],
            "train_top1_error": last["train_top1_error"], "epochs": len(history),
            "seconds": round(time.perf_counter() - start, 1), "folder": folder.name}


def t_quantile(probability: float, degrees_of_freedom: int) -> float:
    """The ``probability`` quantile of Student's t distribution (e.g. 0.975 and 2 give 4.30)."""
    from scipy import stats

    return float(stats.t.ppf(probability, degrees_of_freedom))


def seed_differences(runs: list[dict[str, Any]], name: str, reference: str) -> list[float]:
    """``name(seed i) - reference(seed i)`` in final validation error, for every seed both ran, in seed order."""
    a = {r["seed"]: r["val_top1_error"] for r in runs if r["experiment"] == name}
    b = {r["seed"]: r["val_top1_error"] for r in runs if r["experiment"] == reference}
    return [a[seed] - b[seed] for seed in sorted(a) if seed in b]


def paired_difference(runs: list[dict[str, Any]], name: str, reference: str,
                      level: float = 0.95) -> tuple[float, float, float, int]:
    """``name`` minus ``reference`` in final validation error, seed by seed.

    Seed ``i`` starts both from the same random numbers, so the differences
    ``name(seed i) - reference(seed i)`` are paired. Returns their mean, its standard
    error (their standard deviation over the square root of their number), the half-width
    of a ``level`` confidence interval (Student's t with one degree of freedom fewer than
    there are pairs), and the number of pairs. With one pair the error and the interval
    are NaN.
    """
    pairs = seed_differences(runs, name, reference)
    if not pairs:
        raise ValueError(f"no seed was run for both {name!r} and {reference!r}")
    if len(pairs) == 1:
        return pairs[0], float("nan"), float("nan"), 1
    se = statistics.stdev(pairs) / len(pairs) ** 0.5
    return statistics.fmean(pairs), se, t_quantile(0.5 + level / 2, len(pairs) - 1) * se, len(pairs)


def summarize(runs: list[dict[str, Any]], level: float = 0.95) -> list[dict[str, Any]]:
    """Per experiment: the mean and standard deviation of the final validation error over seeds,
    and its :func:`paired_difference` from the baseline (``vs_baseline``, ``vs_baseline_se``,
    ``vs_baseline_ci``: the interval's half-width, ``pairs``) with the :func:`verdict`. The
    baseline's own row has no difference (``None``).
    """
    names = {r["experiment"] for r in runs}
    baseline = EXPERIMENTS[0].name
    rows = []
    for e in EXPERIMENTS:
        rs = [r for r in runs if r["experiment"] == e.name]
        if not rs:
            continue
        values = [r["val_top1_error"] for r in rs]
        row: dict[str, Any] = {
            "key": e.key, "experiment": e.name, "group": e.group, "runs": len(rs),
            "val_top1_error": statistics.fmean(values),
            "val_std": statistics.stdev(values) if len(values) > 1 else float("nan"),
            "train_top1_error": statistics.fmean(r["train_top1_error"] for r in rs),
            "vs_baseline": None, "vs_baseline_se": None, "vs_baseline_ci": None, "pairs": 0, "paper": e.paper}
        if e.group != "baseline" and baseline in names:
            mean, se, ci, n = paired_difference(runs, e.name, baseline, level)
            row.update(vs_baseline=mean, vs_baseline_se=se, vs_baseline_ci=ci, pairs=n)
        row["verdict"] = verdict(row, e)
        rows.append(row)
    return rows


def verdict(row: dict[str, Any], experiment: Experiment | None = None) -> str:
    """A summary row's result in words, said of the paper's choice where the experiment adds or
    removes one ("the paper's choice helped": the error is lower with it), else of the error."""
    e = experiment or BY_KEY[row["key"]]
    if e.group == "baseline" or row["vs_baseline"] is None:
        return "the baseline"
    difference, half = row["vs_baseline"], row["vs_baseline_ci"]
    if not half == half or abs(difference) <= half:  # NaN (one pair) or an interval that holds zero
        return "no clear effect"
    if e.adds:
        return "the paper's choice helped" if difference * e.adds < 0 else "the paper's choice hurt"
    return "lower error" if difference < 0 else "higher error"


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
    result = {"machine": describe(),
              "base": {k: v for k, v in asdict(base).items() if k not in ("checkpoint_dir", "progress")},
              "seeds": args.seeds, "runs": runs, "summary": summarize(runs)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

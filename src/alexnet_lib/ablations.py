"""Chapter 10's experiments: the paper's choices removed one at a time, and what changed since 2012.

Every experiment is the book's small CIFAR-10 network (:func:`alexnet_lib.experiments.cifar_config`:
overlapping pooling, dropout, random patches and flips, ReLUs, weight decay) with one
setting changed: one of those choices removed, or one of the paper's other choices that
fit one tower added (local response normalisation in both readings of its constant, PCA
colour augmentation), or one of the changes made since 2012. Every run holds a tenth of
its training images out for the plateau rule; the study reports each run's test error,
measured once at its end. Each is trained with several
seeds (the seed sets the initial weights, the order of the images, the patches and the
dropout masks). Seed ``i`` gives every experiment the same random numbers, so each
experiment is compared with the baseline seed by seed (a paired comparison), and each
difference comes with a confidence interval from Student's t distribution.

``python -m alexnet_lib.ablations --seeds 3 --epochs 10`` trains them all (about an hour
on two CPU cores: 57 minutes of training, recorded), reusing finished runs from the book's cache, measures the baseline's
seeds averaged together (an ensemble, as the paper's "5 CNNs"), and writes the results to
``alexnet_lib/results/ablations.json``, which Chapter 10 reads.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from scipy import stats

from . import data, evaluate, experiments, paper, recorded
from .checkpoints import load_test
from .config import Config
from .machine import describe
from .profiles import Profile
from .run_data import build_data



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


def _said(key_top1: str, key_top5: str | None = None) -> str:
    """The paper's reported change, in words, from :mod:`alexnet_lib.paper`."""
    top1 = paper.NUMBERS[key_top1]
    if key_top5 is None:
        return f"{top1.where}: {top1.says}"
    top5 = paper.NUMBERS[key_top5]
    return f"{top1.where}: lowers top-1 and top-5 error by {top1.value:g} and {top5.value:g} points"


IMAGENET = " (ImageNet; the paper ran most of its experiments on ILSVRC-2010)"

EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("baseline", "the small CIFAR-10 network", {}, "baseline"),
    Experiment("lrn", "with LRN (cuda-convnet2's reading: alpha / 5)", {"norm": "lrn", "lrn": "cuda-convnet2"}, "paper",
               _said("lrn_top1", "lrn_top5") + IMAGENET + f"; on CIFAR-10 a four-layer network had "
               f"{paper.value('lrn_cifar_without'):g}% test error without it and {paper.value('lrn_cifar_with'):g}% "
               "with it", adds=1),
    Experiment("lrn_text", "with LRN (the printed formula: alpha)", {"norm": "lrn", "lrn": "printed"}, "paper",
               "the same layer with the formula as printed, its sum five times stronger than the released codes'", adds=1),
    Experiment("overlap", "no overlapping pooling (2/2 instead of 3/2)", {"pool": "2/2"}, "paper",
               _said("overlap_top1", "overlap_top5") + IMAGENET + ", and makes the network slightly harder to "
               "overfit", adds=-1),
    Experiment("dropout", "no dropout", {"dropout": 0.0}, "paper",
               "Section 4.2: without dropout the network exhibits substantial overfitting; dropout roughly "
               "doubles the iterations needed to converge", adds=-1),
    Experiment("augment", "no random patches or flips", {"augment": False}, "paper",
               "Section 4.1: without it the network suffers from substantial overfitting", adds=-1),
    Experiment("lighting", "with PCA colour augmentation (0.1)", {"lighting": 0.1}, "paper",
               f"Section 4.1: the colour augmentation lowers top-1 error by over {paper.value('pca_top1'):g} "
               "point" + IMAGENET, adds=1),
    Experiment("weight_decay", "no weight decay", {"weight_decay": 0.0}, "paper",
               "Section 5: weight decay of 0.0005 'is not merely a regularizer: it reduces the model's training "
               "error'", adds=-1),
    Experiment("tanh", "tanh instead of ReLU", {"activation": "tanh"}, "paper",
               f"Section 3.1, Figure 1: a four-layer network with ReLUs reaches 25% training error on "
               f"CIFAR-10 {paper.value('relu_speedup'):g} times faster than with tanh", adds=-1),
    Experiment("towers", "two towers (groups of 2 in conv2, conv4, conv5)", {"groups": 2}, "towers",
               f"Section 3.2: the two-GPU network has {paper.value('two_gpus_top1'):g} and "
               f"{paper.value('two_gpus_top5'):g} points lower top-1 and top-5 error than a network with half as "
               "many kernels in each convolution layer on one GPU (which kept its last convolution and fully "
               "connected layers at full size)", adds=1),
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
    """The baseline: the small CIFAR-10 network of :func:`experiments.cifar_config` (``epochs`` changes its length)."""
    cfg = experiments.cifar_config(profile, dataset, progress=False)
    return replace(cfg, epochs=epochs) if epochs else cfg


def experiment_config(experiment: Experiment, base: Config, seed: int) -> Config:
    """The baseline's settings with the experiment's changes and this seed."""
    changes = {k: getattr(base, k) * v.factor if isinstance(v, Scaled) else v for k, v in experiment.changes.items()}
    return replace(base, seed=seed, **changes)


def run_one(experiment: Experiment, base: Config, seed: int) -> dict[str, Any]:
    """Train (or find) one experiment with one seed; its last epoch's numbers and its training
    time (the epochs' seconds as they were measured, also for a run found in the cache)."""
    cfg = experiment_config(experiment, base, seed)
    history, folder = experiments.train_or_load(cfg, "ablation")
    last = history[-1]
    return {"experiment": experiment.name, "seed": seed, "test_top1_error": load_test(folder)["test_top1_error"],
            "val_top1_error": last["val_top1_error"], "train_top1_error": last["train_top1_error"],
            "epochs": len(history), "val_curve": [round(h["val_top1_error"], 4) for h in history],
            "train_curve": [round(h["train_top1_error"], 4) for h in history],
            "seconds": round(sum(h["seconds"] for h in history), 1), "folder": folder.name}


def ensemble(base: Config, seeds: int) -> dict[str, Any]:
    """The baseline's ``seeds`` networks alone and with their softmax outputs averaged, on the test set
    (the paper: five networks averaged lowered the top-5 error from 18.2% to 16.4%)."""
    probabilities, single = [], []
    test = build_data(base).test
    images, labels = data.images_and_labels(test)
    images, labels = torch.from_numpy(images), torch.from_numpy(labels)
    prepare = data.BatchPreparer.for_dataset(test, base.image_size).normalise
    for seed in range(seeds):
        _, folder = experiments.train_or_load(experiment_config(EXPERIMENTS[0], base, seed), "ablation")
        model = experiments.load_model(folder)[0]
        p = evaluate.centre_crop_probabilities(model, images, base.image_size, batch=500, prepare=prepare)
        probabilities.append(p)
        single.append(evaluate.topk_error(p, labels, ks=(1,))[1])
    averaged = evaluate.topk_error(sum(probabilities) / len(probabilities), labels, ks=(1,))[1]
    return {"networks": seeds, "single_test_top1_error": single, "ensemble_test_top1_error": averaged,
            "test_images": len(labels)}


def t_quantile(probability: float, degrees_of_freedom: int) -> float:
    """The ``probability`` quantile of Student's t distribution (e.g. 0.975 and 2 give 4.30)."""
    return float(stats.t.ppf(probability, degrees_of_freedom))


MEASURE = "test_top1_error"  # what the study reports: the test set, measured once at the end of every run


def by_seed(runs: list[dict[str, Any]], name: str, measure: str = MEASURE) -> dict[int, Any]:
    """``{seed: run[measure]}`` for the runs of experiment ``name`` (any recorded key: a final
    error, or a curve such as ``val_curve``)."""
    return {r["seed"]: r[measure] for r in runs if r["experiment"] == name}


def seed_differences(runs: list[dict[str, Any]], name: str, reference: str, measure: str = MEASURE) -> list[float]:
    """``name(seed i) - reference(seed i)`` in ``measure`` (by default the final test error), for
    every seed both ran, in seed order."""
    a, b = by_seed(runs, name, measure), by_seed(runs, reference, measure)
    return [a[seed] - b[seed] for seed in sorted(a) if seed in b]


def paired_difference(runs: list[dict[str, Any]], name: str, reference: str, level: float = 0.95,
                      measure: str = MEASURE) -> tuple[float, float, float, int]:
    """``name`` minus ``reference`` in ``measure`` (by default the final test error), seed by seed.

    Seed ``i`` starts both from the same random numbers, so the differences
    ``name(seed i) - reference(seed i)`` are paired. Returns their mean, its standard
    error (their standard deviation over the square root of their number), the half-width
    of a ``level`` confidence interval (Student's t with one degree of freedom fewer than
    there are pairs), and the number of pairs. With one pair the error and the interval
    are NaN.
    """
    pairs = seed_differences(runs, name, reference, measure)
    if not pairs:
        raise ValueError(f"no seed was run for both {name!r} and {reference!r}")
    if len(pairs) == 1:
        return pairs[0], float("nan"), float("nan"), 1
    se = statistics.stdev(pairs) / len(pairs) ** 0.5
    return statistics.fmean(pairs), se, t_quantile(0.5 + level / 2, len(pairs) - 1) * se, len(pairs)


def summary_rows(runs: list[dict[str, Any]], level: float = 0.95) -> list[dict[str, Any]]:
    """Per experiment: the mean and standard deviation of the final test error over seeds,
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
        values = [r[MEASURE] for r in rs]
        row: dict[str, Any] = {
            "key": e.key, "experiment": e.name, "group": e.group, "runs": len(rs),
            "test_top1_error": statistics.fmean(values),
            "test_std": statistics.stdev(values) if len(values) > 1 else float("nan"),
            "val_top1_error": statistics.fmean(r["val_top1_error"] for r in rs),
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
              "seeds": args.seeds, "runs": runs, "summary": summary_rows(runs),
              "ensemble": ensemble(base, args.seeds) if EXPERIMENTS[0] in chosen else None}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The trainer's command line: ``alexnet-train`` (``python -m alexnet_lib.train``) turned into a :class:`Config`.

Every flag is a field of :class:`~alexnet_lib.config.Config`; values are checked where the
configuration is built (:meth:`Config.check`), so the command line and a notebook calling
``train.train(Config(...))`` refuse the same mistakes with the same messages.
"""

from __future__ import annotations

import argparse

from .config import DATASETS, IMAGENETTE_SIZES, MODELS, RECIPES, SCHEDULES, Config
from .lrn import LRN_READINGS

__all__ = ["DESCRIPTION", "build_parser", "parse_args"]

DESCRIPTION = """Train AlexNet: ``python -m alexnet_lib.train`` (also installed as ``alexnet-train``).

The paper's recipe (section 5) is the default: stochastic gradient descent with batches
of 128, momentum 0.9, weight decay 0.0005, a learning rate of 0.01 divided by 10 when the
validation error stops improving (at most three times), about 90 epochs.
``--recipe torchvision`` uses the recipe of torchvision's reference scripts instead
(weight decay 0.0001, the rate divided by 10 every 30 epochs).

The validation error that steers the run is measured on --val-split of the training images,
held out; the test images (the dataset's own validation or test set) are evaluated once,
when the run has ended (CHECKPOINT_DIR/test.json).

Checkpoints are written atomically (to a temporary file, then renamed) at the end of
every epoch and every ``--checkpoint-every`` steps; ``--resume`` continues exactly where
a run stopped, mid-epoch included, and refuses changed settings (and data whose classes
were renamed or reordered). Metrics go to ``metrics.csv`` and ``metrics.json`` in the
checkpoint folder after every epoch.

Ctrl-C or SIGTERM stops a run after the step it is in, saves that exact state and exits
(status 130 or 143) saying how to continue (Ctrl-C twice stops at once). One run at a time
uses a checkpoint folder: a second is refused while the first runs. Image folders are
checked before training: files that are not readable images are named, and the run does
not start until they are replaced or moved out.

Several GPUs (or machines) use PyTorch's distributed data parallel engine: start the same
command with ``torchrun``. ``--batch-size`` stays the *global* batch (the paper's 128);
each of the N processes takes its share of every batch, the gradients are averaged, and
the result is the same training as one process with that batch. Only the first process
prints, writes metrics and checkpoints, and prepares the data while the others wait.

Examples::

    python -m alexnet_lib.train --dataset synthetic --epochs 2           # anywhere, no data needed
    python -m alexnet_lib.train --dataset cifar10 --model small --epochs 30
    python -m alexnet_lib.train --dataset imagefolder --data /data/imagenet --model paper
    torchrun --nproc_per_node=8 -m alexnet_lib.train --dataset imagefolder --data /data/imagenet --model paper
"""


def parse_args(argv: list[str] | None = None) -> Config:
    """The settings that the command line ``argv`` (default: ``sys.argv[1:]``) asks for."""
    return Config(**vars(build_parser().parse_args(argv)))


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: a flag for every setting of :class:`~alexnet_lib.config.Config`,
    with its default (``build_parser().format_help()`` is what ``--help`` prints)."""
    parser = argparse.ArgumentParser(prog="alexnet-train", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    d = Config()
    parser.add_argument("--dataset", default=d.dataset, choices=DATASETS,
                        help="synthetic (generated, no download), cifar10, imagefolder (ImageNet layout under "
                             "--data), imagenette (its 224 px copy where found, else the 320 px release) or tiny-imagenet "
                             "(downloaded on first use)")
    parser.add_argument("--data", default=None, help="data folder (imagefolder: holds train/ and val/; "
                                                     "others: where to look before downloading)")
    parser.add_argument("--model", default=d.model, choices=MODELS,
                        help="paper (227 px, two towers, LRN), torchvision, or small (32 px)")
    parser.add_argument("--num-classes", type=int, default=None, help="checked against the data")
    parser.add_argument("--image-size", type=int, default=None, help="crop size (default: 227 paper, 224 torchvision)")
    parser.add_argument("--recipe", default=d.recipe, choices=sorted(RECIPES), help="defaults for the settings below")
    parser.add_argument("--epochs", type=int, default=None,
                        help="the most epochs (the plateau schedule ends a run earlier once it has divided the "
                        "rate three times and the validation error stalls again)")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--momentum", type=float, default=None)
    parser.add_argument("--weight-decay", type=float, default=None)
    parser.add_argument("--accumulate", type=int, default=1, help="batches per optimiser step (gradient accumulation)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--amp", default="off", choices=["off", "auto", "bf16", "fp16"],
                        help="mixed precision (auto: bf16 on GPUs of compute capability 8.0 and newer, fp16 on older "
                             "ones, off on a CPU)")
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory layout")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--checkpoint-dir", default=d.checkpoint_dir)
    parser.add_argument("--checkpoint-every", type=int, default=0, help="also checkpoint every N steps")
    parser.add_argument("--resume", action="store_true", help="continue from CHECKPOINT_DIR/last.pt")
    parser.add_argument("--overwrite", action="store_true",
                        help="start afresh even where CHECKPOINT_DIR holds a run (its checkpoint, metrics and test result "
                             "are removed)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=None, help="stop (with a checkpoint) after N optimiser steps")
    parser.add_argument("--deterministic", action="store_true", help="deterministic algorithms (slower)")
    parser.add_argument("--no-download", dest="download", action="store_false", help="never download data")
    parser.add_argument("--synthetic-size", type=int, default=d.synthetic_size)
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument("--dropout", type=float, default=d.dropout, help="dropout probability in fc6 and fc7")
    parser.add_argument("--width", type=float, default=d.width, help="channel multiplier (small and paper models: 0.5 halves every layer)")
    parser.add_argument("--train-subset", type=int, default=None,
                        help="train on N of the training images only, a fixed random draw (quick experiments)")
    parser.add_argument("--val-split", type=float, default=d.val_split,
                        help="share of the training images held out as the validation split, on which the "
                             "plateau rule and every choice are made (the test images are evaluated once, at the end)")
    parser.add_argument("--imagenette", default=d.imagenette, choices=IMAGENETTE_SIZES,
                        help="which Imagenette: its 224 px copy where found (auto), else the 320 px release")
    parser.add_argument("--predecode", action="store_true",
                        help="imagefolder: decode every image once into uint8 squares (cached on disk); "
                             "crops and flips then run on whole batches on the device")
    parser.add_argument("--cache-dir", default=None, help="where --predecode keeps its files (default: data/predecoded)")
    switches = parser.add_argument_group("the small model's and the optimisation's switches (Chapter 10)")
    switches.add_argument("--init", default=d.init, choices=["paper", "he"],
                          help="the paper's network: its own initialisation, or He et al.'s (N(0, 2/fan_in))")
    switches.add_argument("--lrn", default=d.lrn, choices=list(LRN_READINGS),
                          help="which reading of LRN's constants: cuda-convnet2's ImageNet files (2 + 1e-4/5 * sum), "
                               "the 2012 cuda-convnet (1 + 1e-4/5 * sum) or the paper as printed (2 + 1e-4 * sum)")
    switches.add_argument("--norm", default=d.norm, choices=["none", "lrn", "batch"],
                          help="none, the paper's LRN after the first two ReLUs, or batch normalisation")
    switches.add_argument("--pool", default=d.pool, help="max pooling SIZE/STRIDE: 3/2 overlaps (the paper), 2/2 not")
    switches.add_argument("--activation", default=d.activation, choices=["relu", "tanh"])
    switches.add_argument("--groups", type=int, default=d.groups, help="2: the paper's towers in conv2, conv4, conv5")
    switches.add_argument("--optimizer", default=d.optimizer, choices=["sgd", "adamw"])
    switches.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    switches.add_argument("--schedule", default=None, choices=SCHEDULES, help="default: the recipe's")
    switches.add_argument("--no-augment", dest="augment", action="store_false",
                          help="train on the central patch, no random patches or flips")
    switches.add_argument("--lighting", type=float, default=d.lighting,
                          help="the paper's PCA colour augmentation with this standard deviation (0.1 in the paper)")
    return parser

"""The trainer's command line: ``alexnet-train`` (``python -m alexnet_lib.train``) turned into a :class:`Config`.

Every flag is a field of :class:`~alexnet_lib.config.Config`, which holds its default, its
help and its allowed values: the parser is built from the fields, so a new setting is a new
flag. Values are checked where the configuration is built (:meth:`Config.check`), so the
command line and a notebook calling ``train.train(Config(...))`` refuse the same mistakes
with the same messages.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any

from .config import RECIPE_TEXT, Config

__all__ = ["DESCRIPTION", "build_parser", "parse_args"]

DESCRIPTION = """Train AlexNet: ``python -m alexnet_lib.train`` (also installed as ``alexnet-train``).

""" + RECIPE_TEXT + """

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
    """The command line's parser, made from :class:`~alexnet_lib.config.Config`'s fields: a flag
    for every setting, with the field's default, help and choices (``build_parser().format_help()``
    is what ``--help`` prints). A setting that is on by default gets the flag that turns it off
    (``--no-download``); the other yes/no settings a flag that turns them on."""
    parser = argparse.ArgumentParser(prog="alexnet-train", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    switches = parser.add_argument_group("the small model's and the optimisation's switches (Chapter 10)")
    for f in fields(Config):
        where, meta = (switches if f.metadata["switch"] else parser), f.metadata
        flag, kind = "--" + f.name.replace("_", "-"), str(f.type)
        if kind == "bool":
            if f.default:
                where.add_argument(meta["off"], dest=f.name, action="store_false", help=meta["help"])
            else:
                where.add_argument(flag, action="store_true", help=meta["help"])
            continue
        options: dict[str, Any] = {"default": f.default, "help": meta["help"]}
        if kind.startswith(("int", "float")):
            options["type"] = int if kind.startswith("int") else float
        if meta["choices"] is not None:
            options["choices"] = list(meta["choices"])
        where.add_argument(flag, **options)
    return parser

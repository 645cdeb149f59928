"""Evaluation: the paper's ten-patch testing, and the ``alexnet-eval`` command line.

Also a command line, ``alexnet-eval`` (``python -m alexnet_lib.evaluate``): the errors of
a trainer checkpoint, or of torchvision's pretrained weights, on a dataset, with the
centre crop or ten crops, per-class errors and the confusion matrix written as JSON.

The measures themselves (top-k error, per-class error, the confusion matrix) are in
:mod:`alexnet_lib.metrics`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from torchvision.transforms.v2 import functional as TF
from tqdm.auto import tqdm

from . import data as data_mod
from . import datasets, train
from .checkpoints import check_classes, read_checkpoint
from .config import Config, TrainError
from .devices import pick_device
from .metrics import confusion_matrix, per_class_error, topk_error
from .pretrained import load_torchvision_alexnet
from .profiles import progress_bars_off
from .run_data import build_data, crop_size, image_folder_root, square_size

# topk_error, per_class_error and confusion_matrix live in alexnet_lib.metrics; they are
# named here too, where the paper's evaluation is (``alexnet_lib.evaluate.topk_error``).
__all__ = ["centre_crop_probabilities", "confusion_matrix", "evaluate_model", "main", "per_class_error", "ten_crop",
           "ten_crop_probabilities", "topk_error", "view_probabilities"]


def ten_crop(images, size: int):
    """The paper's ten test patches of each image: four corners and the centre, and their mirrors.

    Args:
        images: ``(N, C, H, W)`` or ``(C, H, W)`` tensor, ``H, W >= size`` (the paper: 256x256 images).
        size: side of the square patches (the paper: 224).

    Returns:
        ``(10, N, C, size, size)`` (or ``(10, C, size, size)``): top-left, top-right,
        bottom-left, bottom-right, centre, then the same five of the mirrored image.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"ten_crop takes a torch tensor (N, C, H, W) or (C, H, W), got {type(images).__name__}")
    h, w = images.shape[-2:]
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive number of pixels (the paper: 224), got {size!r}")
    if size > min(h, w):
        raise ValueError(f"crops of {size} do not fit images of {h}x{w}; resize the images first (the paper: 256)")
    return torch.stack(list(TF.ten_crop(images, [size, size])))


def _softmax(model, view, batch: int | None, prepare):
    chunks = view.split(batch or len(view))
    return torch.cat([model(prepare(c) if prepare else c).float().softmax(dim=1) for c in chunks])


def view_probabilities(model, images, size: int, batch: int | None = None, prepare=None):
    """The model's softmax on each of the ten patches of :func:`ten_crop`, kept apart.

    ``images`` is ``(N, 3, H, W)``: already normalised, or anything that ``prepare`` turns
    into the model's input patch by patch (``uint8`` images and a function that normalises
    them, say). Returns ``(10, N, classes)`` probabilities in :func:`ten_crop`'s order (index 4
    is the central patch, the one view of :func:`centre_crop_probabilities`), so that any
    choice of views can be averaged without running the network again. The model is put in
    eval mode and gradients are off.
    """
    model.eval()
    crops = ten_crop(images, size)  # (10, N, 3, s, s)
    with torch.no_grad():
        return torch.stack([_softmax(model, view, batch, prepare) for view in crops])


def ten_crop_probabilities(model, images, size: int, batch: int | None = None, prepare=None):
    """The model's softmax averaged over the ten patches of :func:`ten_crop` (the paper's testing).

    Arguments as for :func:`view_probabilities`; returns ``(N, classes)`` probabilities.
    """
    return view_probabilities(model, images, size, batch, prepare).mean(dim=0)


def centre_crop_probabilities(model, images, size: int, batch: int | None = None, prepare=None):
    """The model's softmax on the central ``size x size`` patch of each image (one view; the
    fifth of :func:`ten_crop`'s patches). Arguments as for :func:`ten_crop_probabilities`."""
    model.eval()
    with torch.no_grad():
        return _softmax(model, TF.center_crop(images, [size, size]), batch, prepare)


# --- the command line ---------------------------------------------------------------------


def evaluate_model(model, loader, *, device: str = "cpu", ten_crop_size: int | None = None,
                   progress: bool = True, prepare=None) -> dict[str, object]:
    """Top-1/top-5 error, per-class top-1 error and confusion matrix of ``model`` on ``loader``.

    With ``ten_crop_size``, the loader's images must be larger than that (the paper: 256)
    and predictions are averaged over ten crops; otherwise the images are used as they are.
    ``prepare``, if given, turns each batch (or patch) into the model's input on ``device``.
    """
    model = model.to(device).eval()
    scores, targets = [], []
    with torch.no_grad():
        for x, y in tqdm(loader, disable=not progress or progress_bars_off(), desc="evaluating", leave=False):
            x = x.to(device)
            if ten_crop_size:
                p = ten_crop_probabilities(model, x, ten_crop_size, prepare=prepare)
            else:
                p = model(prepare(x) if prepare else x).float().softmax(dim=1)
            scores.append(p.cpu())
            targets.append(torch.as_tensor(y))
    if not scores:
        raise ValueError("no images to evaluate: the loader is empty")
    probabilities, labels = torch.cat(scores), torch.cat(targets)
    classes = probabilities.shape[1]
    ks = (1, 5) if classes >= 5 else (1,)
    errors = topk_error(probabilities, labels, ks=ks)
    return {
        "images": len(labels),
        "method": f"ten crops of {ten_crop_size}" if ten_crop_size else "one view",
        **{f"top{k}_error": e for k, e in errors.items()},
        "per_class_top1_error": [None if np.isnan(e) else float(e) for e in per_class_error(probabilities, labels)],
        "confusion_matrix": confusion_matrix(probabilities.argmax(dim=1), labels, classes).tolist(),
    }


def _checkpoint_model_and_data(path: str, data: str | None, batch_size: int, ten_crop: bool):
    """The model of a trainer checkpoint, the validation set it was trained against, the ten-crop
    size, and the function that turns the loader's batches into the model's input (or ``None``)."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    payload = read_checkpoint(Path(path))
    cfg = Config(**{**payload["config"], "data": data or payload["config"].get("data"), "progress": False})
    crop = crop_size(cfg)
    prepare = None
    run_data = build_data(cfg)
    val, classes = run_data.test, run_data.classes
    saved = payload.get("identity", {}).get("num_classes", classes)
    if run_data.class_names:  # the network's outputs must mean the data's classes, in the same order
        check_classes(payload, run_data.class_names, f"{path} was trained on {saved} classes; the data at hand")
    if saved != classes:
        raise TrainError(f"{path} was trained on {saved} classes and {run_data.source} has {classes}: evaluate it on "
                         "the data it was trained on")
    if data_mod.predecoded(val) is not None:  # uint8 images larger than the crop: cut and normalise per batch
        prepare = data_mod.BatchPreparer.for_dataset(val, crop)  # the training images' statistics
    elif ten_crop and cfg.dataset in ("imagefolder", "imagenette", "tiny-imagenet"):
        scale = square_size(crop)
        val = data_mod.imagenet_folder(image_folder_root(cfg), "val", transform=data_mod.paper_transform(
            False, crop=scale, scale=scale))
    elif ten_crop:
        raise TrainError("--ten-crop needs images larger than the network's input: a run with "
                               "--image-size below the images' size, or --dataset imagefolder")
    model = train.build_model(cfg, classes)
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as err:
        raise TrainError(f"{path} does not fit the network its settings describe ({str(err).splitlines()[0]}): "
                         "the file was changed or written by another version") from None
    loader = DataLoader(val, batch_size=batch_size, shuffle=False)
    return model, loader, (crop if ten_crop else None), prepare


def main(argv: list[str] | None = None) -> int:
    """``alexnet-eval``: errors of a checkpoint or of torchvision's pretrained AlexNet."""
    parser = argparse.ArgumentParser(prog="alexnet-eval", description=main.__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="a checkpoint written by alexnet-train (last.pt)")
    source.add_argument("--pretrained", action="store_true", help="torchvision's ImageNet weights")
    parser.add_argument("--data", default=None, help="data folder (imagefolder: holds val/<wnid>/)")
    parser.add_argument("--ten-crop", action="store_true", help="average over the paper's ten crops")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--output", default=None, help="write the full results (with the confusion matrix) as JSON")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    args = parser.parse_args(argv)

    def error(message: str) -> int:
        print(f"alexnet-eval: error: {message}", file=sys.stderr)
        return 2

    if args.batch_size < 1:
        return error(f"--batch-size must be a whole number of at least 1, got {args.batch_size}")
    if args.output:
        folder = Path(args.output).expanduser().resolve().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            return error(f"--output {args.output}: the folder {folder} does not exist or cannot be written; "
                         "create it first")
        if Path(args.output).is_dir():
            return error(f"--output {args.output} is a folder: name a file, such as result.json")
    try:
        pick_device(args.device)
        if args.pretrained:
            if args.data is None:
                parser.error("--pretrained needs --data, an ImageNet folder with val/<wnid>/")
            prepare = None
            model = load_torchvision_alexnet(progress=args.progress)
            crop = 256 if args.ten_crop else 224
            val = data_mod.imagenet_folder(args.data, "val", transform=data_mod.paper_transform(False, crop))
            if len(val.classes) != 1000:
                parser.error(f"{args.data}/val has {len(val.classes)} classes; the pretrained model scores ImageNet's 1000")
            loader = DataLoader(val, batch_size=args.batch_size, shuffle=False)
            ten_crop_size = 224 if args.ten_crop else None
        else:
            model, loader, ten_crop_size, prepare = _checkpoint_model_and_data(args.checkpoint, args.data,
                                                                               args.batch_size, args.ten_crop)
        result = evaluate_model(model, loader, device=args.device, ten_crop_size=ten_crop_size,
                                progress=args.progress, prepare=prepare)
    except (TrainError, datasets.DataError, data_mod.BadImage, FileNotFoundError) as err:
        return error(str(err))
    except KeyboardInterrupt:
        print("alexnet-eval: stopped by Ctrl-C", file=sys.stderr)
        return 130
    if args.output:
        try:
            with open(args.output, "w") as f:
                json.dump(result, f)
        except OSError as err:
            return error(f"--output {args.output} could not be written ({err.strerror or err})")
    summary = {k: v for k, v in result.items() if k not in ("per_class_top1_error", "confusion_matrix")}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

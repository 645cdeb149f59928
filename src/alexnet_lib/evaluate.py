"""Evaluation: the paper's top-1 and top-5 error rates, and ten-crop testing.

Also a command line, ``alexnet-eval`` (``python -m alexnet_lib.evaluate``): the errors of
a trainer checkpoint, or of torchvision's pretrained weights, on a dataset, with the
centre crop or ten crops, per-class errors and the confusion matrix written as JSON.

"On ImageNet, it is customary to report two error rates: top-1 and top-5, where the
top-5 error rate is the fraction of test images for which the correct label is not
among the five labels considered most probable by the model" (section 2 of the paper).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["confusion_matrix", "evaluate_model", "main", "per_class_error", "ten_crop", "ten_crop_probabilities",
           "topk_error"]


def topk_error(logits, targets, ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Fraction of examples whose correct class is not among the ``k`` highest scores.

    Args:
        logits: scores ``(N, classes)``, a numpy array or a torch tensor (any device).
        targets: correct classes ``(N,)``, integers.
        ks: the ``k`` values to report.

    Returns:
        ``{k: error}`` with each error in [0, 1].

    Ties between exactly equal scores are broken by class index, lower first, so the
    result is deterministic (``torch.topk`` leaves the order of equal scores
    unspecified; with real-valued scores ties are rare and the two agree). An example
    with any score that is not finite (NaN or infinite, as a diverged network gives)
    counts as an error for every ``k``: no comparison with NaN is true, so it would
    otherwise rank its correct class first.
    """
    scores = _as_numpy(logits)
    labels = _as_numpy(targets)
    if scores.ndim != 2:
        raise ValueError(f"logits must be (N, classes), got shape {scores.shape}")
    if labels.shape != (scores.shape[0],):
        raise ValueError(f"targets must be ({scores.shape[0]},), one class per row of logits, got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"targets must be integer class indices, got dtype {labels.dtype}")
    n, classes = scores.shape
    if n == 0:
        raise ValueError("no examples: logits has 0 rows")
    if labels.min() < 0 or labels.max() >= classes:
        raise ValueError(f"targets must be in 0..{classes - 1}, got {labels.min()}..{labels.max()}")
    bad = [k for k in ks if not isinstance(k, (int, np.integer)) or k < 1 or k > classes]
    if bad:
        raise ValueError(f"each k must be an int from 1 to the number of classes ({classes}), got {bad}")
    # rank of the correct class: classes scoring strictly higher, plus equal ones listed before it
    correct = scores[np.arange(n), labels][:, None]
    higher = (scores > correct).sum(axis=1)
    equal_before = ((scores == correct) & (np.arange(classes)[None, :] < labels[:, None])).sum(axis=1)
    rank = higher + equal_before
    rank[~np.isfinite(scores).all(axis=1)] = classes  # not finite: wrong, whatever k
    return {int(k): float(np.mean(rank >= k)) for k in ks}


def _as_numpy(values) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor
        return values.detach().cpu().numpy()
    return np.asarray(values)


def ten_crop(images, size: int):
    """The paper's ten test patches of each image: four corners and the centre, and their mirrors.

    Args:
        images: ``(N, C, H, W)`` or ``(C, H, W)`` tensor, ``H, W >= size`` (the paper: 256x256 images).
        size: side of the square patches (the paper: 224).

    Returns:
        ``(10, N, C, size, size)`` (or ``(10, C, size, size)``): top-left, top-right,
        bottom-left, bottom-right, centre, then the same five of the mirrored image.
    """
    import torch
    from torchvision.transforms.v2 import functional as TF

    h, w = images.shape[-2:]
    if size > min(h, w):
        raise ValueError(f"crops of {size} do not fit images of {h}x{w}; resize the images first (the paper: 256)")
    return torch.stack(list(TF.ten_crop(images, [size, size])))


def _softmax(model, view, batch: int | None, prepare):
    import torch

    chunks = view.split(batch or len(view))
    return torch.cat([model(prepare(c) if prepare else c).float().softmax(dim=1) for c in chunks])


def ten_crop_probabilities(model, images, size: int, batch: int | None = None, prepare=None):
    """The model's softmax averaged over the ten patches of :func:`ten_crop` (the paper's testing).

    ``images`` is ``(N, 3, H, W)``: already normalised, or anything that ``prepare`` turns
    into the model's input patch by patch (``uint8`` images and a function that normalises
    them, say). Returns ``(N, classes)`` probabilities. The model is put in eval mode and
    gradients are off.
    """
    import torch

    model.eval()
    crops = ten_crop(images, size)  # (10, N, 3, s, s)
    with torch.no_grad():
        return sum(_softmax(model, view, batch, prepare) for view in crops) / len(crops)


def centre_crop_probabilities(model, images, size: int, batch: int | None = None, prepare=None):
    """The model's softmax on the central ``size x size`` patch of each image (one view; the
    fifth of :func:`ten_crop`'s patches). Arguments as for :func:`ten_crop_probabilities`."""
    import torch
    from torchvision.transforms.v2 import functional as TF

    model.eval()
    with torch.no_grad():
        return _softmax(model, TF.center_crop(images, [size, size]), batch, prepare)


def confusion_matrix(predicted, targets, classes: int) -> np.ndarray:
    """``counts[true, predicted]``: how often each class was taken for each other."""
    p, t = _as_numpy(predicted).astype(np.int64), _as_numpy(targets).astype(np.int64)
    if p.shape != t.shape:
        raise ValueError(f"predicted {p.shape} and targets {t.shape} differ in shape")
    return np.bincount(t * classes + p, minlength=classes * classes).reshape(classes, classes)


def per_class_error(logits, targets, k: int = 1) -> np.ndarray:
    """Top-``k`` error of each class (NaN for a class without examples)."""
    scores, labels = _as_numpy(logits), _as_numpy(targets)
    classes = scores.shape[1]
    out = np.full(classes, np.nan)
    for c in np.unique(labels):
        rows = labels == c
        out[c] = topk_error(scores[rows], labels[rows], ks=(k,))[k]
    return out


# --- the command line ---------------------------------------------------------------------


def evaluate_model(model, loader, *, device: str = "cpu", ten_crop_size: int | None = None,
                   progress: bool = True, prepare=None) -> dict[str, object]:
    """Top-1/top-5 error, per-class top-1 error and confusion matrix of ``model`` on ``loader``.

    With ``ten_crop_size``, the loader's images must be larger than that (the paper: 256)
    and predictions are averaged over ten crops; otherwise the images are used as they are.
    ``prepare``, if given, turns each batch (or patch) into the model's input on ``device``.
    """
    import torch
    from tqdm.auto import tqdm

    from .profiles import progress_bars_off

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
    import torch

    from . import train
    from .data import BatchPreparer, predecoded

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # torch raises several kinds for a file that is not a checkpoint
        raise train.TrainError(f"{path} cannot be read as a checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(payload, dict) or "config" not in payload or "model" not in payload:
        raise train.TrainError(f"{path} is not a checkpoint written by alexnet-train")
    cfg = train.Config(**{**payload["config"], "data": data or payload["config"].get("data"), "progress": False})
    crop = train.crop_size(cfg)
    prepare = None
    run_data = train.build_data(cfg)
    val, classes = run_data.test, run_data.classes
    if predecoded(val) is not None:  # uint8 images larger than the crop: cut and normalise per batch
        prepare = BatchPreparer.for_dataset(val, crop)  # the training set's statistics (every split carries them)
    elif ten_crop and cfg.dataset == "imagefolder":
        from . import data as data_mod

        scale = train.square_size(crop)
        val = data_mod.imagenet_folder(cfg.data, "val", transform=data_mod.paper_transform(
            False, crop=scale, scale=scale))
    elif ten_crop:
        raise train.TrainError("--ten-crop needs images larger than the network's input: a run with "
                               "--image-size below the images' size, or --dataset imagefolder")
    model = train.build_model(cfg, classes)
    model.load_state_dict(payload["model"])
    loader = torch.utils.data.DataLoader(val, batch_size=batch_size, shuffle=False)
    return model, loader, (crop if ten_crop else None), prepare


def main(argv: list[str] | None = None) -> int:
    """``alexnet-eval``: errors of a checkpoint or of torchvision's pretrained AlexNet."""
    import argparse
    import json
    import sys

    import torch

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
    from . import data as data_mod
    from . import datasets, train

    try:
        if args.pretrained:
            from .pretrained import load_torchvision_alexnet

            if args.data is None:
                parser.error("--pretrained needs --data, an ImageNet folder with val/<wnid>/")
            prepare = None
            model = load_torchvision_alexnet(progress=args.progress)
            crop = 256 if args.ten_crop else 224
            val = data_mod.imagenet_folder(args.data, "val", transform=data_mod.paper_transform(False, crop))
            if len(val.classes) != 1000:
                parser.error(f"{args.data}/val has {len(val.classes)} classes; the pretrained model scores ImageNet's 1000")
            loader = torch.utils.data.DataLoader(val, batch_size=args.batch_size, shuffle=False)
            ten_crop_size = 224 if args.ten_crop else None
        else:
            model, loader, ten_crop_size, prepare = _checkpoint_model_and_data(args.checkpoint, args.data,
                                                                               args.batch_size, args.ten_crop)
        result = evaluate_model(model, loader, device=args.device, ten_crop_size=ten_crop_size,
                                progress=args.progress, prepare=prepare)
    except (train.TrainError, datasets.DataNotFound, data_mod.BadImage, FileNotFoundError) as err:
        print(f"alexnet-eval: error: {err}", file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "w") as f:
            json.dump(result, f)
    summary = {k: v for k, v in result.items() if k not in ("per_class_top1_error", "confusion_matrix")}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

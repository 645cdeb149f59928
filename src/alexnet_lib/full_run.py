"""The book's recorded run: the full-width AlexNet trained on Imagenette's photographs.

No chapter can train the paper's network within its few minutes, so it is trained once,
with a command, and recorded (:mod:`alexnet_lib.recorded`): Chapter 7 shows its curves
beside the live run, Chapter 8 its test errors, Chapter 9 what it learned.

The network is the paper's variant at full width (96-256-384-384-256 filters, 4096-4096
hidden units, two towers, LRN in cuda-convnet2's reading), trained with the paper's
recipe (SGD with batches of 128, momentum 0.9, weight decay 0.0005, learning rate 0.01
divided by 10 by the plateau rule, random patches, flips and PCA colour) on the ten
classes of Imagenette, with two changes for a CPU and for this data:

- **128-pixel patches** of 146-pixel squares (the paper: 224 of 256), so that conv1 gives
  30x30 maps and pool5 2x2 (fc6 has 256 x 2 x 2 inputs instead of 256 x 6 x 6);
- **He initialisation** (``init="he"``): with the paper's N(0, 0.01) weights and biases of 1,
  the network stayed at chance in our trial runs at this scale (Chapter 7 shows it).

The plateau rule watches a validation split held out of the training photographs; the
test set, Imagenette's ``val/`` folder, is evaluated once when the run ends.

    python -m alexnet_lib.full_run train            # resumes after an interruption; records when done
    python -m alexnet_lib.full_run record --tag cpu_2core
    python -m alexnet_lib.full_run ship --tag cpu_2core   # its weights into the package (book_network())
    python -m alexnet_lib.full_run repack --tag cpu_2core # the shipped file in the current storage
    python -m alexnet_lib.full_run init             # its first two epochs with the paper's initialisation

``record`` writes ``results/imagenette_full_<tag>.json`` (machine, settings, code version,
wall time, curves, test errors with one patch and ten, per-class errors, the confusion
matrix, the most confident mistakes, nearest neighbours) and ``imagenette_full_<tag>.npz``
(first-layer kernels before and after, feature maps and occlusion maps of a few test
photographs), together well under 5 MB.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import data, evaluate, experiments, pretrained, recorded, train, viz
from .checkpoints import CHECKPOINT, read_checkpoint, write_json
from .config import Config, TrainError
from .devices import pick_device
from .machine import describe
from .run_data import build_data, dataset_labels, image_folder_root
from .version import __version__

__all__ = ["FEATURE_LAYERS", "code_version", "recorded_config", "record", "run"]

FEATURE_LAYERS = ("relu1", "relu2", "relu5")
QUERIES, NEIGHBOURS, MAPPED = 8, 5, 4
OCCLUSION_SIZE, OCCLUSION_STRIDE = 32, 8


def recorded_config(image_size: int = 128, epochs: int = 38, device: str = "auto", **changes: Any) -> Config:
    """The recorded run's settings (see the module's documentation for the two changes)."""
    cfg = Config(dataset="imagenette", imagenette="224", model="paper", init="he", image_size=image_size,
                 recipe="paper", epochs=epochs, batch_size=128, lr=0.01, lighting=0.1, predecode=True,
                 workers=0, seed=0, device=device, val_split=0.1)
    return dataclasses.replace(cfg, **changes)


def code_version() -> dict[str, Any]:
    """The library's version and, in a git checkout, its commit (and whether files had changed)."""
    here = Path(__file__).resolve().parent
    version: dict[str, Any] = {"library": __version__}
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here, capture_output=True,
                               text=True, check=True)
        version.update(commit=commit.stdout.strip(), changed_files=bool(dirty.stdout.strip()))
    except (OSError, subprocess.CalledProcessError):
        pass
    return version


def run(cfg: Config, folder: Path) -> None:
    """Train ``cfg`` into ``folder`` (resuming what is there), adding up the wall time in ``wall.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    wall_file = folder / "wall.json"
    wall = json.loads(wall_file.read_text()) if wall_file.exists() else {"seconds": 0.0, "sessions": []}
    resume = (folder / CHECKPOINT).exists()
    start = time.perf_counter()
    session = {"code": code_version(), "machine": describe(device=pick_device(cfg.device)),
               "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    try:
        train.train(dataclasses.replace(cfg, checkpoint_dir=str(folder), resume=resume))
    finally:
        session["seconds"] = round(time.perf_counter() - start, 1)
        wall = {"seconds": wall["seconds"] + session["seconds"], "sessions": [*wall["sessions"], session]}
        write_json(wall_file, wall)


def _paths(dataset: Any, root: Path) -> list[str]:
    inner, indices = data.innermost(dataset)
    base = data.predecoded(inner)
    paths = base.paths if base is not None and base.paths is not None else []
    return [str(Path(paths[i]).relative_to(root)) for i in indices] if paths else []


def _uint8_batches(dataset: Any, batch: int = 256):
    """``(uint8 images, labels)`` of a pre-decoded dataset (or a Subset of one), ``batch`` at a time."""
    indices = list(range(len(dataset)))
    for start in range(0, len(indices), batch):
        yield dataset[indices[start:start + batch]]


def _test_probabilities(model: torch.nn.Module, test: Any, crop: int, prep: data.BatchPreparer, *,
                        ten: bool = True) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """The softmax of the central patch and (``ten``) the mean softmax of the ten patches of every
    test photograph, and the labels."""
    centre, tens, labels = [], [], []
    with torch.no_grad():
        for x, y in _uint8_batches(test):
            centre.append(evaluate.centre_crop_probabilities(model, x, crop, prepare=prep.normalise))
            if ten:
                tens.append(evaluate.ten_crop_probabilities(model, x, crop, prepare=prep.normalise))
            labels.append(y)
    return torch.cat(centre), (torch.cat(tens) if ten else None), torch.cat(labels)


def record(folder: Path, tag: str, out: Path | None = None) -> dict[str, Any]:
    """Measure the finished run in ``folder`` and write ``imagenette_full_<tag>.json`` and ``.npz``."""
    out = out or recorded.RESULTS_DIR
    model, cfg, classes = experiments.load_model(folder)
    payload = read_checkpoint(folder / CHECKPOINT)
    state = payload["state"]
    if state["test"] is None:
        raise TrainError(f"the run in {folder} has not finished: train it to the end first")
    splits = build_data(dataclasses.replace(cfg, progress=False))
    root = image_folder_root(cfg)
    crop, prep = cfg.image_size, data.BatchPreparer.for_dataset(splits.test, cfg.image_size)
    names = list(splits.test.classes)

    # the test set: one central patch against ten patches, with every probability kept
    p1, p10, y = _test_probabilities(model, splits.test, crop, prep)
    one, ten = evaluate.topk_error(p1, y), evaluate.topk_error(p10, y)
    wrong1, wrong10 = (p1.argmax(1) != y), (p10.argmax(1) != y)
    confident = torch.where(wrong10)[0][p10[wrong10].max(1).values.argsort(descending=True)[:12]]
    test_paths = _paths(splits.test, root)

    # nearest neighbours in the last hidden layer and in pixels, among the training photographs
    train_x = torch.cat([prep(x, train=False) for x, _ in _uint8_batches(splits.train)])
    bank = viz.hidden_features(model, train_x)
    rng = np.random.default_rng(0)
    queries = np.sort(rng.choice(len(splits.test), QUERIES, replace=False))
    query_x = prep(splits.test[queries.tolist()][0], train=False)
    by_features = viz.nearest(viz.hidden_features(model, query_x), bank, k=NEIGHBOURS)
    by_pixels = viz.nearest(query_x, train_x, k=NEIGHBOURS)
    train_labels = torch.as_tensor(dataset_labels(splits.train))
    train_paths = _paths(splits.train, root)

    # feature maps and occlusion maps of a few test photographs
    mapped = queries[:MAPPED]
    mapped_x = query_x[:MAPPED]
    maps = viz.activations(model, mapped_x, FEATURE_LAYERS)
    occlusion = np.stack([viz.occlusion_map(model, image, int(y[i]), OCCLUSION_SIZE, OCCLUSION_STRIDE).numpy()
                          for image, i in zip(mapped_x, mapped)])
    torch.manual_seed(cfg.seed)
    initial = train.build_model(cfg, classes).features.conv1.weight.detach()

    wall = json.loads((folder / "wall.json").read_text()) if (folder / "wall.json").exists() else {}
    result = {
        "name": f"imagenette_full_{tag}",
        "what": "the paper's AlexNet at full width on Imagenette (128 px patches, He initialisation)",
        "machine": wall["sessions"][0]["machine"] if wall.get("sessions") else describe(),
        "code": wall["sessions"][0]["code"] if wall.get("sessions") else code_version(),
        "training_sessions": wall.get("sessions", []),
        "settings": {k: v for k, v in dataclasses.asdict(cfg).items()
                     if k not in ("checkpoint_dir", "cache_dir", "data", "progress", "resume", "overwrite")},
        "data": splits.source.replace(str(root), root.name),
        "parameters": sum(p.numel() for p in model.parameters()),
        "wall_seconds": round(wall.get("seconds", sum(h["seconds"] for h in state["history"])), 1),
        "history": [{k: round(v, 5) if isinstance(v, float) else v for k, v in h.items()} for h in state["history"]],
        "test": {k: round(v, 5) for k, v in state["test"].items()},
        "test_images": len(y),
        "one_patch": {f"top{k}_error": round(e, 5) for k, e in one.items()},
        "ten_patches": {f"top{k}_error": round(e, 5) for k, e in ten.items()},
        "only_one_patch_wrong": int((wrong1 & ~wrong10).sum()), "only_ten_patches_wrong": int((~wrong1 & wrong10).sum()),
        "classes": names,
        "per_class_top1_error": [round(float(e), 5) for e in evaluate.per_class_error(p10, y)],
        "confusion_matrix": evaluate.confusion_matrix(p10.argmax(1), y, classes).tolist(),
        "mistakes": [{"path": test_paths[i] if test_paths else None, "label": int(y[i]),
                      "top5": [[int(c), round(float(p), 4)] for p, c in zip(*p10[i].topk(5))]}
                     for i in confident.tolist()],
        "neighbours": {
            "queries": [{"path": test_paths[i] if test_paths else None, "label": int(y[i])} for i in queries],
            "hidden": [[{"path": train_paths[j] if train_paths else None, "label": int(train_labels[j])}
                        for j in row] for row in by_features.tolist()],
            "pixels": [[{"path": train_paths[j] if train_paths else None, "label": int(train_labels[j])}
                        for j in row] for row in by_pixels.tolist()],
        },
        "maps": {"images": [test_paths[i] if test_paths else None for i in mapped],
                 "labels": [int(y[i]) for i in mapped], "layers": list(FEATURE_LAYERS),
                 "occlusion": {"size": OCCLUSION_SIZE, "stride": OCCLUSION_STRIDE}},
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / f"imagenette_full_{tag}.json", result)
    np.savez_compressed(out / f"imagenette_full_{tag}.npz",
                        kernels=model.features.conv1.weight.detach().numpy().astype(np.float16),
                        kernels_before=initial.numpy().astype(np.float16),
                        occlusion=occlusion.astype(np.float16),
                        **{name: maps[name].numpy().astype(np.float16) for name in FEATURE_LAYERS})
    return result


def _errors(net: torch.nn.Module, splits: Any, cfg: Config) -> dict[str, Any]:
    """``net``'s top-1 and top-5 errors on the test set (one central patch, and ten patches) and on
    the validation split held out of the training photographs (one central patch)."""
    prep = data.BatchPreparer.for_dataset(splits.test, cfg.image_size)
    p1, p10, y = _test_probabilities(net, splits.test, cfg.image_size, prep)
    v1, _, vy = _test_probabilities(net, splits.val, cfg.image_size, prep, ten=False)
    rounded = lambda errors: {f"top{k}_error": round(e, 5) for k, e in errors.items()}  # noqa: E731
    return {"one_patch": rounded(evaluate.topk_error(p1, y)), "ten_patches": rounded(evaluate.topk_error(p10, y)),
            "validation_one_patch": rounded(evaluate.topk_error(v1, vy))}


def _write_shipped(tag: str, out: Path, meta: dict[str, Any], sha: str, splits: Any, cfg: Config,
                   errors: dict[str, Any], **more: Any) -> dict[str, Any]:
    result_file = out / f"imagenette_full_{tag}.json"
    result = json.loads(result_file.read_text())
    result["shipped"] = {"file": f"alexnet_lib/weights/{pretrained.BOOK_NETWORK_FILE.name}",
                         "bytes": pretrained.BOOK_NETWORK_FILE.stat().st_size, "sha256": sha,
                         "storage": meta["storage"], "test_images": len(splits.test),
                         "validation_images": len(splits.val), "machine": describe(), "code": code_version(),
                         **errors, **more}
    write_json(result_file, result)
    return result["shipped"]


def ship(folder: Path, tag: str, out: Path | None = None) -> dict[str, Any]:
    """Write the finished run's weights as the package's network file (8 and 4 bits per output
    channel, :func:`alexnet_lib.pretrained.save_book_network`), load it back as :func:`book_network`
    does, and measure both networks on the test set and the validation split: the cost of the
    storage, added to ``imagenette_full_<tag>.json`` under ``shipped``."""
    out = out or recorded.RESULTS_DIR
    model, cfg, _ = experiments.load_model(folder)
    splits = build_data(dataclasses.replace(cfg, progress=False))
    meta = pretrained.book_network_meta(cfg, list(splits.test.classes), f"results/imagenette_full_{tag}.json")
    sha = pretrained.save_book_network(model, meta, pretrained.BOOK_NETWORK_FILE)
    shipped = pretrained.book_network(pretrained.BOOK_NETWORK_FILE, check=False)
    errors = {name: _errors(net, splits, cfg) for name, net in (("trained", model), ("shipped", shipped))}
    return _write_shipped(tag, out, meta, sha, splits, cfg, errors)


def repack(tag: str, out: Path | None = None) -> dict[str, Any]:
    """Store the shipped network again in the library's current storage
    (:data:`alexnet_lib.pretrained.STORAGE`) when the trained run is no longer at hand: its
    weights are re-rounded from the stored ones. Measures the new file as :func:`ship` does; the
    trained network's errors stay those recorded, and the file it replaces is recorded under
    ``shipped.previous``."""
    out = out or recorded.RESULTS_DIR
    cfg = recorded_config()
    splits = build_data(dataclasses.replace(cfg, progress=False))
    before = pretrained.book_network(pretrained.BOOK_NETWORK_FILE, check=False)
    old = json.loads((out / f"imagenette_full_{tag}.json").read_text())["shipped"]
    previous = {"storage": old["storage"], "bytes": old["bytes"], "sha256": old["sha256"],
                **_errors(before, splits, cfg)}
    meta = {**before.meta, "storage": pretrained.STORAGE}
    sha = pretrained.save_book_network(before, meta, pretrained.BOOK_NETWORK_FILE)
    after = pretrained.book_network(pretrained.BOOK_NETWORK_FILE, check=False)
    errors = {"trained": old["trained"], "shipped": _errors(after, splits, cfg)}
    return _write_shipped(tag, out, meta, sha, splits, cfg, errors, previous=previous,
                          repacked="re-rounded from the previous file's weights (the trained run was not kept)")


def init_comparison(folder: Path, full: Path, epochs: int = 2, tag: str = "cpu_2core") -> dict[str, Any]:
    """Train the recorded run's first ``epochs`` again with the paper's initialisation, beside the
    recorded run's own first epochs (He initialisation); write ``imagenette_init_<tag>.json``."""
    cfg = dataclasses.replace(experiments.load_model(full)[1], init="paper", epochs=epochs, checkpoint_dir=str(folder),
                              resume=False, overwrite=True, progress=False)
    history = train.train(cfg)
    recorded_run = read_checkpoint(full / CHECKPOINT)["state"]["history"][:epochs]
    keep = ("epoch", "lr", "train_loss", "train_top1_error", "val_loss", "val_top1_error", "seconds")
    result = {"what": "the first epochs of the recorded run (128 px, full width) with each initialisation",
              "machine": describe(), "code": code_version(),
              "runs": {"paper: N(0, 0.01), biases 1": [{k: h[k] for k in keep} for h in history],
                       "He: N(0, 2/fan-in), biases 0": [{k: h[k] for k in keep} for h in recorded_run]}}
    write_json(recorded.RESULTS_DIR / f"imagenette_init_{tag}.json", result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alexnet_lib.full_run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["train", "record", "ship", "repack", "init"],
                        help="train (and record), record a finished run, write its weights as the package's "
                             "network file (and measure what the storage costs), store the shipped file again "
                             "in the current storage (repack), or compare the first epochs with the paper's "
                             "initialisation")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=38)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--folder", default=None, help="the run's folder (default: the book's run cache)")
    parser.add_argument("--tag", default="cpu_2core", help="recorded as results/imagenette_full_<tag>.*")
    args = parser.parse_args(argv)
    cfg = recorded_config(args.image_size, args.epochs, args.device)
    folder = Path(args.folder) if args.folder else experiments.run_folder(cfg, "imagenette-full")
    try:
        if args.command == "init":
            result = init_comparison(folder.with_name(folder.name + "-paper-init"), folder, tag=args.tag)
            print(json.dumps(result["runs"]))
            return 0
        if args.command in ("ship", "repack"):
            print(json.dumps(ship(folder, args.tag) if args.command == "ship" else repack(args.tag)))
            return 0
        if args.command == "train":
            print(f"training into {folder}", flush=True)
            run(cfg, folder)
        result = record(folder, args.tag)
    except TrainError as err:
        print(f"full_run: error: {err}", file=sys.stderr)
        return 2
    except train.RunInterrupted as err:  # Ctrl-C or SIGTERM: the trainer saved where it stopped
        print(f"full_run: {err}", file=sys.stderr)
        return 128 + err.signum
    print(json.dumps({k: result[k] for k in ("test", "one_patch", "ten_patches", "wall_seconds")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How much AlexNet a CPU trains in a few minutes: widths and resolutions measured on Imagenette.

Chapter 7 trains the paper's network live, within a chapter's budget of a few minutes on
two CPU cores. A narrower network sees more images in that time, a smaller image makes
every step cheaper, and a wider network or a larger image learns more from each step.
Which buys the most learning is measured here, not guessed: each candidate trains for the
same number of seconds (as many whole epochs as fit, judged from its own epochs' measured
times) with the paper's recipe, and its error on the held-out validation images is recorded.
Run it on a quiet machine: other work on the same cores slows some candidates and not others.

    python -m alexnet_lib.budget                  # 100 s each: results/imagenette_budget_cpu_2core.json
    python -m alexnet_lib.budget --seconds 150 --tag 150s_cpu_2core
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import recorded, train
from .checkpoints import write_json
from .config import Config, TrainError
from .machine import describe
from .models import AlexNet, count_parameters
from .run_data import build_data

__all__ = ["CANDIDATES", "SECONDS", "candidate_config", "study"]

# (width of the paper's network, image size): from full width on small images to narrow on larger ones
CANDIDATES: tuple[tuple[float, int], ...] = ((1.0, 80), (0.5, 96), (0.5, 112), (0.25, 128))


def candidate_config(width: float, size: int, **changes: Any) -> Config:
    """The paper's network at ``width`` on ``size``-pixel Imagenette patches, the paper's recipe
    (with He initialisation, as the recorded run) and no PCA colour (it needs more epochs to pay)."""
    cfg = Config(dataset="imagenette", imagenette="auto", model="paper", width=width, image_size=size, init="he",
                 recipe="paper", batch_size=128, lr=0.01, predecode=True, workers=0, seed=0, progress=False)
    return dataclasses.replace(cfg, **changes)


SECONDS = 100  # training time of each candidate in the recorded study that sizes Chapter 7's live run


def study(seconds: float = SECONDS, candidates: tuple[tuple[float, int], ...] = CANDIDATES,
          folder: Path | None = None, **changes: Any) -> dict[str, Any]:
    """Train every candidate for as many whole epochs as fit in ``seconds`` of training time.

    Each candidate trains one epoch, then another as long as the time measured so far says
    that it still fits (its mean epoch so far added to what it has spent), so a slow
    candidate stops after one epoch and a fast one trains several (or stops earlier, when
    the plateau rule has ended its run). The training time is
    what the trainer measured for each epoch (``seconds`` in its history: the passes over
    the training images, not the validation after each), so all candidates are held to the
    same clock. ``changes`` override the candidates' other settings (the tests train on a tiny folder).
    """
    work = Path(folder or tempfile.mkdtemp(prefix="alexnet-budget-"))
    rows = []
    data = None
    for width, size in candidates:
        cfg = candidate_config(width, size, epochs=1, checkpoint_dir=str(work / f"{width}-{size}"), overwrite=True,
                               **changes)
        start = time.perf_counter()
        history = train.train(cfg)
        while True:
            spent = sum(h["seconds"] for h in history)
            if spent + spent / len(history) > seconds:
                break
            cfg = dataclasses.replace(cfg, epochs=cfg.epochs + 1, resume=True, overwrite=False)
            longer = train.train(cfg)
            if len(longer) == len(history):  # the plateau rule ended the run: no epoch is left to add
                break
            history = longer
        data = data or build_data(cfg)
        model = AlexNet(num_classes=data.classes, variant="paper", width=width, image_size=size)
        rows.append({"width": width, "image_size": size, "parameters": count_parameters(model),
                     "images_per_second": round(statistics.fmean(h["images_per_second"] for h in history), 1),
                     "epochs": len(history), "seconds": round(sum(h["seconds"] for h in history), 1),
                     "wall_seconds": round(time.perf_counter() - start, 1),
                     "val_top1_error": [round(h["val_top1_error"], 4) for h in history],
                     "final_val_top1_error": round(history[-1]["val_top1_error"], 4)})
        print(json.dumps(rows[-1]), flush=True)
    best = min(rows, key=lambda r: r["final_val_top1_error"])
    return {"what": "the paper's AlexNet at several widths and image sizes, each trained for as many whole epochs "
                    "as fit in the same training time on Imagenette (validation split held out of the training "
                    "images)",
            "machine": describe(), "seconds_each": seconds, "data": data.source if data else None, "candidates": rows,
            "best": {"width": best["width"], "image_size": best["image_size"]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alexnet_lib.budget", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=SECONDS, help="training time of each candidate")
    parser.add_argument("--tag", default="cpu_2core", help="recorded as results/imagenette_budget_<tag>.json")
    args = parser.parse_args(argv)
    try:
        result = study(args.seconds)
    except TrainError as err:
        print(f"budget: error: {err}", file=sys.stderr)
        return 2
    write_json(recorded.RESULTS_DIR / f"imagenette_budget_{args.tag}.json", result)
    print(json.dumps(result["best"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

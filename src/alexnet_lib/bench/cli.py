"""The benchmarks' command line: ``python -m alexnet_lib.bench conv|stages|data|train|browser [--json]``.

Benchmarks print numbers; speed targets are checked by measuring, not by timed tests.
``conv`` times the library's convolutions against PyTorch's on AlexNet's five layers,
``stages`` where the time of one 3x3 layer goes in im2col and in Winograd's algorithm,
``data`` the data pipeline against PyTorch's ImageNet example, ``train`` training steps
of the trainer against a classic loop, ``browser`` the page "Try it" in headless Chromium (a built
site needed). ``--json`` prints machine-readable results.
"""

from __future__ import annotations

import argparse
import json

from ..config import TrainError
from .browser import bench_browser, format_browser
from .conv import ALGORITHMS, bench_conv, bench_stages, format_conv, format_stages
from .data import bench_data, format_data
from .train import TRAIN_MODES, bench_train, format_train

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alexnet_lib.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="benchmark", required=True)
    p_conv = sub.add_parser("conv", help="im2col convolution vs PyTorch on AlexNet's conv layers")
    p_conv.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    p_conv.add_argument("--repeats", type=int, default=5, help="timed runs per function (default 5)")
    p_conv.add_argument("--threads", type=int, default=None,
                        help="threads for numpy and torch (default: OMP_NUM_THREADS where set, else all CPUs)")
    p_conv.add_argument("--settle", type=float, default=0.2,
                        help="seconds of rest before each timed run, so idle thread pools stop spinning (default 0.2)")
    p_conv.add_argument("--algorithms", default=",".join(ALGORITHMS),
                        help=f"the library's forwards to time, from {','.join(ALGORITHMS)}")
    p_conv.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p_stages = sub.add_parser("stages", help="where one 3x3 layer's time goes: im2col's and Winograd's stages")
    p_stages.add_argument("--layer", default="conv3", help="conv3, conv4 or conv5 (default conv3)")
    p_stages.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    p_stages.add_argument("--repeats", type=int, default=5, help="timed runs per algorithm (default 5)")
    p_stages.add_argument("--threads", type=int, default=None,
                          help="threads for numpy (default: OMP_NUM_THREADS where set, else all CPUs)")
    p_stages.add_argument("--settle", type=float, default=0.2, help="seconds of rest before each run (default 0.2)")
    p_stages.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p_data = sub.add_parser("data", help="training data pipeline: ours vs PyTorch's ImageNet example")
    p_data.add_argument("--images", default=None,
                        help="folder of JPEG photos, or of class folders of them (default: imagenet_samples)")
    p_data.add_argument("--limit", type=int, default=None, help="read this many of the photos (spread evenly)")
    p_data.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (default 2)")
    p_data.add_argument("--batch", type=int, default=32)
    p_data.add_argument("--passes", type=int, default=4, help="passes over the photos per timed run")
    p_data.add_argument("--repeats", type=int, default=3)
    p_data.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p_train = sub.add_parser("train", help="training steps: our trainer vs a loop like PyTorch's ImageNet example")
    p_train.add_argument("--images", default=None, help="folder of JPEG photos (default: imagenet_samples)")
    p_train.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p_train.add_argument("--model", default=None, choices=["paper", "torchvision", "small"],
                         help="default: torchvision on a GPU, small on a CPU")
    p_train.add_argument("--width", type=float, default=None, help="small model's width (default 0.25)")
    p_train.add_argument("--image-size", type=int, default=None, help="crop size (default 224 GPU, 64 CPU)")
    p_train.add_argument("--batch", type=int, default=None, help="default 256 GPU, 64 CPU")
    p_train.add_argument("--steps", type=int, default=None, help="timed steps per run (default 40 GPU, 10 CPU)")
    p_train.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 10 GPU, 3 CPU)")
    p_train.add_argument("--repeats", type=int, default=3)
    p_train.add_argument("--workers", type=int, default=None, help="DataLoader workers (default 2 CPU, up to 12 GPU)")
    p_train.add_argument("--threads", type=int, default=None,
                         help="PyTorch threads (default: OMP_NUM_THREADS where set, else all CPUs)")
    p_train.add_argument("--modes", default=None, help=f"comma-separated, from {','.join(TRAIN_MODES)}")
    p_train.add_argument("--compile", action="store_true", help="also torch.compile the model in the fast mode")
    p_train.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p_browser = sub.add_parser("browser", help="the page 'Try it' in headless Chromium: bytes, first prediction, "
                                              "inference and occlusion times")
    p_browser.add_argument("--site", default="_build/html", help="the built book (default _build/html)")
    p_browser.add_argument("--runs", type=int, default=20, help="photographs timed one by one (default 20)")
    p_browser.add_argument("--cold", type=int, default=3, help="cold loads of the page, a fresh profile each (default 3)")
    p_browser.add_argument("--occlusions", type=int, default=3, help="occlusion maps timed (default 3)")
    p_browser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    args = parser.parse_args(argv)
    if args.benchmark == "browser":
        if min(args.runs, args.cold, args.occlusions) < 1:
            parser.error("--runs, --cold and --occlusions must be positive")
        try:
            result = bench_browser(args.site, runs=args.runs, cold=args.cold, occlusions=args.occlusions)
        except FileNotFoundError as err:
            parser.error(str(err))
        print(json.dumps(result, indent=2) if args.json else format_browser(result))
        return 0
    if args.benchmark == "train":
        if args.repeats < 1 or any(v is not None and v < 1 for v in (args.batch, args.steps, args.threads)):
            parser.error("--batch, --steps, --repeats and --threads must be positive")
        try:
            result = bench_train(args.images, device=args.device, model=args.model, width=args.width,
                                 image_size=args.image_size, batch=args.batch, steps=args.steps, warmup=args.warmup,
                                 repeats=args.repeats, workers=args.workers, threads=args.threads,
                                 modes=tuple(args.modes.split(",")) if args.modes else None, compile=args.compile)
        except (FileNotFoundError, ValueError, TrainError) as err:
            parser.error(str(err))
        print(json.dumps(result, indent=2) if args.json else format_train(result))
        return 0
    if args.benchmark in ("conv", "stages") and (args.batch < 1 or args.repeats < 1 or args.settle < 0
                                                 or (args.threads is not None and args.threads < 1)):
        parser.error("--batch, --repeats and --threads must be positive, --settle at least 0")
    if args.benchmark == "stages":
        try:
            result = bench_stages(args.layer, batch=args.batch, repeats=args.repeats, threads=args.threads,
                                  settle=args.settle)
        except ValueError as err:
            parser.error(str(err))
        print(json.dumps(result, indent=2) if args.json else format_stages(result))
        return 0
    if args.benchmark == "data":
        if args.batch < 1 or args.repeats < 1 or args.passes < 1 or args.workers < 0:
            parser.error("--batch, --repeats and --passes must be positive, --workers at least 0")
        try:
            result = bench_data(args.images, workers=args.workers, batch=args.batch, passes=args.passes,
                                repeats=args.repeats, limit=args.limit)
        except FileNotFoundError as err:
            parser.error(str(err))
        print(json.dumps(result, indent=2) if args.json else format_data(result))
        return 0
    try:
        result = bench_conv(batch=args.batch, repeats=args.repeats, threads=args.threads, settle=args.settle,
                            algorithms=tuple(args.algorithms.split(",")))
    except ValueError as err:
        parser.error(str(err))
    print(json.dumps(result, indent=2) if args.json else format_conv(result))
    return 0

"""Train AlexNet: ``python -m alexnet_lib.train`` (also installed as ``alexnet-train``).

The paper's recipe (section 5) is the default: stochastic gradient descent with batches
of 128, momentum 0.9, weight decay 0.0005, a learning rate of 0.01 divided by 10 when the
validation error stops improving (at most three times), about 90 epochs.
``--recipe torchvision`` uses the recipe of torchvision's reference scripts instead
(weight decay 0.0001, the rate divided by 10 every 30 epochs).

Checkpoints are written atomically (to a temporary file, then renamed) at the end of
every epoch and every ``--checkpoint-every`` steps; ``--resume`` continues exactly where
a run stopped, mid-epoch included: with ``--deterministic`` the resumed run reaches the
same weights as one that was never interrupted. Metrics go to ``metrics.csv`` and
``metrics.json`` in the checkpoint folder after every epoch.

Several GPUs (or machines) use PyTorch's distributed data parallel engine: start the same
command with ``torchrun``. ``--batch-size`` stays the *global* batch (the paper's 128);
each of the N processes takes its share of every batch, the gradients are averaged, and
the result is the same training as one process with that batch (a test checks this on
the CPU with two processes and the gloo backend). Only the first process prints,
writes metrics and checkpoints.

Examples::

    python -m alexnet_lib.train --dataset synthetic --epochs 2           # anywhere, no data needed
    python -m alexnet_lib.train --dataset cifar10 --model small --epochs 30
    python -m alexnet_lib.train --dataset imagefolder --data /data/imagenet --model paper
    torchrun --nproc_per_node=8 -m alexnet_lib.train --dataset imagefolder --data /data/imagenet --model paper
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset

from .config import DATASETS, MODELS, RECIPES, SCHEDULES, Config, TrainError
from .data import BatchPreparer, predecoded
from .models import AlexNet
from .profiles import progress_bars_off
from .run_data import SPLIT_SEED, RunData, build_data, crop_size, image_folder_root, square_size

CHECKPOINT = "last.pt"
TEST_RESULT = "test.json"


# --- data ------------------------------------------------------------------------


class EpochBatches(Sampler[list[int]]):
    """Batches in a fresh random order each epoch, derived from (seed, epoch) alone.

    Because the order depends on nothing else, a resumed run sees the same images in the
    same order as an uninterrupted one; ``set_epoch(epoch, skip)`` starts after ``skip``
    batches. With ``world`` processes, each global batch of ``batch_size`` images is cut
    into ``world`` nearly equal parts and process ``rank`` gets its part; a last batch
    with fewer images than processes is dropped (by every process alike).
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1) -> None:
        self.n, self.batch_size, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip

    def global_batches(self) -> int:
        """Batches per epoch (the same number in every process)."""
        full, rest = divmod(self.n, self.batch_size)
        return full + (rest >= self.world if rest else 0)

    def global_size(self, index: int) -> int:
        """The number of images in global batch ``index``, summed over the processes."""
        return min(self.batch_size, self.n - index * self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.n, generator=generator)
        for index in range(self.skip, self.global_batches()):
            batch = order[index * self.batch_size:(index + 1) * self.batch_size]
            yield torch.tensor_split(batch, self.world)[self.rank].tolist()

    def __len__(self) -> int:
        return self.global_batches() - self.skip


@dataclass(frozen=True)
class Distributed:
    """This process's place in a ``torchrun`` job (rank 0 of 1 when run plainly)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _start_distributed(device_name: str) -> Distributed:
    """Join the process group that ``torchrun`` describes in the environment, if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    place = Distributed(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    use_cuda = device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())
    if use_cuda:
        torch.cuda.set_device(place.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return place


def _sum_over_processes(values: list[float], place: Distributed) -> list[float]:
    if place.world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


# --- devices and models ------------------------------------------------------------


def batch_loader(dataset: Dataset, batches: Sampler[list[int]], cfg: Config, device: torch.device) -> DataLoader:
    """A ``DataLoader`` giving the batches that ``batches`` lists, with ``cfg.workers`` workers (kept
    alive between epochs) and pinned memory for a CUDA device. A pre-decoded dataset hands over each
    batch as one slice of its array: no per-image work, no collating."""
    # Loaders draw a seed from a generator each time they start; their own generator keeps
    # them off PyTorch's global one, which dropout uses and checkpoints restore.
    args = dict(num_workers=cfg.workers, pin_memory=device.type == "cuda", persistent_workers=cfg.workers > 0,
                generator=torch.Generator().manual_seed(cfg.seed))
    if predecoded(dataset) is not None:
        return DataLoader(dataset, sampler=batches, batch_size=None, **args)
    return DataLoader(dataset, batch_sampler=batches, **args)


def pick_device(name: str, place: Distributed = Distributed()) -> torch.device:
    if place.world > 1 and (name == "cuda" or (name == "auto" and torch.cuda.is_available())):
        return torch.device("cuda", place.local_rank)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps" if mps is not None and mps.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainError("--device cuda was asked for, but PyTorch sees no CUDA GPU here "
                         "(torch.cuda.is_available() is False). Use --device cpu, or install a CUDA build of PyTorch.")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise TrainError("--device mps was asked for, but this PyTorch has no Apple MPS device. Use --device cpu.")
    return torch.device(name)


def build_model(cfg: Config, num_classes: int) -> nn.Module:
    """The network ``cfg`` describes, with ``num_classes`` outputs (its weights drawn from PyTorch's
    global random generator: seed it first)."""
    cfg = cfg.check()
    paper = cfg.model == "paper"
    try:
        return AlexNet(num_classes=num_classes, variant=cfg.model, dropout=cfg.dropout, width=cfg.width,
                       norm=cfg.norm, pool=cfg.pool_window(), activation=cfg.activation, groups=cfg.groups,
                       lrn=cfg.lrn, image_size=crop_size(cfg) if paper else None, init=cfg.init)
    except ValueError as err:
        raise TrainError(str(err)) from err


# --- checkpoints ---------------------------------------------------------------------


@dataclass
class State:
    """Where a run is: the next epoch and batch to do, and the scheduler's memory."""

    epoch: int = 0
    batch: int = 0
    step: int = 0
    best_error: float = math.inf
    bad_epochs: int = 0
    drops: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    # the epoch so far, so that a resumed epoch reports the same metrics as an uninterrupted one
    seen: int = 0
    loss_sum: float = 0.0
    wrong: int = 0
    seconds: float = 0.0
    data_seconds: float = 0.0  # waiting for the loader's next batch
    test: dict[str, float] | None = None  # the test set's errors, measured once when the run has ended


def _rng_state() -> dict[str, Any]:
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def save_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, state: State,
                    cfg: Config, num_classes: int, place: Distributed = Distributed()) -> None:
    """Write the checkpoint to a temporary file and rename it: a crash never leaves half a file.

    Every process takes part (each one's random state is kept); the first one writes.
    """
    rngs = [_rng_state()]
    if place.world > 1:
        rngs = [None] * place.world
        dist.all_gather_object(rngs, _rng_state())
    if not place.main:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": _unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict(),
        "state": asdict(state),
        "config": asdict(cfg),
        "identity": {"model": cfg.model, "num_classes": num_classes, "dataset": cfg.dataset},
        "rng": rngs,
        "world": place.world,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, cfg: Config,
                    num_classes: int, place: Distributed = Distributed()) -> State:
    """Restore a run; refuse a checkpoint made for a different model or number of classes."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    identity = payload.get("identity", {})
    wanted = {"model": cfg.model, "num_classes": num_classes, "dataset": cfg.dataset}
    if identity != wanted:
        raise TrainError(f"{path} was written by a different run ({identity}); this run is {wanted}. "
                         "Use another --checkpoint-dir, or the same --model, --dataset and classes.")
    try:
        _unwrap(model).load_state_dict(payload["model"])
    except RuntimeError as err:
        raise TrainError(f"{path} does not fit this model: {err}") from err
    optimizer.load_state_dict(payload["optimizer"])
    rngs = payload["rng"]
    if payload.get("world", 1) != place.world:
        print(f"alexnet-train: {path} was written by {payload.get('world', 1)} processes and this run has "
              f"{place.world}: the weights continue exactly, the dropout masks do not.", file=sys.stderr)
    rng = rngs[place.rank % len(rngs)]
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return State(**payload["state"])


def _unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside ``torch.compile`` and ``DistributedDataParallel`` wrappers."""
    while True:
        inner = getattr(model, "_orig_mod", None) or getattr(model, "module", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


# --- the loop --------------------------------------------------------------------------


def evaluate(model: nn.Module, loader: DataLoader, prepare: BatchPreparer, amp: str = "off",
             place: Distributed = Distributed()) -> dict[str, float]:
    """Loss and top-1/top-5 error on ``loader``'s images (central patches); with several processes,
    each does its share and the sums are added. Outputs that are not finite count as errors."""
    from .evaluate import topk_error

    model.eval()
    device = next(model.parameters()).device
    ks = (1, 5) if _unwrap(model).num_classes >= 5 else (1,)
    loss_sum, count, wrong = 0.0, 0, [0.0] * len(ks)
    with torch.no_grad(), _autocast(device, amp):
        for x, y in loader:
            x, y = prepare(x), y.to(device, non_blocking=True)
            logits = model(x).float()
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            errors = topk_error(logits, y, ks=ks)
            wrong = [w + errors[k] * len(y) for w, k in zip(wrong, ks)]
            count += len(y)
    totals = _sum_over_processes([loss_sum, count, *wrong], place)
    n = max(totals[1], 1)
    return {"val_loss": totals[0] / n, **{f"val_top{k}_error": round(w) / n for k, w in zip(ks, totals[2:])}}


def _autocast(device: torch.device, amp: str):
    if amp == "off":
        return torch.autocast(device.type, enabled=False)
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)




def _end_of_epoch(state: State, metrics: dict[str, float], optimizer: torch.optim.Optimizer, cfg: Config) -> None:
    """The learning-rate schedule: the paper's plateau rule, torchvision's steps of 30 epochs,
    or a cosine decay from ``--lr`` to zero over the run (a schedule of today)."""
    error = metrics["val_top1_error"]
    schedule = cfg.schedule or RECIPES[cfg.recipe]["schedule"]
    if schedule == "cosine":
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * (state.epoch + 1) / cfg.epochs))
    elif schedule == "plateau":
        if error < state.best_error - 1e-4:
            state.best_error, state.bad_epochs = error, 0
        else:
            state.bad_epochs += 1
            if state.bad_epochs >= 2 and state.drops < 3:  # "stopped improving": two epochs without progress
                for group in optimizer.param_groups:
                    group["lr"] /= 10
                state.drops, state.bad_epochs = state.drops + 1, 0
    elif (state.epoch + 1) % 30 == 0:
        for group in optimizer.param_groups:
            group["lr"] /= 10


def write_metrics(folder: Path, history: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(history, indent=1))
    if history:
        with open(folder / "metrics.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(history[0]))
            writer.writeheader()
            writer.writerows(history)


def train(cfg: Config, on_step: Callable[[State], None] | None = None) -> list[dict[str, Any]]:
    """Run (or resume) a training run; returns the per-epoch metrics (in every process).

    ``on_step``, if given, is called after every optimiser step with the run's :class:`State`
    (the training benchmark uses it to time steps).
    """
    cfg = cfg.check()
    place = _start_distributed(cfg.device)
    try:
        return _train(cfg, place, on_step)
    finally:
        if place.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _train(cfg: Config, place: Distributed, on_step: Callable[[State], None] | None = None) -> list[dict[str, Any]]:
    from tqdm.auto import tqdm

    if cfg.batch_size < place.world:
        raise TrainError(f"--batch-size {cfg.batch_size} is the global batch; it must be at least the number "
                         f"of processes ({place.world})")
    device = pick_device(cfg.device, place)
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

    folder = Path(cfg.checkpoint_dir)
    if not cfg.resume and not cfg.overwrite and (folder / CHECKPOINT).exists():
        raise TrainError(f"{folder / CHECKPOINT} holds a run already. Continue it with --resume, start afresh "
                         "over it with --overwrite, or choose another --checkpoint-dir.")
    run_data = build_data(cfg)
    train_set, val_set, classes, source = run_data.train, run_data.val, run_data.classes, run_data.source
    if cfg.train_subset is not None:
        if not 0 < cfg.train_subset <= len(train_set):
            raise TrainError(f"--train-subset must be between 1 and {len(train_set)} (the training set), "
                             f"got {cfg.train_subset}")
        # a fixed random draw, not the first images: image folders list their images class by class
        chosen = np.sort(np.random.default_rng(SPLIT_SEED).permutation(len(train_set))[:cfg.train_subset])
        train_set = torch.utils.data.Subset(train_set, chosen.tolist())
    if cfg.num_classes is not None and cfg.num_classes != classes:
        raise TrainError(f"--num-classes {cfg.num_classes} does not match the data: {source} has {classes} classes")
    torch.manual_seed(cfg.seed)  # the same initial weights in every process (after the data, which may draw)
    model = build_model(cfg, classes).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if cfg.optimizer == "adamw":
        optimizer: torch.optim.Optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp == "fp16" and device.type == "cuda")

    state = State()
    if cfg.resume:
        if not (folder / CHECKPOINT).exists():
            raise TrainError(f"--resume: no checkpoint at {folder / CHECKPOINT}")
        state = load_checkpoint(folder / CHECKPOINT, model, optimizer, cfg, classes, place)
    else:
        torch.manual_seed(cfg.seed + place.rank)  # different dropout masks in each process
    if place.world > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile:
        model = torch.compile(model)

    batches = EpochBatches(len(train_set), cfg.batch_size, cfg.seed, place.rank, place.world)
    val_share = torch.utils.data.Subset(val_set, range(place.rank, len(val_set), place.world))
    val_batches = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(val_share),
                                                max(cfg.batch_size // place.world, 1), drop_last=False)
    train_loader = batch_loader(train_set, batches, cfg, device)
    try:
        prepare = BatchPreparer.for_dataset(train_set, crop_size(cfg), lighting=cfg.lighting, augment=cfg.augment,
                                            channels_last=cfg.channels_last, device=device)
    except ValueError as err:
        raise TrainError(f"--lighting: {err}") from err
    val_loader = batch_loader(val_share, val_batches, cfg, device)
    batches_per_epoch = batches.global_batches()
    # This process's share of the epoch's running sums since they were last added up. The loss and
    # the mistakes stay on the device: reading them (.item()) would make the CPU wait for the GPU
    # at every step, so they are read only when added up (checkpoints, end of epoch) and for the
    # progress bar, at most once a second.
    # The loss sum is kept in float64 (exact for float32 terms, so an epoch's sum does not depend on
    # where a checkpoint split it; Apple's MPS has no float64 and gets float32).
    exact = torch.float32 if device.type == "mps" else torch.float64

    def zeros() -> dict[str, Any]:
        return {"seen": 0, "loss_sum": torch.zeros((), dtype=exact, device=device),
                "wrong": torch.zeros((), dtype=torch.int64, device=device)}

    local = zeros()

    def add_up() -> None:
        seen, loss_sum, wrong = _sum_over_processes([local["seen"], local["loss_sum"].item(), local["wrong"].item()], place)
        if not math.isfinite(loss_sum):
            raise_diverged()
        state.seen, state.loss_sum, state.wrong = state.seen + int(seen), state.loss_sum + loss_sum, state.wrong + int(wrong)
        local.update(zeros())

    def raise_diverged() -> None:
        raise TrainError(f"the training loss is not finite (epoch {state.epoch + 1}, step {state.step}): the run has "
                         f"diverged. Lower --lr (now {optimizer.param_groups[0]['lr']:g}), or resume from an "
                         "earlier checkpoint; the last checkpoint was not overwritten.")

    def checkpoint() -> None:
        add_up()
        save_checkpoint(folder / CHECKPOINT, model, optimizer, state, cfg, classes, place)

    while state.epoch < cfg.epochs:
        batches.set_epoch(state.epoch, skip=state.batch)
        model.train()
        start = time.perf_counter() - state.seconds
        bar = tqdm(total=batches_per_epoch, initial=state.batch,
                   disable=not (cfg.progress and place.main) or progress_bars_off(),
                   desc=f"epoch {state.epoch + 1}/{cfg.epochs}", leave=False)
        shown = time.perf_counter()
        batch_iter = iter(train_loader)
        while True:
            waited = time.perf_counter()
            try:
                x, y = next(batch_iter)
            except StopIteration:
                break
            state.data_seconds += time.perf_counter() - waited
            x, y = prepare(x, train=True), y.to(device, non_blocking=True)
            try:
                with _autocast(device, cfg.amp):
                    logits = model(x)
                    loss_sum = F.cross_entropy(logits.float(), y, reduction="sum", label_smoothing=cfg.label_smoothing)
                    # Each process's sum over the global batch's size, times the number of processes:
                    # averaging the gradients (what DDP does) then gives the global mean. With one
                    # process this is the batch mean, loss_sum * 1 / len(y), to the last bit.
                    loss = loss_sum * place.world / batches.global_size(state.batch)
                scaler.scale(loss / cfg.accumulate).backward()
            except torch.cuda.OutOfMemoryError as err:
                raise TrainError(f"out of GPU memory with --batch-size {cfg.batch_size}; try "
                                 f"--batch-size {max(cfg.batch_size // 2, 1)} (with --accumulate "
                                 f"{cfg.accumulate * 2} to keep the same effective batch)") from err
            state.batch += 1
            local["seen"] += len(y)
            local["loss_sum"] += loss_sum.detach().to(exact)
            local["wrong"] += (logits.detach().argmax(dim=1) != y).sum()
            bar.update()
            if state.batch % cfg.accumulate == 0 or state.batch == batches_per_epoch:
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                state.step += 1
                state.seconds = time.perf_counter() - start
                if on_step is not None:
                    on_step(state)
                if time.perf_counter() - shown > 1:  # at most once a second: reading the loss waits for a GPU
                    shown = time.perf_counter()
                    if not torch.isfinite(local["loss_sum"]).item():
                        raise_diverged()
                    if not bar.disable:
                        seen = (state.seen + local["seen"]) * place.world  # an estimate between additions
                        bar.set_postfix(loss=f"{loss_sum.item() / len(y):.3f}", img_s=f"{seen / state.seconds:.0f}")
                if cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0:
                    checkpoint()
                if cfg.max_steps is not None and state.step >= cfg.max_steps:
                    checkpoint()
                    bar.close()
                    return state.history
        bar.close()
        add_up()
        seconds = time.perf_counter() - start
        metrics = {"epoch": state.epoch + 1, "lr": optimizer.param_groups[0]["lr"],
                   "train_loss": state.loss_sum / max(state.seen, 1), "train_top1_error": state.wrong / max(state.seen, 1),
                   **evaluate(_unwrap(model), val_loader, prepare, cfg.amp, place), "seconds": seconds,
                   "images_per_second": state.seen / seconds, "data_wait": state.data_seconds / seconds}
        _end_of_epoch(state, metrics, optimizer, cfg)
        state.history.append(metrics)
        state.epoch, state.batch = state.epoch + 1, 0
        state.seen, state.loss_sum, state.wrong, state.seconds, state.data_seconds = 0, 0.0, 0, 0.0, 0.0
        checkpoint()
        if place.main:
            write_metrics(folder, state.history)
        if cfg.progress and place.main:
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}), flush=True)
    if state.test is None:  # the run has ended: the test set, once
        test_share = torch.utils.data.Subset(run_data.test, range(place.rank, len(run_data.test), place.world))
        test_batches = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(test_share),
                                                     max(cfg.batch_size // place.world, 1), drop_last=False)
        scores = evaluate(_unwrap(model), batch_loader(test_share, test_batches, cfg, device), prepare, cfg.amp, place)
        state.test = {key.replace("val_", "test_"): value for key, value in scores.items()}
        save_checkpoint(folder / CHECKPOINT, model, optimizer, state, cfg, classes, place)
        if place.main:
            write_json(folder / TEST_RESULT, state.test)
    return state.history


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to a temporary file and rename it: never half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=1))
    os.replace(tmp, path)


def load_test(folder: str | os.PathLike[str]) -> dict[str, float]:
    """The test set's errors that a finished run wrote to ``folder/test.json`` (measured once, at the end)."""
    path = Path(folder) / TEST_RESULT
    if not path.exists():
        raise TrainError(f"no test result at {path}: has the run in {folder} finished all its epochs?")
    return json.loads(path.read_text())


def load_history(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The per-epoch metrics a run wrote to ``folder/metrics.json``."""
    path = Path(folder) / "metrics.json"
    if not path.exists():
        raise TrainError(f"no metrics at {path}: has a run finished an epoch in {folder}?")
    return json.loads(path.read_text())


def plot_history(history: list[dict[str, Any]] | str | os.PathLike[str], title: str | None = None):
    """Loss, top-1 error and learning rate per epoch (from ``train`` or a checkpoint folder); returns the figure."""
    import matplotlib.pyplot as plt

    if not isinstance(history, list):
        history = load_history(history)
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    axes[0].plot(epochs, [h["train_loss"] for h in history], "o-", label="training")
    axes[0].plot(epochs, [h["val_loss"] for h in history], "o-", label="validation")
    axes[0].set_ylabel("cross-entropy loss")
    axes[1].plot(epochs, [100 * h["train_top1_error"] for h in history], "o-", label="training")
    axes[1].plot(epochs, [100 * h["val_top1_error"] for h in history], "o-", label="validation (top-1)")
    if "val_top5_error" in history[0]:
        axes[1].plot(epochs, [100 * h["val_top5_error"] for h in history], "o--", label="validation (top-5)")
    axes[1].set_ylabel("error (%)")
    axes[2].plot(epochs, [h["lr"] for h in history], "o-", color="C3")
    axes[2].set_yscale("log")
    axes[2].set_ylabel("learning rate")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].legend()
    axes[1].legend()
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(prog="alexnet-train", description=__doc__,
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
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--momentum", type=float, default=None)
    parser.add_argument("--weight-decay", type=float, default=None)
    parser.add_argument("--accumulate", type=int, default=1, help="batches per optimiser step (gradient accumulation)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--amp", default="off", choices=["off", "bf16", "fp16"], help="mixed precision")
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory layout")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--checkpoint-dir", default=d.checkpoint_dir)
    parser.add_argument("--checkpoint-every", type=int, default=0, help="also checkpoint every N steps")
    parser.add_argument("--resume", action="store_true", help="continue from CHECKPOINT_DIR/last.pt")
    parser.add_argument("--overwrite", action="store_true",
                        help="start afresh even where CHECKPOINT_DIR holds a run (its checkpoint is replaced)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=None, help="stop (with a checkpoint) after N optimiser steps")
    parser.add_argument("--deterministic", action="store_true", help="deterministic algorithms (slower)")
    parser.add_argument("--no-download", dest="download", action="store_false", help="never download data")
    parser.add_argument("--synthetic-size", type=int, default=d.synthetic_size)
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument("--dropout", type=float, default=d.dropout, help="dropout probability in fc6 and fc7")
    parser.add_argument("--width", type=float, default=d.width, help="channel multiplier of the small model")
    parser.add_argument("--train-subset", type=int, default=None,
                        help="train on N of the training images only, a fixed random draw (quick experiments)")
    parser.add_argument("--val-split", type=float, default=d.val_split,
                        help="share of the training images held out as the validation split, on which the "
                             "plateau rule and every choice are made (the test images are evaluated once, at the end)")
    parser.add_argument("--imagenette", default=d.imagenette, choices=["auto", "224", "160", "320", "full"],
                        help="which Imagenette: its 224 px copy where found (auto), else the 320 px release")
    parser.add_argument("--predecode", action="store_true",
                        help="imagefolder: decode every image once into uint8 squares (cached on disk); "
                             "crops and flips then run on whole batches on the device")
    parser.add_argument("--cache-dir", default=None, help="where --predecode keeps its files (default: data/predecoded)")
    switches = parser.add_argument_group("the small model's and the optimisation's switches (Chapter 10)")
    switches.add_argument("--init", default=d.init, choices=["paper", "he"],
                          help="the paper's network: its own initialisation, or He et al.'s (N(0, 2/fan_in))")
    switches.add_argument("--lrn", default=d.lrn, choices=["code", "text"],
                          help="LRN's alpha as the paper's code used it (divided by the 5 channels) or as printed")
    switches.add_argument("--norm", default=d.norm, choices=["none", "lrn", "batch"],
                          help="none, the paper's LRN after the first two ReLUs, or batch normalisation")
    switches.add_argument("--pool", default=d.pool, help="max pooling SIZE/STRIDE: 3/2 overlaps (the paper), 2/2 not")
    switches.add_argument("--activation", default=d.activation, choices=["relu", "tanh"])
    switches.add_argument("--groups", type=int, default=d.groups, help="2: the paper's towers in conv2, conv4, conv5")
    switches.add_argument("--optimizer", default=d.optimizer, choices=["sgd", "adamw"])
    switches.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    switches.add_argument("--schedule", default=None, choices=list(SCHEDULES), help="default: the recipe's")
    switches.add_argument("--no-augment", dest="augment", action="store_false",
                          help="train on the central patch, no random patches or flips")
    switches.add_argument("--lighting", type=float, default=d.lighting,
                          help="the paper's PCA colour augmentation with this standard deviation (0.1 in the paper)")
    args = parser.parse_args(argv)
    return Config(**vars(args))


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    try:
        train(cfg)
    except TrainError as err:
        print(f"alexnet-train: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train AlexNet: the training step, one epoch of it, and a whole run.

:func:`train_one_epoch` is the heart of it, and Chapter 7 reads it line by line: for every
batch, the forward pass, the loss, the backward pass, and a step of the optimiser. Around
it, :func:`train` runs a whole run: it builds the data (:mod:`~alexnet_lib.run_data`), the
network and the optimiser, resumes from a checkpoint (:mod:`~alexnet_lib.checkpoints`),
evaluates on the held-out validation images after every epoch, lets the schedule
(:mod:`~alexnet_lib.schedule`) lower the learning rate, and measures the test set once at
the end. :class:`Tracker` keeps the books of an epoch (counts, running sums, the progress
bar, checkpoints every N steps) so that the loop itself stays plain.

The command line is ``python -m alexnet_lib.train`` (also ``alexnet-train``); its flags are
the fields of :class:`~alexnet_lib.config.Config` (:mod:`~alexnet_lib.cli`).
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm.auto import tqdm

from . import data as data_module
from . import distributed
from .batches import EpochBatches, batch_loader, evaluation_loader
from .checkpoints import (
    CHECKPOINT,
    METRICS,
    TEST_RESULT,
    RunLock,
    State,
    clear_run,
    load_checkpoint,
    save_checkpoint,
    unwrap,
    write_json,
    write_metrics,
)
from .cli import parse_args
from .config import Config, TrainError
from .data import BadImage, BatchPreparer
from .devices import autocast, mixed_precision, pick_device
from .distributed import Distributed
from .metrics import topk_error
from .models import AlexNet
from .profiles import progress_bars_off
from .run_data import SPLIT_SEED, build_data, crop_size
from .schedule import adjust_learning_rate, run_is_over

__all__ = ["RunInterrupted", "StopSignals", "Tracker", "build_model", "build_optimizer", "evaluate", "main", "train",
           "train_one_epoch"]

STOP_CHECK_STEPS = 16  # with several processes, they agree on stopping every this many steps


def train_one_epoch(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                    optimizer: torch.optim.Optimizer, prepare: BatchPreparer, tracker: Tracker, *,
                    amp: str = "off", scaler: torch.amp.GradScaler | None = None, accumulate: int = 1,
                    label_smoothing: float = 0.0, max_steps: int | None = None) -> bool:
    """One pass over ``batches``: for each, forward, loss, backward, and every ``accumulate``
    batches (fewer at the end of the epoch) one step of the optimiser. Returns ``False`` when the
    run stops before the epoch's end: at ``max_steps`` steps, or at Ctrl-C or SIGTERM."""
    device = next(model.parameters()).device
    if scaler is None:  # loss scaling is for float16 only; a disabled scaler passes everything through
        scaler = torch.amp.GradScaler(device.type, enabled=False)
    model.train()                                            # dropout on
    in_epoch = tracker.batches.global_batches()
    for images, labels in tracker.timed(batches):            # the loader's batches, uint8 on the CPU
        x = prepare(images, train=True)                      # random patches, flips, normalised, on the device
        y = labels.to(device, non_blocking=True)
        # this step's batches: `accumulate` of them, fewer at the end of an epoch
        first = tracker.batch_done - tracker.batch_done % accumulate
        step_images = sum(tracker.batches.global_size(i) for i in range(first, min(first + accumulate, in_epoch)))
        with autocast(device, amp):
            logits = model(x)                                # forward: (batch, classes) scores
            loss_sum = F.cross_entropy(logits.float(), y, reduction="sum", label_smoothing=label_smoothing)
            # the mean over the step's images, times the processes because DDP averages their gradients
            loss = loss_sum * tracker.processes / step_images
        scaler.scale(loss).backward()                        # backward: gradients add up in each .grad
        tracker.count(loss_sum, logits, y)
        if tracker.batch_done % accumulate == 0 or tracker.batch_done == in_epoch:  # the step's last batch
            scaler.step(optimizer)                           # SGD: v = m*v - lr*(grad + decay*w); w = w + v
            scaler.update()
            optimizer.zero_grad(set_to_none=True)            # the next step starts from zero gradients
            tracker.step_done()                              # counted; the progress bar; checkpoints every N steps
            at_limit = max_steps is not None and tracker.state.step >= max_steps
            if tracker.interrupted() or at_limit:            # Ctrl-C or SIGTERM, or --max-steps reached
                tracker.checkpoint()                         # exactly here: --resume continues from this step
                return False
    return True


class Tracker:
    """The books of an epoch, kept beside :func:`train_one_epoch` so that the loop stays plain.

    It counts batches and steps in the run's :class:`~alexnet_lib.checkpoints.State` (so that a
    checkpoint knows where to resume), times the waits for data, adds up the loss and the
    mistakes on the device (reading them would make the CPU wait for a GPU at every step, so
    they are read at most once a second and when the epoch ends), stops the run with a clear
    message when the loss is no longer finite, draws the progress bar, calls ``save()`` every
    ``checkpoint_every`` steps, and asks ``should_stop`` whether Ctrl-C or SIGTERM came. What
    ends a step and what stops the run are decided in :func:`train_one_epoch`.
    """

    def __init__(self, state: State, batches: EpochBatches, device: torch.device, place: Distributed, *,
                 save: Callable[[], None], checkpoint_every: int = 0,
                 on_step: Callable[[State], None] | None = None, progress: bool = True, epochs: int = 1,
                 should_stop: Callable[[], bool] | None = None) -> None:
        self.state, self.batches, self.place = state, batches, place
        self.save, self.checkpoint_every, self.on_step = save, checkpoint_every, on_step
        self.should_stop = should_stop  # asked after every step: Ctrl-C or SIGTERM (StopSignals)
        self.stopped = False  # whether should_stop ended the epoch (after a checkpoint)
        # float64 sums are exact for float32 terms, so an epoch's sum does not depend on where a
        # checkpoint split it (Apple's MPS has no float64 and gets float32)
        self.exact = torch.float32 if device.type == "mps" else torch.float64
        self.device = device
        self._zero()
        self.start = time.perf_counter() - state.seconds
        self.shown = time.perf_counter()
        self.bar = tqdm(total=batches.global_batches(), initial=state.batch, leave=False,
                        disable=not (progress and place.main) or progress_bars_off(),
                        desc=f"epoch {state.epoch + 1}/{epochs}")

    def _zero(self) -> None:
        self.seen = 0
        self.loss_sum = torch.zeros((), dtype=self.exact, device=self.device)
        self.wrong = torch.zeros((), dtype=torch.int64, device=self.device)

    def timed(self, loader: Iterable[Any]) -> Iterator[Any]:
        """The loader's batches, with the time spent waiting for each added to ``state.data_seconds``."""
        batches = iter(loader)
        while True:
            waited = time.perf_counter()
            try:
                batch = next(batches)
            except StopIteration:
                return
            self.state.data_seconds += time.perf_counter() - waited
            yield batch

    @property
    def processes(self) -> int:
        """How many processes share each batch. Each divides its loss sum by the global batch's size
        and multiplies by this, because DDP averages the processes' gradients."""
        return self.place.world

    def count(self, loss_sum: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """Add a batch's loss and mistakes to the running sums."""
        self.state.batch += 1
        self.seen += len(labels)
        self.loss_sum += loss_sum.detach().to(self.exact)
        self.wrong += (logits.detach().argmax(dim=1) != labels).sum()
        self.bar.update()

    @property
    def batch_done(self) -> int:
        """Batches done in this epoch (counting those before a resume)."""
        return self.state.batch

    def step_done(self) -> None:
        """Book an optimiser step: count it, update the progress bar (and check that the loss is
        still finite) at most once a second, and checkpoint every ``checkpoint_every`` steps."""
        state = self.state
        state.step += 1
        state.seconds = time.perf_counter() - self.start
        if self.on_step is not None:
            self.on_step(state)
        if time.perf_counter() - self.shown > 1:  # at most once a second: reading the loss waits for a GPU
            self.shown = time.perf_counter()
            if not torch.isfinite(self.loss_sum).item():
                self.diverged()
            if not self.bar.disable:
                seen = (state.seen + self.seen) * self.place.world  # an estimate between additions
                self.bar.set_postfix(loss=f"{self.loss_sum.item() / max(self.seen, 1):.3f}",
                                     img_s=f"{seen / max(state.seconds, 1e-9):.0f}")
        if self.checkpoint_every and state.step % self.checkpoint_every == 0:
            self.checkpoint()

    def interrupted(self) -> bool:
        """Whether Ctrl-C or SIGTERM asks the run to stop after this step (``should_stop``, asked
        after every step: with several processes, all of them agree); remembered in ``stopped``."""
        if self.should_stop is not None and self.should_stop():
            self.stopped = True
        return self.stopped

    def at_step_boundary(self, accumulate: int) -> bool:
        """Whether the batches done so far end an optimiser step (nothing half-accumulated), so
        that a checkpoint now continues exactly."""
        return self.state.batch % accumulate == 0

    def checkpoint(self) -> None:
        """Add up the running sums (so that a resumed epoch reports the same metrics) and save."""
        self.add_up()
        self.save()

    def add_up(self) -> None:
        """Move the running sums into the state, added over all processes."""
        seen, loss_sum, wrong = distributed.sum_over_processes(
            [self.seen, self.loss_sum.item(), self.wrong.item()], self.place)
        if not math.isfinite(loss_sum):
            self.diverged()
        state = self.state
        state.seen, state.loss_sum, state.wrong = state.seen + int(seen), state.loss_sum + loss_sum, state.wrong + int(wrong)
        self._zero()

    def diverged(self) -> None:
        raise TrainError(f"the training loss is not finite (epoch {self.state.epoch + 1}, step {self.state.step}): "
                         "the run has diverged. Lower --lr, or resume from an earlier checkpoint; the last "
                         "checkpoint was not overwritten.")

    def close(self) -> None:
        self.bar.close()


def evaluate(model: nn.Module, loader: DataLoader, prepare: BatchPreparer, amp: str = "off",
             place: Distributed = Distributed()) -> dict[str, float]:
    """Loss and top-1/top-5 error on ``loader``'s images (central patches); with several processes,
    each does its share and the sums are added. Outputs that are not finite count as errors."""
    model.eval()
    device = next(model.parameters()).device
    ks = (1, 5) if unwrap(model).num_classes >= 5 else (1,)
    loss_sum, count, wrong = 0.0, 0, [0.0] * len(ks)
    with torch.no_grad(), autocast(device, amp):
        for x, y in loader:
            x, y = prepare(x), y.to(device, non_blocking=True)
            logits = model(x).float()
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            errors = topk_error(logits, y, ks=ks)
            wrong = [w + errors[k] * len(y) for w, k in zip(wrong, ks)]
            count += len(y)
    totals = distributed.sum_over_processes([loss_sum, count, *wrong], place)
    n = round(totals[1])
    if n == 0:  # an error of 0 on no images would look like a perfect network
        raise ValueError("no images to evaluate: the loader is empty")
    return {"val_loss": totals[0] / n, **{f"val_top{k}_error": round(w) / n for k, w in zip(ks, totals[2:])}}


def build_model(cfg: Config, num_classes: int) -> nn.Module:
    """The network ``cfg`` describes, with ``num_classes`` outputs (its weights drawn from PyTorch's
    global random generator: seed it first)."""
    cfg = cfg.check()
    paper = cfg.model == "paper"
    try:
        return AlexNet(num_classes=num_classes, variant=cfg.model, dropout=cfg.dropout, width=cfg.width,
                       norm=cfg.norm, pool=cfg.pool_window(), activation=cfg.activation, groups=cfg.groups,
                       lrn=cfg.lrn, image_size=crop_size(cfg) if paper else None, init=cfg.init)
    except (ValueError, OverflowError) as err:
        raise TrainError(str(err)) from err


def _check_the_input_fits(model: nn.Module, example: torch.Tensor, cfg: Config) -> None:
    """Run one blank input of the run's size through the network (no gradients, no random
    numbers), so that a network whose windows do not fit its input (a tiny ``--image-size``, a
    large ``--pool``) is refused before training, with the settings to change."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros_like(example))
    except RuntimeError as err:
        size = "x".join(str(n) for n in example.shape[-2:])
        raise TrainError(f"--image-size {cfg.image_size or size} is too small for --model {cfg.model} with --pool "
                         f"{cfg.pool}: the network's inputs are {size} pixels and {str(err).splitlines()[0]}. Use a "
                         "larger --image-size or a smaller --pool.") from None
    finally:
        model.train(was_training)


def build_optimizer(model: nn.Module, cfg: Config) -> torch.optim.Optimizer:
    """SGD with momentum and weight decay (the paper), or AdamW (Chapter 10)."""
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


@dataclass
class Run:
    """Everything a run needs, built by :func:`start_run` from its settings."""

    cfg: Config
    place: Distributed
    device: torch.device
    amp: str
    folder: Path
    classes: int
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    state: State
    prepare: BatchPreparer
    batches: EpochBatches
    train_loader: DataLoader
    val_loader: DataLoader
    test: Dataset
    class_names: tuple[str, ...] = ()

    def checkpoint(self) -> None:
        save_checkpoint(self.folder / CHECKPOINT, self.model, self.optimizer, self.state, self.cfg, self.classes,
                        self.place, self.scaler, class_names=self.class_names or None)

    def where(self) -> str:
        """Where the run is, in words: epoch, batch and step."""
        state = self.state
        if state.batch == 0:
            return f"after epoch {state.epoch} (step {state.step})"
        return (f"at epoch {state.epoch + 1}, batch {state.batch} of {self.batches.global_batches()} "
                f"(step {state.step})")


def _training_images(train_set: Dataset, cfg: Config) -> Dataset:
    if cfg.train_subset is None:
        return train_set
    if not 0 < cfg.train_subset <= len(train_set):
        raise TrainError(f"--train-subset must be between 1 and {len(train_set)} (the training set), "
                         f"got {cfg.train_subset}")
    # a fixed random draw, not the first images: image folders list their images class by class
    chosen = np.sort(np.random.default_rng(SPLIT_SEED).permutation(len(train_set))[:cfg.train_subset])
    return Subset(train_set, chosen.tolist())


def start_run(cfg: Config, place: Distributed) -> Run:
    """Build a run from checked settings: data, network, optimiser, and the checkpoint to resume."""
    if cfg.batch_size < place.world:
        raise TrainError(f"--batch-size {cfg.batch_size} is the global batch; it must be at least the number "
                         f"of processes ({place.world})")
    device = pick_device(cfg.device, place)
    amp = mixed_precision(device) if cfg.amp == "auto" else cfg.amp
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    folder = Path(cfg.checkpoint_dir)
    if not cfg.resume and not cfg.overwrite:
        if (folder / CHECKPOINT).exists():
            raise TrainError(f"{folder / CHECKPOINT} holds a run already. Continue it with --resume, start afresh "
                             "over it with --overwrite, or choose another --checkpoint-dir.")
        left = [name for name in (METRICS, TEST_RESULT) if (folder / name).exists()]
        if left:
            raise TrainError(f"{folder} holds the results of an earlier run ({', '.join(left)}), without its "
                             "checkpoint. Start afresh over them with --overwrite, or choose another --checkpoint-dir.")
    if cfg.resume and not (folder / CHECKPOINT).exists():
        raise TrainError(f"--resume: no checkpoint at {folder / CHECKPOINT}")
    with distributed.main_first(place):  # one process downloads, unpacks and decodes; the others wait
        data = build_data(cfg)
    if len(data.val) == 0:
        raise TrainError(f"no validation images: --val-split {cfg.val_split} of {data.source} holds out none, "
                         "because no class has two training images, and a class needs at least two to give one to "
                         "the validation split that steers the run. Use more images (--synthetic-size, a fuller "
                         "data folder).")
    if data.classes < 2:
        raise TrainError(f"the data has only {data.classes} class ({data.source}): a classifier needs at least "
                         "two (for image folders, two class folders in train/ and val/)")
    train_set = _training_images(data.train, cfg)
    if cfg.num_classes is not None and cfg.num_classes != data.classes:
        raise TrainError(f"--num-classes {cfg.num_classes} does not match the data: {data.source} has "
                         f"{data.classes} classes")
    try:
        prepare = BatchPreparer.for_dataset(train_set, crop_size(cfg), lighting=cfg.lighting, augment=cfg.augment,
                                            channels_last=cfg.channels_last, device=device)
    except ValueError as err:
        raise TrainError(f"--lighting: {err}") from err
    torch.manual_seed(cfg.seed)  # the same initial weights in every process (after the data, which may draw)
    model = build_model(cfg, data.classes).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    # before the random state is set for training below: reading an example may draw random numbers
    _check_the_input_fits(model, prepare(_first_batch(train_set)), cfg)
    optimizer = build_optimizer(model, cfg)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == "fp16" and device.type == "cuda")
    if cfg.resume:
        state = load_checkpoint(folder / CHECKPOINT, model, optimizer, cfg, data.classes, place, scaler,
                                class_names=data.class_names or None)
    else:
        state = State()
        torch.manual_seed(cfg.seed + place.rank)  # different dropout masks in each process
    if state.epoch < cfg.epochs:
        state.test = None  # a run extended with more epochs measures its test set again at its new end
    if place.main:
        if not cfg.resume:
            clear_run(folder)  # --overwrite: the earlier run's checkpoint and numbers go, none is read as this run's
        else:
            write_metrics(folder, state.history)  # the metrics always match the checkpoint
            if state.test is None:
                (folder / TEST_RESULT).unlink(missing_ok=True)  # measured again at the run's (new) end
    if place.world > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile:
        model = torch.compile(model)
    batches = EpochBatches(len(train_set), cfg.batch_size, cfg.seed, place.rank, place.world)
    loaders = dict(workers=cfg.workers, device=device, seed=cfg.seed)
    return Run(cfg, place, device, amp, folder, data.classes, model, optimizer, scaler, state, prepare, batches,
               batch_loader(train_set, batches, rank=place.rank, **loaders),
               evaluation_loader(data.val, cfg.batch_size, place, **loaders), data.test, tuple(data.class_names))


def _first_batch(dataset: Dataset) -> torch.Tensor:
    """The first training example as a batch of one, as the loader would give it (for its size)."""
    if data_module.predecoded(dataset) is not None:
        return dataset[[0]][0]
    return torch.as_tensor(dataset[0][0])[None]


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C (SIGINT) or SIGTERM; the message says where, what was saved and
    how to continue. A ``KeyboardInterrupt``, so that code that stops on Ctrl-C stops on it."""

    def __init__(self, message: str, signum: int = signal.SIGINT) -> None:
        super().__init__(message)
        self.signum = signum


SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class StopSignals:
    """Ctrl-C (SIGINT) and SIGTERM during a run, turned into a stop that loses nothing.

    While the network trains (``training`` true), the first signal only asks the run to stop:
    the loop finishes the step it is in, saves the exact state (mid-epoch included) and raises
    :class:`RunInterrupted`; a second Ctrl-C stops at once. Before training starts, and while
    the test set is measured, there is nothing to lose, and a signal stops the run at once.
    The handlers are installed for the ``with`` block only (in the main thread; elsewhere the
    signals keep their usual effect), and DataLoader workers forked meanwhile ignore them: the
    main process decides.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.received: int | None = None
        self.stage = "before"  # "before" training, "training", "testing"
        self.pid = os.getpid()
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNAL_NAMES:
                self.previous[signum] = signal.getsignal(signum)
                signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    def _handle(self, signum: int, frame: object) -> None:
        if os.getpid() != self.pid:  # a loader worker: the main process saves and stops
            return
        if self.stage == "training" and self.received is None:
            self.received = signum
            if sys.stderr is sys.__stderr__ and sys.stderr is not None:  # a terminal's: written at once, unbuffered
                os.write(sys.stderr.fileno(), f"alexnet-train: {SIGNAL_NAMES[signum]}: stopping after this step to "
                                              "save the run (Ctrl-C again stops at once, without saving)\n".encode())
            return
        raise RunInterrupted(self.message(signum), signum)

    def message(self, signum: int, where: str | None = None, *, second: bool = True) -> str:
        """What happened to the run, in one line, for a stop by ``signum``: saved ``where`` the run
        was, or (``where`` unknown) what the stage it came in says."""
        name = SIGNAL_NAMES.get(signum, f"signal {signum}")
        if where is not None:
            return (f"stopped by {name} {where}, and saved in {self.folder}. Continue it with the same command "
                    "and --resume.")
        if self.stage == "before":
            return f"stopped by {name} before training started: nothing to save."
        if self.stage == "testing":
            return (f"stopped by {name} while measuring the test set; the training is saved in {self.folder}: "
                    "run the same command with --resume to measure it.")
        how = f"at once by a second {name}" if second else f"by {name} in the middle of a step"
        return (f"stopped {how}: {self.folder / CHECKPOINT} holds the run as of its last checkpoint. Continue it "
                "with the same command and --resume.")


def _stop_agreed(signals: StopSignals, place: Distributed, step: int | None = None) -> bool:
    """Whether a stop was asked for, agreed by every process (they must save at the same step):
    with several processes, every :data:`STOP_CHECK_STEPS` steps and at the end of each epoch."""
    if place.world == 1:
        return signals.received is not None
    if step is not None and step % STOP_CHECK_STEPS:
        return False
    return distributed.sum_over_processes([float(signals.received is not None)], place)[0] > 0


def _bad_image(err: BadImage) -> str:
    """A BadImage's message without its advice to library users (the trainer gives its own), on one
    line; from a loader worker it comes wrapped in the worker's traceback."""
    text = str(err).strip().splitlines()[-1]
    text = text.removeprefix(f"{BadImage.__module__}.{BadImage.__name__}: ")
    return text.split(" It may be truncated")[0].rstrip(".")


def _take_lock(lock: RunLock, place: Distributed) -> None:
    """The first process locks the checkpoint folder; every process learns whether it could."""
    problem = None
    if place.main:
        try:
            lock.acquire()
        except TrainError as err:
            problem = err
    if distributed.sum_over_processes([float(problem is not None)], place)[0]:
        raise problem or TrainError("the first process could not use --checkpoint-dir (its message says why)")


def train(cfg: Config, on_step: Callable[[State], None] | None = None) -> list[dict[str, Any]]:
    """Run (or resume) a training run; returns the per-epoch metrics (in every process).

    Each epoch: :func:`train_one_epoch`, then the validation error on the held-out images,
    the schedule, a checkpoint and the metrics. When the last epoch is done (or the plateau
    rule has ended the run: :func:`alexnet_lib.schedule.run_is_over`), the test set is evaluated once (``test.json``, :func:`alexnet_lib.checkpoints.load_test`).
    ``on_step``, if given, is called after every optimiser step with the run's state
    (the training benchmark uses it to time steps).

    The checkpoint folder is locked for the run (:class:`~alexnet_lib.checkpoints.RunLock`).
    Ctrl-C or SIGTERM stops the run after the step it is in, with a checkpoint of that exact
    state, and raises :class:`RunInterrupted` (:class:`StopSignals`); an image that cannot be
    read stops it with a checkpoint too, and a :class:`~alexnet_lib.config.TrainError` naming the file.
    """
    cfg = cfg.check()
    place = distributed.start(cfg.device)
    lock = RunLock(cfg.checkpoint_dir)
    signals = StopSignals(Path(cfg.checkpoint_dir))
    try:
        with signals:
            _take_lock(lock, place)
            return _train(cfg, place, signals, on_step)
    except KeyboardInterrupt as err:
        if isinstance(err, RunInterrupted):
            raise
        raise RunInterrupted(signals.message(signal.SIGINT)) from None
    finally:
        lock.release()
        distributed.end(place)


def _train(cfg: Config, place: Distributed, signals: StopSignals,
           on_step: Callable[[State], None] | None) -> list[dict[str, Any]]:
    """:func:`train`'s loop, inside its lock and signal handlers."""
    run = start_run(cfg, place)
    state = run.state
    signals.stage = "training"

    def save_where_it_stopped(tracker: Tracker | None) -> str | None:
        """After an error between batches: a checkpoint of the exact state where that is possible
        (one process, nothing half-accumulated); returns where, or ``None``."""
        if place.world > 1 or (tracker is not None and not tracker.at_step_boundary(cfg.accumulate)):
            return None
        if tracker is not None:
            tracker.checkpoint()
        else:
            run.checkpoint()
        return run.where()

    def unreadable(err: BadImage, saved: str | None, then: str = "continue with the same command and --resume") -> TrainError:
        kept = f"the run is saved {saved}" if saved else "the run continues from its last checkpoint"
        return TrainError(f"{_bad_image(err)}; {kept}. Replace or delete the file, then {then}.")

    while state.epoch < cfg.epochs and not run_is_over(state, cfg):
        if _stop_agreed(signals, place):  # at the end of an epoch, which is saved
            raise RunInterrupted(signals.message(signals.received or signal.SIGTERM, run.where()),
                                 signals.received or signal.SIGTERM)
        run.batches.set_epoch(state.epoch, skip=state.batch)
        tracker = Tracker(state, run.batches, run.device, place, save=run.checkpoint,
                          checkpoint_every=cfg.checkpoint_every, on_step=on_step,
                          progress=cfg.progress, epochs=cfg.epochs,
                          should_stop=lambda: _stop_agreed(signals, place, state.step))
        try:
            finished = train_one_epoch(run.model, run.train_loader, run.optimizer, run.prepare, tracker,
                                       amp=run.amp, scaler=run.scaler, accumulate=cfg.accumulate,
                                       label_smoothing=cfg.label_smoothing, max_steps=cfg.max_steps)
        except torch.cuda.OutOfMemoryError as err:
            raise TrainError(f"out of GPU memory with --batch-size {cfg.batch_size}; try --batch-size "
                             f"{max(cfg.batch_size // 2, 1)} (with --accumulate {cfg.accumulate * 2} to keep "
                             "the same effective batch)") from err
        except BadImage as err:
            raise unreadable(err, save_where_it_stopped(tracker)) from None
        except Exception:
            if signals.received is None:
                raise
            # the signal reached the loader's worker processes too, and stopped them: save what is done
            where = save_where_it_stopped(tracker)
            raise RunInterrupted(signals.message(signals.received, where, second=False), signals.received) from None
        finally:
            tracker.close()
        if not finished:
            if tracker.stopped:
                signum = signals.received or signal.SIGTERM
                raise RunInterrupted(signals.message(signum, run.where()), signum)
            return state.history
        tracker.add_up()
        seconds = time.perf_counter() - tracker.start
        try:
            scores = evaluate(unwrap(run.model), run.val_loader, run.prepare, run.amp, place)
        except BadImage as err:  # the epoch is trained: saved, it resumes at this evaluation
            raise unreadable(err, save_where_it_stopped(None)) from None
        metrics = {"epoch": state.epoch + 1, "lr": run.optimizer.param_groups[0]["lr"],
                   "train_loss": state.loss_sum / max(state.seen, 1),
                   "train_top1_error": state.wrong / max(state.seen, 1),
                   **scores,
                   "seconds": seconds, "images_per_second": state.seen / seconds,
                   "data_wait": state.data_seconds / seconds}
        adjust_learning_rate(state, metrics["val_top1_error"], run.optimizer, cfg)
        state.history.append(metrics)
        state.epoch, state.batch = state.epoch + 1, 0
        state.start_epoch_totals()
        run.checkpoint()
        if place.main:
            write_metrics(run.folder, state.history)
        if cfg.progress and place.main:
            print(epoch_line(metrics, cfg.epochs), flush=True)
    if state.test is None:  # the run has ended: the test set, once
        signals.stage = "testing"
        if signals.received is not None:  # a stop asked for during the last evaluation: nothing is lost
            raise RunInterrupted(signals.message(signals.received), signals.received)
        test_loader = evaluation_loader(run.test, cfg.batch_size, place, workers=cfg.workers, device=run.device,
                                        seed=cfg.seed)
        try:
            scores = evaluate(unwrap(run.model), test_loader, run.prepare, run.amp, place)
        except BadImage as err:
            raise unreadable(err, run.where(), then="run the same command with --resume to measure the test "
                                                    "set") from None
        state.test = {key.replace("val_", "test_"): value for key, value in scores.items()}
        run.checkpoint()
        if place.main:
            write_json(run.folder / TEST_RESULT, state.test)
    return state.history


def epoch_line(metrics: dict[str, Any], epochs: int) -> str:
    """One finished epoch in a line that fits the book's 80-character page, as the trainer prints
    it (every number of it is also in the run folder's ``metrics.json``)."""
    parts = [f"lr {metrics['lr']:.2g}", f"loss {metrics['train_loss']:.2f}",
             f"val error {metrics['val_top1_error']:.1%}"]
    if "val_top5_error" in metrics:
        parts.append(f"top-5 {metrics['val_top5_error']:.1%}")
    parts.append(f"{metrics['images_per_second']:.0f} img/s")
    return f"epoch {metrics['epoch']}/{epochs}: " + ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    """``alexnet-train``: train with the settings of the command line; exit status 2 on a clear error,
    128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM) when stopped by one."""
    try:
        train(parse_args(argv))
    except TrainError as err:
        print(f"alexnet-train: error: {err}", file=sys.stderr)
        return 2
    except RunInterrupted as err:
        print(f"alexnet-train: {err}", file=sys.stderr)
        return 128 + err.signum
    except KeyboardInterrupt:
        print("alexnet-train: stopped by Ctrl-C.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

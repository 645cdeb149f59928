"""The trainer under interruptions, bad images and bad settings: nothing lost, nothing silently
wrong, one line instead of a traceback (issue 26)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from alexnet_lib import checkpoints, data, train
from alexnet_lib.config import Config, TrainError
from helpers import ONE_EPOCH, make_folder, weights

pytestmark = pytest.mark.usefixtures("own_cache")


def command(folder: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "alexnet_lib.train", "--dataset", "synthetic", "--synthetic-size", "1024",
            "--width", "0.25", "--batch-size", "16", "--epochs", "2", "--lr", "0.02", "--seed", "3",
            "--deterministic", "--no-progress", "--checkpoint-dir", str(folder), *extra]


def interrupt_mid_epoch(folder: Path, signum: int) -> tuple[subprocess.CompletedProcess, dict]:
    """Start a run, send ``signum`` in its second epoch (no --checkpoint-every: the last checkpoint
    is the end of epoch 1), and return how it ended and the state it saved."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command(folder), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 240
        while not (folder / "metrics.json").exists() and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)  # into the second epoch
        process.send_signal(signum)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    state = torch.load(folder / checkpoints.CHECKPOINT, weights_only=True)["state"]
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), state


def test_ctrl_c_saves_the_exact_mid_epoch_state_and_says_how_to_resume(tmp_path):
    whole = tmp_path / "whole"
    done = subprocess.run(command(whole), capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "stopped"
    result, state = interrupt_mid_epoch(folder, signal.SIGINT)
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("alexnet-train: stopped by Ctrl-C") and "--resume" in last, result.stderr
    assert state["epoch"] == 1 and 0 < state["batch"] < 64, state  # saved in the middle of epoch 2
    resumed = subprocess.run(command(folder, "--resume"), capture_output=True, text=True, timeout=600,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert resumed.returncode == 0, resumed.stderr
    for name, value in weights(whole).items():
        torch.testing.assert_close(weights(folder)[name], value, rtol=0, atol=0)
    assert json.loads((folder / "metrics.json").read_text())[-1]["epoch"] == 2


def test_sigterm_saves_too(tmp_path):
    result, state = interrupt_mid_epoch(tmp_path / "run", signal.SIGTERM)
    assert result.returncode == 143, result.stderr
    assert "Traceback" not in result.stderr and "SIGTERM" in result.stderr and "--resume" in result.stderr
    assert state["epoch"] == 1 and state["batch"] > 0


def test_ctrl_c_before_training_is_one_line(tmp_path, monkeypatch, capsys):
    def interrupted(cfg):
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "build_data", interrupted)
    assert train.main(["--no-progress", "--checkpoint-dir", str(tmp_path / "run")]) == 130
    err = capsys.readouterr().err
    assert err.startswith("alexnet-train: stopped") and len(err.strip().splitlines()) == 1, err


# --- 7: no validation images ---------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 4])  # 4 images of seed 3: four classes of one image each
def test_a_run_without_validation_images_is_refused(tmp_path, size):
    with pytest.raises(TrainError, match="no validation images.*at least two"):
        train.train(Config(**{**ONE_EPOCH, "synthetic_size": size, "checkpoint_dir": str(tmp_path / "r")}))


def test_one_image_per_class_leaves_no_validation_images(tmp_path):
    root = make_folder(tmp_path / "images", classes=("a", "b"), per_class=1)
    with pytest.raises(TrainError, match="no validation images"):
        train.train(Config(dataset="imagefolder", data=str(root), model="small", image_size=32, batch_size=2,
                           progress=False, checkpoint_dir=str(tmp_path / "r")))


def test_evaluating_no_images_is_an_error_not_zero():
    from alexnet_lib.batches import evaluation_loader
    from alexnet_lib.distributed import Distributed
    from alexnet_lib.models import AlexNet

    empty = torch.utils.data.TensorDataset(torch.zeros(0, 3, 32, 32), torch.zeros(0, dtype=torch.long))
    loader = evaluation_loader(empty, 8, Distributed(), device=torch.device("cpu"))
    with pytest.raises(ValueError, match="no images"):
        train.evaluate(AlexNet(num_classes=10, variant="small", width=0.25), loader, data.BatchPreparer(32))


# --- 11: unreadable images -------------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "val"])
def test_unreadable_images_are_found_before_training(tmp_path, monkeypatch, capsys, split):
    root = make_folder(tmp_path / "images", classes=("a", "b"), per_class=4)
    bad = root / split / "b" / "broken.jpg"
    bad.write_bytes((root / split / "b" / "b_1.JPEG").read_bytes()[:300])
    trained = []
    monkeypatch.setattr(train, "train_one_epoch", lambda *a, **k: trained.append(1))
    code = train.main(["--dataset", "imagefolder", "--data", str(root), "--model", "small", "--image-size", "32",
                       "--batch-size", "2", "--no-progress", "--checkpoint-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "broken.jpg" in err and "Traceback" not in err and "on_error" not in err, err
    assert not trained


def test_an_image_that_breaks_mid_epoch_stops_with_a_saved_run(tmp_path, monkeypatch, capsys):
    root = make_folder(tmp_path / "images", classes=("a", "b"), per_class=10)
    calls = {"n": 0}
    real = data.read_image

    def breaks_later(path):
        calls["n"] += 1
        if calls["n"] == 9:
            raise data.BadImage(f"{path} is not a readable image (simulated)", path=path)
        return real(path)

    monkeypatch.setattr(data, "find_unreadable", lambda dataset, **k: [])  # as if it broke after the check
    monkeypatch.setattr(data.decoding, "read_image", breaks_later)
    folder = tmp_path / "run"
    code = train.main(["--dataset", "imagefolder", "--data", str(root), "--model", "small", "--width", "0.25",
                       "--image-size", "32", "--batch-size", "2", "--no-progress", "--checkpoint-dir", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and "simulated" in err and "--resume" in err and "Traceback" not in err, err
    state = torch.load(folder / checkpoints.CHECKPOINT, weights_only=True)["state"]
    assert state["batch"] > 0  # the steps before the bad image are kept


# --- 12: settings that cannot build a network --------------------------------------------------


@pytest.mark.parametrize(("flags", "message"), [
    (["--width", "inf"], "--width must be a positive finite number"),
    (["--width", "1e300"], "--width"),
    (["--image-size", "2"], "--image-size 2 is too small"),
    (["--pool", "40/40"], "--pool 40/40"),
    (["--pool", "x"], "--pool is SIZE/STRIDE"),
    (["--num-classes", "1"], "--num-classes must be at least 2"),
    (["--label-smoothing", "inf"], "--label-smoothing"),
    (["--lighting", "-1"], "--lighting"),
    (["--train-subset", "100000"], "--train-subset must be between 1 and"),
])
def test_settings_that_cannot_build_a_network_are_one_line(tmp_path, capsys, flags, message):
    code = train.main(["--no-progress", "--synthetic-size", "64", "--batch-size", "16",
                       "--checkpoint-dir", str(tmp_path / "x"), *flags])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("alexnet-train: error: ") and "Traceback" not in err, err
    assert message in err, err

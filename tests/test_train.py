"""The trainer: it trains, checkpoints atomically, resumes exactly after a kill, and explains errors."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from alexnet_lib import checkpoints, curves, train
from alexnet_lib.config import Config, TrainError

from helpers import TINY, make_folder, make_npz, run, weights


def test_help_and_console_script():
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--help"])
    assert exit_info.value.code == 0
    assert "alexnet-train" in Path(__file__).resolve().parents[1].joinpath("pyproject.toml").read_text()


def test_trains_and_writes_metrics(tmp_path):
    folder = run(tmp_path, "a", epochs=3, lr=0.05)
    history = json.loads((folder / "metrics.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert {"val_top1_error", "val_top5_error", "images_per_second", "lr"} <= set(history[0])
    assert (folder / "metrics.csv").read_text().startswith("epoch,lr,train_loss")
    assert not list(folder.glob("*.tmp"))


def test_resume_after_max_steps_matches_an_uninterrupted_run(tmp_path):
    whole = run(tmp_path, "whole")
    part = run(tmp_path, "part", max_steps=11)  # stops mid-epoch 2 (8 steps per epoch)
    state = torch.load(part / checkpoints.CHECKPOINT, weights_only=True)["state"]
    assert (state["epoch"], state["batch"], state["step"]) == (1, 3, 11)
    run(tmp_path, "part", resume=True)
    for name, value in weights(whole).items():
        torch.testing.assert_close(weights(part)[name], value, rtol=0, atol=0)
    a = json.loads((part / "metrics.json").read_text())
    b = json.loads((whole / "metrics.json").read_text())
    for key in ("train_loss", "train_top1_error", "val_loss", "val_top1_error"):  # seconds differ, these do not
        assert [h[key] for h in a] == [h[key] for h in b], key


@pytest.mark.parametrize("size", [256, 250])
def test_accumulated_batches_train_as_one_larger_batch(tmp_path, size):
    """--accumulate 2 with batches of 16 is the training of batches of 32, also in an epoch's last
    step, which may have fewer images (256: 230 training images, the last step one batch of 6;
    250: 225, the last step 16 + 1) or fewer batches than ``accumulate``."""
    plain = dict(synthetic_size=size, dropout=0.0, epochs=1)
    whole = run(tmp_path, "b32", batch_size=32, **plain)
    split = run(tmp_path, "b16x2", batch_size=16, accumulate=2, **plain)
    for name, value in weights(whole).items():  # the same gradients, added in another order
        torch.testing.assert_close(weights(split)[name], value, rtol=0, atol=1e-5)  # a lone last batch
        # whose loss was still divided by 2 (as before this test) moved some weights by 2e-3 to 9e-3


def test_resume_after_a_kill_mid_epoch(tmp_path):
    """Kill -9 a running trainer after a mid-epoch checkpoint; the resumed run ends with the same weights.

    Both runs are separate processes, so that they share the thread count (which changes
    the order of floating-point sums) and nothing else with this test process.
    """
    def command(folder: Path) -> list[str]:
        return [sys.executable, "-m", "alexnet_lib.train", "--dataset", "synthetic", "--synthetic-size", "512",
                "--width", "0.25", "--batch-size", "16", "--epochs", "3", "--lr", "0.02", "--seed", "3", "--deterministic",
                "--no-progress", "--checkpoint-every", "4", "--checkpoint-dir", str(folder)]

    whole = tmp_path / "whole"
    result = subprocess.run(command(whole), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "killed"
    args = command(folder)
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if (folder / checkpoints.CHECKPOINT).exists():
                state = torch.load(folder / checkpoints.CHECKPOINT, weights_only=True)["state"]
                if state["step"] >= 40:  # in the second epoch (32 steps each, 96 in all)
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the trainer wrote no mid-epoch checkpoint in time: " + process.stderr.read().decode())
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    killed_at = torch.load(folder / checkpoints.CHECKPOINT, weights_only=True)["state"]
    assert killed_at["step"] < 96, "the run was killed before it finished"
    result = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for name, value in weights(whole).items():
        torch.testing.assert_close(weights(folder)[name], value, rtol=0, atol=0)


def test_clear_errors(tmp_path, capsys):
    data = tmp_path / "cifar"
    data.mkdir()
    make_npz(data / "cifar10.npz")
    with pytest.raises(TrainError, match="--num-classes 7 does not match the data.*has 10 classes"):
        run(tmp_path, "x", dataset="cifar10", data=str(data), num_classes=7)
    with pytest.raises(TrainError, match="--resume: no checkpoint"):
        run(tmp_path, "y", resume=True)
    run(tmp_path, "z", max_steps=1)
    with pytest.raises(TrainError, match="other settings: --image-size was None and is now 64; --model was 'small'"):
        run(tmp_path, "z", resume=True, model="torchvision", image_size=64)
    with pytest.raises(TrainError, match="no data: .*CIFAR-10 is not in"):
        run(tmp_path, "c", dataset="cifar10", data=str(tmp_path), download=False)
    with pytest.raises(TrainError, match="needs --data ROOT"):
        run(tmp_path, "i", dataset="imagefolder")
    assert train.main(["--dataset", "imagefolder", "--data", str(tmp_path), "--no-progress"]) == 2
    assert "train does not exist" in capsys.readouterr().err


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_mixed_precision_on_gpu(tmp_path):
    folder = run(tmp_path, "gpu", device="cuda", amp="fp16", channels_last=True, deterministic=False)
    assert json.loads((folder / "metrics.json").read_text())[-1]["epoch"] == 2


def test_two_processes_match_one(tmp_path):
    """torchrun with two CPU processes (gloo) trains exactly like one process with the same global batch."""
    common = ["--dataset", "synthetic", "--synthetic-size", "96", "--width", "0.25", "--batch-size", "16", "--epochs", "2",
              "--lr", "0.02", "--seed", "5", "--dropout", "0", "--device", "cpu", "--checkpoint-every", "4"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, "-m", "alexnet_lib.train", *common, "--no-progress",
                          "--checkpoint-dir", str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=300, env=env)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "alexnet_lib.train", *common, "--checkpoint-dir", str(tmp_path / "two")],
                         capture_output=True, text=True, timeout=300, env=env)
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("epoch 2/2:") == 1  # only the first process reports
    a, b = weights(tmp_path / "one"), weights(tmp_path / "two")
    for name, value in a.items():
        # The same sums, added in a different order: equal to float32 rounding.
        torch.testing.assert_close(b[name], value, rtol=1e-4, atol=1e-5)
    ha = json.loads((tmp_path / "one" / "metrics.json").read_text())
    hb = json.loads((tmp_path / "two" / "metrics.json").read_text())
    for key in ("train_loss", "val_loss"):
        assert [round(h[key], 4) for h in ha] == [round(h[key], 4) for h in hb], key
    for key in ("train_top1_error", "val_top1_error", "val_top5_error"):
        assert [h[key] for h in ha] == [h[key] for h in hb], key
    assert torch.load(tmp_path / "two" / checkpoints.CHECKPOINT, weights_only=True)["world"] == 2


def test_subset_width_and_plot(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    folder = run(tmp_path, "w", width=0.25, train_subset=40, epochs=2)
    history = checkpoints.load_history(folder)
    assert len(history) == 2
    state = torch.load(folder / checkpoints.CHECKPOINT, weights_only=True)
    assert state["model"]["features.conv1.weight"].shape[0] == 16
    assert state["state"]["step"] == 2 * 3  # 40 images in batches of 16: three steps an epoch
    fig = curves.plot_history(folder, title="t")
    assert len(fig.axes) == 3
    with pytest.raises(TrainError, match="--train-subset must be between 1 and 116"):
        run(tmp_path, "bad", train_subset=500)
    with pytest.raises(TrainError, match="no metrics"):
        checkpoints.load_history(tmp_path / "nothing")
    with pytest.raises(TrainError, match="width applies"):
        run(tmp_path, "bad2", model="torchvision", width=0.5, image_size=64)


@pytest.mark.parametrize("changes", [dict(norm="lrn"), dict(norm="batch"), dict(pool="2/2"), dict(activation="tanh"),
                                     dict(groups=2), dict(lighting=0.1), dict(label_smoothing=0.1),
                                     dict(optimizer="adamw", lr=1e-3, weight_decay=0.05, schedule="cosine")])
def test_the_switches_of_chapter_10_train(tmp_path, changes):
    history = train.train(Config(**{**TINY, "model": "small", "width": 0.25, "image_size": 28, "epochs": 2,
                                    "checkpoint_dir": str(tmp_path / "run"), **changes}))
    assert len(history) == 2 and all(torch.isfinite(torch.tensor(h["train_loss"])) for h in history)
    if changes.get("schedule") == "cosine":
        # the rate each epoch ran with: the full rate, then half of it (cos(pi/2) = 0) in epoch 2 of 2
        assert [h["lr"] for h in history] == pytest.approx([1e-3, 1e-3 * 0.5 * (1 + math.cos(math.pi / 2))])


def test_bad_switches_are_explained(tmp_path):
    with pytest.raises(TrainError, match="--pool is SIZE/STRIDE"):
        run(tmp_path, "p", pool="3x2")
    with pytest.raises(TrainError, match="apply to variant='small' only"):
        run(tmp_path, "n", model="torchvision", image_size=64, norm="lrn")
    with pytest.raises(TrainError, match="--lighting: PCA lighting needs uint8 images"):
        run(tmp_path, "l", lighting=0.1)
    with pytest.raises(TrainError, match="--optimizer must be one of sgd, adamw, got 'rmsprop'"):
        run(tmp_path, "o", optimizer="rmsprop")


# --- nothing lost, nothing silently wrong -----------------------------------------------------


def test_a_diverged_run_stops_with_a_clear_message(tmp_path):
    with pytest.raises(TrainError, match="training loss is not finite.*diverged. Lower --lr"):
        run(tmp_path, "nan", lr=1e12, epochs=1)


def test_non_finite_outputs_count_as_errors_in_evaluation():
    from alexnet_lib.batches import evaluation_loader
    from alexnet_lib.data import BatchPreparer
    from alexnet_lib.distributed import Distributed
    from alexnet_lib.models import AlexNet

    model = AlexNet(num_classes=10, variant="small", width=0.25)
    with torch.no_grad():
        model.classifier.fc8.bias.fill_(float("nan"))
    images = torch.randn(20, 3, 32, 32)
    dataset = torch.utils.data.TensorDataset(images, torch.randint(0, 10, (20,)))
    loader = evaluation_loader(dataset, 8, Distributed(), device=torch.device("cpu"))
    result = train.evaluate(model, loader, BatchPreparer(32))
    assert result["val_top1_error"] == 1.0 and result["val_top5_error"] == 1.0


def test_the_trainer_prints_each_epoch_in_a_line_that_fits_the_page():
    from alexnet_lib.train import epoch_line

    worst = {"epoch": 90, "lr": 1e-5, "train_loss": 6.9078, "val_top1_error": 0.99996,
             "val_top5_error": 0.99996, "images_per_second": 12345.6}
    line = epoch_line(worst, 90)
    assert len(line) <= 80 and line.startswith("epoch 90/90: lr 1e-05, loss 6.91, val error 100.0%"), line
    few_classes = {k: v for k, v in worst.items() if k != "val_top5_error"}
    assert "top-5" not in epoch_line(few_classes, 90)


def test_trainer_with_predecode_trains_and_resumes_exactly(tmp_path):
    root = make_folder(tmp_path / "f", per_class=6, size=(48, 40))
    settings = dict(dataset="imagefolder", data=str(root), model="small", width=0.25, image_size=24, batch_size=4,
                    epochs=2, lr=0.02, progress=False, predecode=True, cache_dir=str(tmp_path / "cache"),
                    deterministic=True, seed=2)
    whole = train.train(train.Config(**settings, checkpoint_dir=str(tmp_path / "whole")))
    assert len(whole) == 2 and 0 <= whole[-1]["data_wait"] < 1
    train.train(train.Config(**settings, checkpoint_dir=str(tmp_path / "part"), max_steps=4))
    part = train.train(train.Config(**settings, checkpoint_dir=str(tmp_path / "part"), resume=True))
    a = torch.load(tmp_path / "whole" / checkpoints.CHECKPOINT, weights_only=True)["model"]
    b = torch.load(tmp_path / "part" / checkpoints.CHECKPOINT, weights_only=True)["model"]
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    assert [h["train_loss"] for h in part] == [h["train_loss"] for h in whole]

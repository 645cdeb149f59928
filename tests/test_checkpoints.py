"""alexnet_lib.checkpoints: a run's folder is resumed only as it was, refused when damaged, and keeps its metrics."""

from __future__ import annotations

import json

import pytest
import torch

from alexnet_lib import checkpoints
from alexnet_lib.config import Config, TrainError

from helpers import TINY, run, weights


def test_a_run_in_a_folder_with_a_checkpoint_needs_resume_or_overwrite(tmp_path):
    folder = run(tmp_path, "a", max_steps=2)
    before = weights(folder)
    with pytest.raises(TrainError, match="holds a run already. Continue it with --resume, start afresh over it with "
                                         "--overwrite"):
        run(tmp_path, "a")
    for name, value in weights(folder).items():  # untouched
        assert torch.equal(value, before[name])
    run(tmp_path, "a", overwrite=True, max_steps=1)
    assert torch.load(folder / checkpoints.CHECKPOINT, weights_only=True)["state"]["step"] == 1


@pytest.mark.parametrize(("change", "named"), [
    ({"lr": 0.5}, "--lr was 0.02 and is now 0.5"),
    ({"batch_size": 8}, "--batch-size was 16 and is now 8"),
    ({"seed": 4}, "--seed was 3 and is now 4"),
    ({"train_subset": 64}, "--train-subset was None and is now 64"),
    ({"optimizer": "adamw"}, "--optimizer was 'sgd' and is now 'adamw'"),
    ({"epochs": 1}, "--epochs was 2 and is now 1"),
])
def test_resume_refuses_changed_settings(tmp_path, change, named):
    run(tmp_path, "r", max_steps=3)
    with pytest.raises(TrainError, match=named.replace("(", r"\(")):
        run(tmp_path, "r", resume=True, **change)


def test_resume_may_change_how_not_what(tmp_path):
    """More epochs, another device or checkpoint interval: the run continues."""
    run(tmp_path, "r", max_steps=3)
    history = run(tmp_path, "r", resume=True, epochs=3, checkpoint_every=5, workers=0, device="cpu")
    assert json.loads((history / "metrics.json").read_text())[-1]["epoch"] == 3
    assert (history / "test.json").exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "foreign"])
def test_a_damaged_checkpoint_is_a_clear_error(tmp_path, damage):
    folder = run(tmp_path, "d", max_steps=2)
    path = folder / checkpoints.CHECKPOINT
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
    elif damage == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    else:
        torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(TrainError, match="(cannot be read as a checkpoint|is not a checkpoint).*--overwrite"):
        run(tmp_path, "d", resume=True)


def test_metrics_match_the_checkpoint_after_a_resume(tmp_path):
    folder = run(tmp_path, "m", epochs=3, max_steps=20)  # two epochs of 8 steps, then into the third
    (folder / "metrics.json").write_text("[]")  # as if a kill had come between checkpoint and metrics
    run(tmp_path, "m", resume=True, epochs=3)
    history = json.loads((folder / "metrics.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert not list(folder.glob("*.tmp"))


def test_the_loss_scaler_is_saved_and_restored(tmp_path):
    from alexnet_lib.models import AlexNet

    model = AlexNet(num_classes=10, variant="small", width=0.25)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    scaler._scale = torch.tensor(256.0)  # as after a few steps that overflowed
    cfg = Config(**TINY).check()
    path = tmp_path / "last.pt"
    checkpoints.save_checkpoint(path, model, optimizer, checkpoints.State(), cfg, 10, scaler=scaler)
    fresh = torch.amp.GradScaler("cpu", init_scale=1024.0)
    checkpoints.load_checkpoint(path, model, optimizer, cfg, 10, scaler=fresh)
    assert fresh.get_scale() == 256.0

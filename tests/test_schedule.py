"""alexnet_lib.schedule: the paper's plateau rule ends a run."""

from __future__ import annotations

from alexnet_lib import checkpoints, train
from alexnet_lib.config import Config

from helpers import TINY


def test_the_plateau_rule_ends_a_run_after_its_third_division(tmp_path, monkeypatch):
    """A validation error that never improves: the rate is divided after epochs 3, 5 and 7, and
    the run ends two stalled epochs later (epoch 9), well before --epochs, with its test result."""
    from alexnet_lib import schedule

    monkeypatch.setattr(train, "evaluate", lambda *args, **kwargs: {"val_loss": 2.0, "val_top1_error": 0.5,
                                                                     "val_top5_error": 0.1})
    folder = tmp_path / "stalls"
    history = train.train(Config(**{**TINY, "synthetic_size": 32, "epochs": 30, "checkpoint_dir": str(folder)}))
    assert len(history) == 9
    assert [round(h["lr"], 8) for h in history] == [0.02, 0.02, 0.02, 0.002, 0.002, 0.0002, 0.0002, 2e-5, 2e-5]
    assert checkpoints.load_test(folder)["test_top1_error"] == 0.5
    state = checkpoints.State(drops=3, bad_epochs=2)
    assert schedule.run_is_over(state, Config(**TINY).check())
    assert not schedule.run_is_over(state, Config(**TINY, schedule="cosine").check())
    # resuming the ended run trains nothing more
    assert len(train.train(Config(**{**TINY, "synthetic_size": 32, "epochs": 30, "checkpoint_dir": str(folder),
                                     "resume": True}))) == 9

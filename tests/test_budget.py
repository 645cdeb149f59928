"""The time-budget study (alexnet_lib.budget) on a tiny photo folder."""

from __future__ import annotations

import pytest

from alexnet_lib import budget
from helpers import make_folder


def test_each_candidate_trains_the_whole_epochs_that_fit(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "photos", classes=("n01", "n02", "n03", "n04", "n05"), per_class=8, size=(90, 80))
    tiny = dict(dataset="imagefolder", data=str(root), batch_size=8, cache_dir=str(tmp_path / "cache"), device="cpu")
    first = budget.study(seconds=1e-6, candidates=((0.125, 72),), folder=tmp_path / "one", **tiny)
    assert first["candidates"][0]["epochs"] == 1, "at least one epoch, even when it does not fit"

    # The epochs' measured seconds, made exact so that the rule is tested and not this machine's
    # load: the cheap candidate's epoch takes 1 s, the dear one's 3 s, the budget is 3.5 s.
    real_train = budget.train.train

    def timed(cfg):
        history = real_train(cfg)
        for h in history:
            h["seconds"] = 1.0 if cfg.width == 0.125 else 3.0
        return history

    monkeypatch.setattr(budget.train, "train", timed)
    result = budget.study(seconds=3.5, candidates=((0.125, 72), (0.5, 96)), folder=tmp_path / "two", **tiny)
    cheap, dear = result["candidates"]
    # cheap: 1 + 1 fits, 2 + 1 fits, 3 + 1 does not; dear: 3 + 3 does not, but one epoch always runs
    assert (cheap["epochs"], cheap["seconds"]) == (3, 3.0) and (dear["epochs"], dear["seconds"]) == (1, 3.0)
    for row in (cheap, dear):
        assert len(row["val_top1_error"]) == row["epochs"] and row["final_val_top1_error"] == row["val_top1_error"][-1]
        if row["epochs"] > 1:  # whole epochs that fit: never more than the budget by the last epoch's length
            assert row["seconds"] <= result["seconds_each"] + row["seconds"] / row["epochs"]
    best = min(result["candidates"], key=lambda r: r["final_val_top1_error"])
    assert result["best"] == {"width": best["width"], "image_size": best["image_size"]}
    assert result["machine"]["cpu_count"] >= 1


def test_candidates_are_the_papers_network_with_its_recipe():
    cfg = budget.candidate_config(0.5, 112)
    assert (cfg.model, cfg.width, cfg.image_size, cfg.batch_size, cfg.lr, cfg.init) == ("paper", 0.5, 112, 128, 0.01, "he")
    assert cfg.lighting == 0.0 and cfg.predecode
    with pytest.raises(TypeError):
        budget.candidate_config(0.5, 112, no_such_setting=1)


def test_a_run_the_plateau_rule_ended_stops_the_candidate(tmp_path, monkeypatch):
    """A run that ends itself adds no epoch when asked for one more: the study moves on
    instead of asking again for ever (as it did before this test)."""
    import dataclasses

    root = make_folder(tmp_path / "photos", classes=("n01", "n02"), per_class=6, size=(80, 80))
    real = budget.train.train
    calls = []

    def ends_after_two(cfg):  # as if the plateau rule had ended the run after two epochs
        calls.append(cfg.epochs)
        assert len(calls) < 10, "the study keeps asking a finished run for more epochs"
        return real(dataclasses.replace(cfg, epochs=min(cfg.epochs, 2)))

    monkeypatch.setattr(budget.train, "train", ends_after_two)
    result = budget.study(seconds=1e9, candidates=((0.125, 72),), folder=tmp_path / "run", dataset="imagefolder",
                          data=str(root), batch_size=6, cache_dir=str(tmp_path / "cache"), device="cpu")
    assert result["candidates"][0]["epochs"] == 2 and calls == [1, 2, 3]

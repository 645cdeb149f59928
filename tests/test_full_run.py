"""The recorded full run's commands (alexnet_lib.full_run) on a tiny photo folder: train, record
everything the chapters read, and the initialisation comparison."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from alexnet_lib import experiments, full_run, recorded
from alexnet_lib.config import TrainError
from helpers import make_folder


@pytest.fixture
def tiny_run(tmp_path):
    root = make_folder(tmp_path / "photos", classes=("n01", "n02", "n03", "n04", "n05"), per_class=6, size=(96, 88))
    cfg = full_run.recorded_config(image_size=72, epochs=1, device="cpu", dataset="imagefolder", data=str(root),
                          width=0.125, batch_size=8, cache_dir=str(tmp_path / "cache"), progress=False)
    folder = tmp_path / "run"
    return cfg, folder


def test_record_refuses_an_unfinished_run_then_writes_what_the_chapters_read(tiny_run, tmp_path):
    cfg, folder = tiny_run
    full_run.run(dataclasses.replace(cfg, max_steps=1), folder)  # stopped early: not finished
    with pytest.raises(TrainError, match="has not finished"):
        full_run.record(folder, "tiny", out=tmp_path / "results")
    full_run.run(cfg, folder)  # resumes, ends, tests once
    wall = json.loads((folder / "wall.json").read_text())
    assert len(wall["sessions"]) == 2 and wall["seconds"] == pytest.approx(sum(s["seconds"] for s in wall["sessions"]))

    result = full_run.record(folder, "tiny", out=tmp_path / "results")
    saved = json.loads((tmp_path / "results" / "imagenette_full_tiny.json").read_text())
    assert saved["test_images"] == 30 and saved["classes"] == ["n01", "n02", "n03", "n04", "n05"]
    assert saved["test"]["test_top1_error"] == pytest.approx(saved["one_patch"]["top1_error"], abs=1e-4)
    assert np.array(saved["confusion_matrix"]).sum() == 30
    assert len(saved["neighbours"]["hidden"]) == full_run.QUERIES
    assert all(len(row) == full_run.NEIGHBOURS for row in saved["neighbours"]["pixels"])
    assert all(n["path"].startswith(("train/", "val/")) for row in saved["neighbours"]["hidden"] for n in row)
    assert str(tmp_path) not in json.dumps(saved), "no machine paths in a recorded result"
    assert result["settings"]["image_size"] == 72 and "checkpoint_dir" not in result["settings"]
    arrays = np.load(tmp_path / "results" / "imagenette_full_tiny.npz")
    assert arrays["kernels"].shape == arrays["kernels_before"].shape == (12, 3, 11, 11)
    assert arrays["occlusion"].shape[0] == full_run.MAPPED
    assert set(full_run.FEATURE_LAYERS) <= set(arrays.files)


def test_init_comparison_trains_the_paper_start_beside_the_recorded_one(tiny_run, tmp_path, monkeypatch):
    cfg, folder = tiny_run
    full_run.run(cfg, folder)
    monkeypatch.setattr(recorded, "RESULTS_DIR", tmp_path / "results")
    result = full_run.init_comparison(tmp_path / "paper-init", folder, epochs=1, tag="tiny")
    assert (tmp_path / "results" / "imagenette_init_tiny.json").exists()
    paper, he = result["runs"].values()
    assert len(paper) == len(he) == 1 and paper[0]["epoch"] == he[0]["epoch"] == 1
    # run again: the comparison's own folder is replaced, not refused
    full_run.init_comparison(tmp_path / "paper-init", folder, epochs=1, tag="tiny")


def test_the_shipped_file_is_measured_on_the_test_set_both_ways_and_on_the_validation_split(tiny_run):
    cfg, folder = tiny_run
    full_run.run(cfg, folder)
    model, cfg, _ = experiments.load_model(folder)
    splits = full_run.build_data(dataclasses.replace(cfg, progress=False))
    errors = full_run._errors(model, splits, cfg)
    assert set(errors) == {"one_patch", "ten_patches", "validation_one_patch"}
    for measured in errors.values():
        assert 0 <= measured["top5_error"] <= measured["top1_error"] <= 1

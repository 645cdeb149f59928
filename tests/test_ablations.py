"""alexnet_lib.ablations: Chapter 10's study, its paired comparisons and its recorded result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alexnet_lib import ablations

ROOT = Path(__file__).resolve().parents[1]


def test_summarize_compares_seed_by_seed_with_a_t_interval():
    base, other = ablations.EXPERIMENTS[0].name, ablations.BY_KEY["dropout"].name
    runs = [{"experiment": base, "seed": i, "test_top1_error": v, "val_top1_error": v, "train_top1_error": 0.5}
            for i, v in enumerate((0.40, 0.42, 0.44))]
    runs += [{"experiment": other, "seed": i, "test_top1_error": v, "val_top1_error": v, "train_top1_error": 0.3}
             for i, v in enumerate((0.46, 0.50, 0.48))]  # differences 0.06, 0.08, 0.04
    rows = ablations.summary_rows(runs)
    assert [r["experiment"] for r in rows] == [base, other] and [r["key"] for r in rows] == ["baseline", "dropout"]
    assert rows[0]["test_top1_error"] == pytest.approx(0.42) and rows[0]["test_std"] == pytest.approx(0.02)
    assert rows[0]["vs_baseline"] is None and rows[0]["verdict"] == "the baseline"
    assert rows[1]["vs_baseline"] == pytest.approx(0.06) and rows[1]["pairs"] == 3
    assert rows[1]["vs_baseline_se"] == pytest.approx(0.02 / 3**0.5)  # the differences' spread, not the runs'
    assert rows[1]["vs_baseline_ci"] == pytest.approx(4.302653 * 0.02 / 3**0.5, rel=1e-5)  # t(0.975, 2 df)
    # removing dropout raised the error, and the interval excludes zero: the paper's choice helped
    assert rows[1]["verdict"] == "the paper's choice helped"


def test_pairing_matches_seeds_not_order_and_verdicts_read_as_the_paper_s_choice():
    base = ablations.EXPERIMENTS[0].name
    runs = [{"experiment": base, "seed": s, "test_top1_error": v} for s, v in ((0, 0.5), (1, 0.6), (2, 0.7))]
    runs += [{"experiment": "x", "seed": s, "test_top1_error": v} for s, v in ((2, 0.6), (0, 0.4), (1, 0.5))]
    mean, se, ci, n = ablations.paired_difference(runs, "x", base)
    assert (mean, se, n) == (pytest.approx(-0.1), pytest.approx(0.0), 3)
    row = {"key": "lrn", "vs_baseline": -0.05, "vs_baseline_ci": 0.02}
    assert ablations.verdict(row) == "the paper's choice helped"  # adding LRN lowered the error
    assert ablations.verdict({**row, "key": "tanh"}) == "the paper's choice hurt"  # removing ReLU lowered it
    assert ablations.verdict({**row, "key": "adamw"}) == "lower error"
    assert ablations.verdict({**row, "vs_baseline_ci": 0.06}) == "no clear effect"
    with pytest.raises(ValueError, match="no seed"):
        ablations.paired_difference(runs, "x", "y")


def test_paired_differences_of_any_recorded_measure():
    """Chapter 10 compares training errors and curves too: by_seed reads any key, and the
    paired difference of another measure is computed as that of the test error."""
    base = ablations.EXPERIMENTS[0].name
    runs = [{"experiment": base, "seed": s, "test_top1_error": 0.5, "train_top1_error": t, "val_curve": [0.9, t]}
            for s, t in ((0, 0.30), (1, 0.32), (2, 0.34))]
    runs += [{"experiment": "x", "seed": s, "test_top1_error": 0.5, "train_top1_error": t, "val_curve": [0.8, t]}
             for s, t in ((2, 0.30), (0, 0.28), (1, 0.31))]
    assert ablations.by_seed(runs, "x", "val_curve") == {2: [0.8, 0.30], 0: [0.8, 0.28], 1: [0.8, 0.31]}
    assert ablations.seed_differences(runs, "x", base, "train_top1_error") == pytest.approx([-0.02, -0.01, -0.04])
    mean, se, ci, n = ablations.paired_difference(runs, "x", base, measure="train_top1_error")
    assert (mean, n) == (pytest.approx(-0.07 / 3), 3) and ci == pytest.approx(4.302653 * se, rel=1e-5)
    assert ablations.paired_difference(runs, "x", base)[0] == pytest.approx(0.0)  # the test error by default


def test_half_width_is_half_of_the_baseline_s_width_in_every_profile():
    from alexnet_lib.profiles import Profile

    for name in ("cpu", "gpu"):
        base = ablations.base_config(Profile(name, "test", "cpu"))
        assert ablations.experiment_config(ablations.BY_KEY["half_width"], base, 0).width == base.width / 2


def test_the_study_runs_and_is_recorded(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ALEXNET_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "ablations.json"
    dropout = str(ablations.EXPERIMENTS.index(ablations.BY_KEY["dropout"]))
    assert ablations.main(["--seeds", "2", "--epochs", "1", "--profile", "smoke", "--only", f"0,{dropout}",
                           "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert len(result["runs"]) == 4 and [r["key"] for r in result["summary"]] == ["baseline", "dropout"]
    assert result["ensemble"]["networks"] == 2 and 0 <= result["ensemble"]["ensemble_test_top1_error"] <= 1
    assert result["base"]["epochs"] == 1 and result["seeds"] == 2
    assert ablations.main(["--seeds", "2", "--epochs", "1", "--profile", "smoke", "--only", "0", "--out", str(out)]) == 0
    assert "using the finished run" in capsys.readouterr().out  # a second call trains nothing


def test_the_recorded_study_is_complete():
    study = json.loads((ROOT / "src" / "alexnet_lib" / "results" / "ablations.json").read_text())
    assert [r["key"] for r in study["summary"]] == [e.key for e in ablations.EXPERIMENTS]
    assert all(r["runs"] == study["seeds"] >= 3 for r in study["summary"])

"""The side-by-side page pastes only numbers that the chapters record, and Chapter 10's study is sound."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from alexnet_lib import ablations, display

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "side_by_side.md"


def recorded_keys(notebook: Path) -> set[str]:
    source = "\n".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code")
    keys = set(re.findall(r'record\(f?"([a-z0-9_]+)"', source))
    if 'record(f"ch8_{name.split()[0]}"' in source:
        keys |= {"ch8_centre", "ch8_ten"}
    if "record(f\"ablation_{r['key']}\"" in source:
        keys |= {f"ablation_{e.key}" for e in ablations.EXPERIMENTS}
    return keys


def test_every_pasted_number_is_recorded_by_its_chapter():
    refs = re.findall(r"\{glue\}`\.\./(notebooks/[^`:]+\.ipynb)::([a-z0-9_]+)`", PAGE.read_text())
    assert len(refs) >= 15
    for notebook, key in refs:
        path = ROOT / notebook
        assert path.exists(), notebook
        assert key in recorded_keys(path), f"{notebook} records no {key!r}"


def test_record_returns_its_text_and_needs_no_book():
    assert display.record("a_key", "12.5%") == "12.5%"  # outside a notebook it only returns the text


def test_summarize_means_spreads_and_standard_errors():
    base, other = ablations.EXPERIMENTS[0].name, ablations.EXPERIMENTS[3].name
    runs = [{"experiment": base, "val_top1_error": v, "train_top1_error": 0.5} for v in (0.40, 0.42, 0.44)]
    runs += [{"experiment": other, "val_top1_error": v, "train_top1_error": 0.3} for v in (0.46, 0.50, 0.48)]
    rows = ablations.summarize(runs)
    assert [r["experiment"] for r in rows] == [base, other] and [r["key"] for r in rows] == ["baseline", "dropout"]
    assert rows[0]["val_top1_error"] == pytest.approx(0.42) and rows[0]["val_std"] == pytest.approx(0.02)
    assert rows[1]["vs_baseline"] == pytest.approx(0.06)
    assert rows[1]["vs_baseline_se"] == pytest.approx((0.02**2 / 3 + 0.02**2 / 3) ** 0.5)


def test_the_study_runs_and_is_recorded(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("alexnet_lib.datasets.cache_dir", lambda: tmp_path / "cache")
    out = tmp_path / "ablations.json"
    assert ablations.main(["--seeds", "2", "--epochs", "1", "--profile", "smoke", "--only", "0,3", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert len(result["runs"]) == 4 and [r["key"] for r in result["summary"]] == ["baseline", "dropout"]
    assert result["base"]["epochs"] == 1 and result["seeds"] == 2
    assert ablations.main(["--seeds", "2", "--epochs", "1", "--profile", "smoke", "--only", "0", "--out", str(out)]) == 0
    assert "using the finished run" in capsys.readouterr().out  # a second call trains nothing


def test_the_recorded_study_is_complete():
    study = json.loads((ROOT / "src" / "alexnet_lib" / "results" / "ablations.json").read_text())
    assert [r["key"] for r in study["summary"]] == [e.key for e in ablations.EXPERIMENTS]
    assert all(r["runs"] == study["seeds"] >= 3 for r in study["summary"])

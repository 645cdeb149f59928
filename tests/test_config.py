"""alexnet_lib.config: settings outside their rules are refused, naming their flags."""

from __future__ import annotations

from dataclasses import fields

import pytest

from alexnet_lib import train
from alexnet_lib.config import Config, TrainError


@pytest.mark.parametrize("name", [f.name for f in fields(Config) if f.metadata["choices"] and f.name != "recipe"])
def test_a_value_outside_a_setting_s_choices_is_refused_naming_its_flag(name):
    with pytest.raises(TrainError, match=f"--{name.replace('_', '-')} must be one of"):
        Config(**{name: "nonsense"}).check()


@pytest.mark.parametrize(("flags", "message"), [
    (["--lr", "-0.1"], "--lr must be a positive number, got -0.1"),
    (["--momentum", "1.5"], "--momentum must be below 1"),
    (["--momentum", "-0.5"], "--momentum must be a number of at least 0"),
    (["--workers", "-2"], "--workers must be a whole number of at least 0, got -2"),
    (["--batch-size", "0"], "--batch-size must be a whole number of at least 1, got 0"),
    (["--epochs", "0"], "--epochs must be a whole number of at least 1, got 0"),
    (["--weight-decay", "nan"], "--weight-decay must be a number of at least 0"),
    (["--val-split", "1.5"], "--val-split must be between 0 and 1"),
    (["--image-size", "0"], "--image-size must be a whole number of at least 1"),
    (["--dropout", "1"], "--dropout must be in \\[0, 1\\)"),
    (["--accumulate", "0"], "--accumulate must be a whole number of at least 1"),
])
def test_nonsense_on_the_command_line_is_explained(tmp_path, capsys, flags, message):
    assert train.main(["--no-progress", "--checkpoint-dir", str(tmp_path / "x"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("alexnet-train: error: ")
    assert __import__("re").search(message, err), err
    assert not (tmp_path / "x").exists()

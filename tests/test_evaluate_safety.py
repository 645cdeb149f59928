"""alexnet-eval with bad arguments: a one-line error, checked before the evaluation (issue 26)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from alexnet_lib import checkpoints, datasets, evaluate, pretrained, train
from alexnet_lib.config import Config
from helpers import make_folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("eval")
    root = make_folder(tmp / "folders", classes=("a", "b", "c"), per_class=4)
    train.train(Config(dataset="imagefolder", data=str(root), model="small", width=0.25, image_size=32,
                       batch_size=4, epochs=1, max_steps=1, progress=False, checkpoint_dir=str(tmp / "run")))
    return root, tmp / "run" / checkpoints.CHECKPOINT


def eval_error(capsys, *args: str) -> str:
    device = [] if "--device" in args else ["--device", "cpu"]
    code = evaluate.main([*args, "--no-progress", *device])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("alexnet-eval: error: ") and "Traceback" not in err, (code, err)
    return err


@pytest.mark.parametrize("size", ["0", "-3"])
def test_batch_size_must_be_positive(trained, capsys, size):
    assert "--batch-size" in eval_error(capsys, "--checkpoint", str(trained[1]), "--batch-size", size)


def test_output_into_a_missing_folder_is_found_first(trained, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(evaluate, "evaluate_model", lambda *a, **k: pytest.fail("evaluated before checking --output"))
    err = eval_error(capsys, "--checkpoint", str(trained[1]), "--output", str(tmp_path / "missing" / "r.json"))
    assert "--output" in err


def test_data_with_other_classes_is_refused_by_name(trained, capsys, tmp_path):
    other = make_folder(tmp_path / "two", classes=("a", "b"), per_class=2)
    err = eval_error(capsys, "--checkpoint", str(trained[1]), "--data", str(other))
    assert "'c'" in err


def test_a_checkpoint_that_does_not_fit_its_settings(trained, capsys, tmp_path):
    payload = torch.load(trained[1], weights_only=True)
    payload["config"]["width"] = 0.5  # weights of one size, settings of another
    path = tmp_path / "odd.pt"
    torch.save(payload, path)
    assert "does not fit" in eval_error(capsys, "--checkpoint", str(path))


def test_a_folder_or_missing_file_as_checkpoint(capsys, tmp_path):
    assert "no checkpoint" in eval_error(capsys, "--checkpoint", str(tmp_path / "none.pt"))
    assert "checkpoint" in eval_error(capsys, "--checkpoint", str(tmp_path))


def test_a_corrupt_pretrained_file(capsys, tmp_path, monkeypatch):
    (tmp_path / pretrained.TORCHVISION_FILE).write_bytes(b"truncated")
    monkeypatch.setenv("ALEXNET_DATA_DIR", str(tmp_path))
    root = make_folder(tmp_path / "imagenet", classes=("n01",), per_class=1)
    err = eval_error(capsys, "--pretrained", "--data", str(root))
    assert "SHA-256" in err


def test_an_unknown_device(trained, capsys):
    assert "device" in eval_error(capsys, "--checkpoint", str(trained[1]), "--device", "tpu")


def test_the_result_is_still_written(trained, capsys, tmp_path):
    out = tmp_path / "r.json"
    assert evaluate.main(["--checkpoint", str(trained[1]), "--no-progress", "--device", "cpu", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["images"] == 12
    assert datasets  # imported for the fixtures' data policy

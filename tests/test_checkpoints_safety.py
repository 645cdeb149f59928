"""A run's folder: one run at a time, checked before training, cleared by --overwrite, and
checkpoints that know their classes (issue 26)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from alexnet_lib import checkpoints, evaluate, experiments, train
from alexnet_lib.config import Config, TrainError
from helpers import ONE_EPOCH, make_folder

pytestmark = pytest.mark.usefixtures("own_cache")


def run(folder: Path, **changes) -> list:
    return train.train(Config(**{**ONE_EPOCH, "checkpoint_dir": str(folder), **changes}))


# --- 2: one run per folder ------------------------------------------------------------------


def test_a_second_run_into_a_busy_folder_is_refused(tmp_path):
    folder = tmp_path / "run"
    with checkpoints.RunLock(folder):
        with pytest.raises(TrainError, match="another run .*process %d.* is using" % os.getpid()):
            run(folder, overwrite=True)
        with pytest.raises(TrainError, match="another run"):
            checkpoints.RunLock(folder).acquire()
    run(folder)  # free again
    assert not (folder / checkpoints.LOCK).exists()


def test_a_lock_left_by_a_killed_run_is_taken_over(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    # a process that takes the lock and dies without releasing it (as under SIGKILL)
    code = ("import os, sys; from pathlib import Path; from alexnet_lib import checkpoints; "
            f"checkpoints.RunLock(Path({str(folder)!r})).acquire(); os._exit(0)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert (folder / checkpoints.LOCK).exists()
    run(folder)
    assert (folder / checkpoints.CHECKPOINT).exists() and not (folder / checkpoints.LOCK).exists()


def test_two_runs_at_once_cannot_both_succeed(tmp_path):
    folder = tmp_path / "run"
    args = [sys.executable, "-m", "alexnet_lib.train", "--dataset", "synthetic", "--synthetic-size", "2048",
            "--batch-size", "16", "--epochs", "3", "--no-progress", "--checkpoint-dir", str(folder)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 120
        while not (folder / checkpoints.LOCK).exists() and time.time() < deadline:
            time.sleep(0.05)
        second = subprocess.run([*args, "--overwrite"], capture_output=True, text=True, env=env, timeout=300)
        assert first.poll() is None, "the first run ended before the second started: make it longer"
        assert second.returncode == 2, second.stderr
        assert "another run (process %d" % first.pid in second.stderr and "Traceback" not in second.stderr
    finally:
        first.kill()
        first.wait(timeout=60)


# --- 4: the folder is checked before training ----------------------------------------------


@pytest.mark.parametrize("kind", ["a file", "inside a file", "empty name"])
def test_a_checkpoint_folder_that_cannot_be_used_is_found_before_training(tmp_path, monkeypatch, kind, capsys):
    trained = []
    monkeypatch.setattr(train, "train_one_epoch", lambda *a, **k: trained.append(1))
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    folder = {"a file": str(blocker), "inside a file": str(blocker / "run"), "empty name": ""}[kind]
    assert train.main(["--no-progress", "--synthetic-size", "64", "--checkpoint-dir", folder]) == 2
    err = capsys.readouterr().err
    assert err.startswith("alexnet-train: error: --checkpoint-dir") and "Traceback" not in err, err
    assert not trained


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_checkpoint_folder_is_found_before_training(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(TrainError, match="--checkpoint-dir .* cannot be written"):
            run(folder)
    finally:
        folder.chmod(0o700)


def test_a_failed_start_leaves_no_empty_folder(tmp_path):
    with pytest.raises(TrainError):
        run(tmp_path / "new", dataset="imagefolder")  # no --data
    assert not (tmp_path / "new").exists()


# --- 5: --overwrite starts from an empty folder ---------------------------------------------


def test_overwrite_removes_the_old_run_s_results(tmp_path):
    folder = tmp_path / "run"
    run(folder, epochs=2)
    assert checkpoints.load_test(folder) and len(checkpoints.load_history(folder)) == 2
    run(folder, overwrite=True, max_steps=1)  # stopped before the end of its first epoch
    assert not (folder / checkpoints.TEST_RESULT).exists() and not (folder / "metrics.csv").exists()
    with pytest.raises(TrainError, match="no metrics"):
        checkpoints.load_history(folder)
    assert torch.load(folder / checkpoints.CHECKPOINT, weights_only=True)["state"]["step"] == 1


def test_resume_and_overwrite_together_are_refused(tmp_path):
    with pytest.raises(TrainError, match="--resume and --overwrite"):
        run(tmp_path / "run", resume=True, overwrite=True)


# --- 6: the classes travel with the weights -------------------------------------------------


def test_the_checkpoint_names_its_classes(tmp_path):
    folder = tmp_path / "run"
    run(folder)
    identity = checkpoints.read_checkpoint(folder / checkpoints.CHECKPOINT)["identity"]
    assert identity["class_names"] == [f"class {k}" for k in range(10)]


def _folder_run(tmp_path: Path, classes=("cat", "dog", "fox")) -> tuple[Path, Path]:
    data = make_folder(tmp_path / "images", classes=classes, per_class=4)
    folder = tmp_path / "run"
    train.train(Config(dataset="imagefolder", data=str(data), model="small", width=0.25, image_size=32, batch_size=4,
                       epochs=1, max_steps=1, progress=False, checkpoint_dir=str(folder)))
    return data, folder


def _rename(data: Path, renames: dict[str, str]) -> None:
    for split in ("train", "val"):
        for old, new in renames.items():
            (data / split / old).rename(data / split / f"{new}.tmp")
        for new in renames.values():
            (data / split / f"{new}.tmp").rename(data / split / new)


def test_resume_refuses_a_renamed_class(tmp_path):
    data, folder = _folder_run(tmp_path)
    _rename(data, {"cat": "zebra"})  # sorted, the folders are now dog, fox, zebra: every label would move
    with pytest.raises(TrainError, match="missing: 'cat'; new: 'zebra'"):
        train.train(Config(dataset="imagefolder", data=str(data), model="small", width=0.25, image_size=32,
                           batch_size=4, epochs=1, progress=False, checkpoint_dir=str(folder), resume=True))


def test_the_same_classes_in_another_order_are_refused():
    payload = {"identity": {"class_names": ["cat", "dog", "fox"]}}
    with pytest.raises(TrainError, match="another order.*class 0 was 'cat' and is now 'dog'"):
        checkpoints.check_classes(payload, ["dog", "cat", "fox"], "x.pt")
    checkpoints.check_classes(payload, ("cat", "dog", "fox"), "x.pt")
    checkpoints.check_classes({"identity": {}}, ["anything"], "old.pt")  # written before names were kept


def test_resume_refuses_other_class_names(tmp_path):
    data, folder = _folder_run(tmp_path)
    _rename(data, {"fox": "owl"})
    with pytest.raises(TrainError, match="'fox'.*'owl'"):
        train.train(Config(dataset="imagefolder", data=str(data), model="small", width=0.25, image_size=32,
                           batch_size=4, epochs=1, progress=False, checkpoint_dir=str(folder), resume=True))


def test_evaluation_refuses_renamed_classes(tmp_path, capsys):
    data, folder = _folder_run(tmp_path)
    other = tmp_path / "renamed"
    shutil.copytree(data, other)
    _rename(other, {"cat": "ant"})
    code = evaluate.main(["--checkpoint", str(folder / checkpoints.CHECKPOINT), "--data", str(other),
                          "--no-progress", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("alexnet-eval: error: ") and "'cat'" in err and "'ant'" in err, err
    assert evaluate.main(["--checkpoint", str(folder / checkpoints.CHECKPOINT), "--data", str(data),
                          "--no-progress", "--device", "cpu"]) == 0


def _old_format(path: Path) -> None:
    """A checkpoint as the trainer wrote it before class names were kept (git HEAD at issue 26)."""
    payload = torch.load(path, weights_only=True)
    payload["identity"] = {k: payload["identity"][k] for k in ("model", "num_classes", "dataset")}
    torch.save(payload, path)


def test_checkpoints_without_class_names_still_load_resume_and_evaluate(tmp_path, capsys):
    data, folder = _folder_run(tmp_path)
    path = folder / checkpoints.CHECKPOINT
    _old_format(path)
    assert "class_names" not in checkpoints.read_checkpoint(path)["identity"]
    model, cfg, classes = experiments.load_model(folder)
    assert classes == 3
    assert evaluate.main(["--checkpoint", str(path), "--no-progress", "--device", "cpu"]) == 0
    train.train(Config(dataset="imagefolder", data=str(data), model="small", width=0.25, image_size=32, batch_size=4,
                       epochs=1, progress=False, checkpoint_dir=str(folder), resume=True))
    assert checkpoints.read_checkpoint(path)["identity"]["class_names"] == ["cat", "dog", "fox"]


def test_checkpoint_written_by_the_code_before_issue_26_loads(tmp_path, monkeypatch):
    """The real thing: a checkpoint written by checkpoints.py as it is in git HEAD, where there is one."""
    root = Path(__file__).resolve().parents[1]
    old = subprocess.run(["git", "show", "HEAD:src/alexnet_lib/checkpoints.py"], cwd=root, capture_output=True,
                         text=True)
    if old.returncode != 0 or "class_names" in old.stdout:
        pytest.skip("no git HEAD from before issue 26 here")
    import types

    from alexnet_lib.models import AlexNet

    head = types.ModuleType("alexnet_lib._checkpoints_at_head")
    head.__package__ = "alexnet_lib"
    monkeypatch.setitem(sys.modules, head.__name__, head)  # dataclasses look their module up
    exec(compile(old.stdout, "checkpoints.py at HEAD", "exec"), head.__dict__)  # noqa: S102 (our own file)
    cfg = Config(model="small", width=0.25).check()
    model = AlexNet(num_classes=10, variant="small", width=0.25)
    path = tmp_path / "run" / checkpoints.CHECKPOINT
    head.save_checkpoint(path, model, torch.optim.SGD(model.parameters(), lr=0.1), head.State(), cfg, 10)
    assert "class_names" not in checkpoints.read_checkpoint(path)["identity"]
    model, cfg, classes = experiments.load_model(path.parent)
    assert classes == 10


def test_metrics_of_a_run_are_json(tmp_path):
    folder = tmp_path / "run"
    run(folder)
    assert json.loads((folder / "metrics.json").read_text())[0]["epoch"] == 1


def test_a_checkpoint_with_renamed_settings_values_loads_and_resumes(tmp_path):
    """Runs saved before LRN's readings were renamed ('code', 'text') load, resume and evaluate."""
    folder = tmp_path / "run"
    run(folder, model="paper", width=0.1, image_size=67, max_steps=1, epochs=2)
    path = folder / checkpoints.CHECKPOINT
    payload = torch.load(path, weights_only=True)
    payload["config"]["lrn"] = "code"
    torch.save(payload, path)
    assert checkpoints.read_checkpoint(path)["config"]["lrn"] == "cuda-convnet2"
    model, cfg, classes = experiments.load_model(folder)
    assert cfg.lrn == "cuda-convnet2"
    run(folder, model="paper", width=0.1, image_size=67, epochs=2, resume=True)
    assert len(checkpoints.load_history(folder)) == 2
    assert Config(lrn="text").check().lrn == "printed"

"""The execution profile switch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import alexnet_lib
from alexnet_lib import profiles


def test_env_var_overrides(monkeypatch):
    for name in profiles.PROFILES:
        monkeypatch.setenv("ALEXNET_PROFILE", name.upper())
        p = profiles.current_profile()
        assert p.name == name and "ALEXNET_PROFILE" in p.reason


def test_automatic_choice_follows_cuda(monkeypatch):
    monkeypatch.delenv("ALEXNET_PROFILE", raising=False)
    monkeypatch.setattr(profiles, "_cuda_available", lambda: False)
    assert profiles.current_profile().name == "cpu"
    monkeypatch.setattr(profiles, "_cuda_available", lambda: True)
    assert profiles.current_profile().name == "gpu"


def test_unknown_profile_names_the_choices(monkeypatch):
    monkeypatch.setenv("ALEXNET_PROFILE", "fast")
    with pytest.raises(ValueError, match="'fast' is not a profile; use one of smoke, cpu, gpu"):
        profiles.current_profile()


def test_pick():
    smoke = profiles.Profile("smoke", "", "cpu")
    cpu = profiles.Profile("cpu", "", "cpu")
    gpu = profiles.Profile("gpu", "", "cuda")
    assert [p.pick(smoke=1, cpu=2, gpu=3) for p in (smoke, cpu, gpu)] == [1, 2, 3]
    assert gpu.pick(smoke=1, cpu=2) == 2


def test_test_sizes_keep_the_profile_and_its_downloads_but_pick_the_smoke_sizes(monkeypatch):
    """ALEXNET_TEST_SIZES=smoke (the student-path test): the cpu profile's data and code paths,
    the smoke profile's sizes, and the reason says so."""
    monkeypatch.setenv("ALEXNET_PROFILE", "cpu")
    monkeypatch.delenv("ALEXNET_NO_DOWNLOAD", raising=False)
    monkeypatch.setenv("ALEXNET_TEST_SIZES", "smoke")
    p = profiles.current_profile()
    assert (p.name, p.is_smoke, p.downloads, p.smoke_sizes) == ("cpu", False, True, True)
    assert p.pick(smoke=1, cpu=2, gpu=3) == 1
    assert "ALEXNET_TEST_SIZES=smoke" in p.reason
    monkeypatch.setenv("ALEXNET_PROFILE", "gpu-smoke")
    assert profiles.current_profile().reason == "set by ALEXNET_PROFILE"  # its sizes are smoke already
    monkeypatch.delenv("ALEXNET_TEST_SIZES")
    monkeypatch.setenv("ALEXNET_PROFILE", "cpu")
    assert profiles.current_profile().pick(smoke=1, cpu=2) == 2


def test_test_sizes_other_than_smoke_are_refused(monkeypatch):
    monkeypatch.setenv("ALEXNET_TEST_SIZES", "tiny")
    with pytest.raises(ValueError, match="ALEXNET_TEST_SIZES='tiny': its only value is 'smoke'.*unset it"):
        profiles.current_profile()


def test_setup_prints_profile_device_and_version(monkeypatch, capsys):
    monkeypatch.setenv("ALEXNET_PROFILE", "smoke")
    p = alexnet_lib.setup()
    out = capsys.readouterr().out
    assert p.name == "smoke"
    assert f"alexnet_lib {alexnet_lib.__version__}" in out
    assert "profile: smoke" in out and "device: " in out


def test_setup_seeds(monkeypatch):
    import numpy as np
    import torch

    monkeypatch.setenv("ALEXNET_PROFILE", "smoke")
    alexnet_lib.setup(seed=3, quiet=True)
    a = (np.random.rand(), torch.rand(1).item())
    alexnet_lib.setup(seed=3, quiet=True)
    assert (np.random.rand(), torch.rand(1).item()) == a


def test_progress_bars_follow_tqdm_disable(monkeypatch):
    from alexnet_lib.profiles import progress_bars_off

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert not progress_bars_off()
    for value in ("1", "true", "TRUE"):
        monkeypatch.setenv("TQDM_DISABLE", value)
        assert progress_bars_off()
    monkeypatch.setenv("TQDM_DISABLE", "0")
    assert not progress_bars_off()


def test_drive_cache_is_opt_in_and_mounts_only_in_colab(monkeypatch, capsys, tmp_path):
    import sys
    import types

    monkeypatch.setenv("ALEXNET_PROFILE", "smoke")
    monkeypatch.delenv("ALEXNET_CACHE_DIR", raising=False)
    profiles.setup(drive=True)  # not in Colab: nothing mounted, the cache stays
    assert "Colab only" in capsys.readouterr().out and "ALEXNET_CACHE_DIR" not in os.environ

    mounted = []
    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mounted.append)
    colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: None)
    google = types.ModuleType("google")
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(profiles, "DRIVE_CACHE", str(tmp_path / "MyDrive" / "alexnet-book-cache"))
    profiles.setup()  # in Colab, not asked: nothing mounted
    assert mounted == [] and "ALEXNET_CACHE_DIR" not in os.environ
    profiles.setup(drive=True)
    assert mounted == [profiles.DRIVE_MOUNT]
    assert os.environ["ALEXNET_CACHE_DIR"] == profiles.DRIVE_CACHE and Path(profiles.DRIVE_CACHE).is_dir()
    assert "(Google Drive)" in capsys.readouterr().out
    monkeypatch.delenv("ALEXNET_CACHE_DIR")


def test_the_cpu_and_gpu_profiles_download_unless_the_reader_says_no(monkeypatch):
    monkeypatch.delenv(profiles.NO_DOWNLOAD_VAR, raising=False)
    wants = {"smoke": False, "cpu": True, "gpu": True, "gpu-smoke": False}
    assert {n: profiles.Profile(n, "test", "cpu").downloads for n in profiles.PROFILES} == wants
    for value, allowed in (("1", False), ("yes", False), ("0", True), ("", True), ("false", True)):
        monkeypatch.setenv(profiles.NO_DOWNLOAD_VAR, value)
        assert profiles.Profile("cpu", "test", "cpu").downloads is allowed, value


def test_setup_says_what_happens_to_missing_data(monkeypatch, capsys):
    monkeypatch.setenv("ALEXNET_PROFILE", "cpu")
    monkeypatch.delenv(profiles.NO_DOWNLOAD_VAR, raising=False)
    profiles.setup(seed=None)
    out = capsys.readouterr().out
    assert "a missing dataset is downloaded" in out and profiles.NO_DOWNLOAD_VAR in out
    monkeypatch.setenv(profiles.NO_DOWNLOAD_VAR, "1")
    profiles.setup(seed=None)
    out2 = capsys.readouterr().out
    assert "no downloads" in out2 and "generated images stand in" in out2
    assert all(len(line) <= 80 for line in (out + out2).splitlines())

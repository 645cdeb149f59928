"""The benchmark runs and reports what it promises (its numbers are not asserted here)."""

from __future__ import annotations

import json

import pytest

from alexnet_lib import bench
from helpers import photo


def test_alexnet_layer_shapes_chain():
    sizes = [layer.out_size for layer in bench.ALEXNET_CONV_LAYERS]
    assert sizes == [55, 27, 13, 13, 13]
    assert [layer.out_channels for layer in bench.ALEXNET_CONV_LAYERS] == [96, 256, 384, 384, 256]
    # the paper's towers: conv2, conv4 and conv5 see only their own GPU's half of the channels
    assert [layer.groups for layer in bench.ALEXNET_CONV_LAYERS] == [1, 2, 1, 2, 2]


def test_conv_benchmark_json(capsys):
    assert bench.main(["conv", "--batch", "1", "--repeats", "1", "--settle", "0", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [layer["name"] for layer in result["layers"]] == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    for key in ("ratio_fwd", "ratio_fwd_bwd"):
        assert result[key] > 0
    assert result["small_layer"]["naive_over_im2col"] > 1
    assert set(result["targets_met"]) == {"ratio_fwd", "ratio_fwd_bwd", "naive_over_im2col", "best_fwd",
                                          "best_conv3_to_conv5"}
    assert result["machine"]["threads"] >= 1
    by_name = {layer["name"]: layer for layer in result["layers"]}
    assert set(by_name["conv3"]["forward_seconds"]) == {"im2col", "winograd2", "winograd4", "fft"}
    assert set(by_name["conv1"]["forward_seconds"]) == {"im2col", "fft"}  # 11x11 at stride 4: no Winograd
    m = by_name["conv3"]["multiplications"]
    assert m["im2col"] > m["winograd2"] > m["winograd4"]
    assert result["best_ratio_fwd"] > 0 and result["best_ratio_conv3_to_conv5"] > 0


def test_the_strided_fft_can_be_left_out():
    """Chapter 2's run leaves out the FFT at conv1's stride 4 (seconds a batch), and only there."""
    result = bench.bench_conv(batch=1, repeats=1, small_repeats=1, settle=0.0, algorithms=("im2col", "fft"),
                              strided_fft=False)
    by_name = {layer["name"]: layer for layer in result["layers"]}
    assert set(by_name["conv1"]["forward_seconds"]) == {"im2col"}
    assert set(by_name["conv2"]["forward_seconds"]) == {"im2col", "fft"}


def test_text_report(capsys):
    bench.main(["conv", "--batch", "1", "--repeats", "1", "--threads", "1", "--settle", "0"])
    out = capsys.readouterr().out
    assert "conv5" in out and "targets:" in out and "1 thread(s)" in out


def test_bad_arguments():
    with pytest.raises(SystemExit):
        bench.main(["conv", "--batch", "0"])
    with pytest.raises(SystemExit):
        bench.main([])
    with pytest.raises(SystemExit):
        bench.main(["conv", "--algorithms", "im2col,magic"])


def test_stage_times_add_up_to_the_whole():
    import time

    def run(mark):  # far apart, so that a loaded machine's late wake-ups cannot swap them
        time.sleep(0.5)
        mark("first")
        time.sleep(0.01)
        mark("second")

    times = bench.stage_times(run, repeats=2, warmup=0, settle=0.0)
    assert list(times) == ["first", "second", "whole"]
    assert times["first"] > times["second"] > 0
    assert times["first"] + times["second"] == pytest.approx(times["whole"], rel=0.2)


def test_stages_benchmark(capsys):
    assert bench.main(["stages", "--batch", "1", "--repeats", "1", "--settle", "0", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["layer"]["name"] == "conv3" and set(result["seconds"]) == {"im2col", "winograd4"}
    wino = result["seconds"]["winograd4"]
    assert list(wino) == ["padding, channels innermost", "copying the input into tiles",
                          "transforming the input tiles", "transforming the kernels", "the multiplications",
                          "transforming the output tiles", "putting the output tiles together", "the rest (the bias)",
                          "whole"]
    from alexnet_lib.bench.conv import STAGE_ORDER  # the order the table shows: every stage is in it
    assert set(STAGE_ORDER) >= set(wino) - {"whole"} and set(STAGE_ORDER) >= set(result["seconds"]["im2col"]) - {"whole"}
    assert "copying the input into columns" in result["seconds"]["im2col"]
    assert result["multiplications"]["im2col"] > result["multiplications"]["winograd4"]
    bench.main(["stages", "--batch", "1", "--repeats", "1", "--settle", "0"])
    assert "the multiplications" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench.main(["stages", "--layer", "conv1"])
    assert "3x3 layers" in capsys.readouterr().err


def test_best_time_is_the_fastest_run():
    from itertools import count

    from alexnet_lib.bench.timing import best_time

    calls = count()
    waits = iter((0.5, 0.0, 0.4))

    def work(tag):
        next(calls)
        import time

        time.sleep(next(waits))
        assert tag == "x"

    seconds = best_time(work, "x", repeat=3)
    assert next(calls) == 3 and seconds < 0.4  # the run that did not sleep


# --- the data and training benchmarks ----------------------------------------------------


def test_data_benchmark_json(tmp_path, capsys):
    for i in range(6):
        photo((300, 260), seed=i).save(tmp_path / f"p{i}.JPEG")
    assert bench.main(["data", "--images", str(tmp_path), "--workers", "0", "--repeats", "1", "--passes", "1",
                       "--batch", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 6 and result["ratio"] > 0 and set(result["images_per_second"]) == {"classic", "ours"}
    assert (result["passes"], result["repeats"]) == (1, 1)  # the conditions travel with the numbers


def test_data_benchmark_without_images(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main(["data", "--images", str(tmp_path)])
    assert "holds no" in capsys.readouterr().err


def test_train_benchmark_json(tmp_path, capsys):
    for i in range(5):
        photo((90, 70), seed=i).save(tmp_path / f"n0{i}_photo.JPEG")
    assert bench.main(["train", "--images", str(tmp_path), "--device", "cpu", "--width", "0.1", "--image-size", "24",
                       "--batch", "4", "--steps", "2", "--warmup", "1", "--repeats", "1", "--workers", "0",
                       "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["images_per_second"]) == {"reference", "plain", "fast", "fast_fp32"}
    assert result["classes"] == 5 and result["device"] == "cpu" and result["predecode_seconds"] >= 0
    assert all(v > 0 for v in result["images_per_second"].values())
    assert set(result["targets_met"]) == {"plain", "fast"}
    assert bench.main(["train", "--images", str(tmp_path), "--device", "cpu", "--width", "0.1", "--image-size", "24",
                       "--batch", "4", "--steps", "1", "--warmup", "1", "--repeats", "1", "--workers", "0",
                       "--modes", "plain"]) == 0
    assert "ours, plain" in capsys.readouterr().out


def test_train_benchmark_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main(["train", "--images", str(tmp_path), "--device", "cpu"])
    assert "holds no" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["train", "--modes", "turbo", "--images", str(tmp_path)])
    assert "unknown modes" in capsys.readouterr().err


def test_the_package_names_every_benchmark_and_a_convolution_chapter_needs_no_torchvision():
    """``alexnet_lib.bench`` (and ``alexnet_lib.widgets``) give each name from its module when first
    asked for: Chapters 1, 2 and 4 time convolutions (and Chapter 1 slides a filter) without
    importing torchvision (and torch._dynamo with it)."""
    import subprocess
    import sys

    code = ("import sys\nfrom alexnet_lib import bench\nfrom alexnet_lib.bench.timing import best_time\n"
            "from alexnet_lib.widgets import SlidingFilterExplorer\n"
            "bench.SMALL_LAYER, bench.bench_conv, bench.median_interleaved\n"
            "assert 'torchvision' not in sys.modules, 'torchvision imported'\n"
            "for name in bench.__all__:\n    getattr(bench, name)\n"
            "assert set(bench.__all__) <= set(dir(bench))\n"
            "try:\n    bench.no_such_benchmark\nexcept AttributeError as e:\n    print(e)\n"
            "from alexnet_lib import widgets\nfor name in widgets.__all__:\n    getattr(widgets, name)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "has no attribute 'no_such_benchmark'" in done.stdout


def test_a_benchmark_keeps_to_omp_num_threads_where_it_is_set(monkeypatch):
    """Timed beside other work (the tests' stages), a benchmark must not spin a thread per CPU."""
    import os

    from alexnet_lib.machine import benchmark_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert benchmark_threads() == 1
    assert bench.bench_stages("conv5", batch=1, repeats=1, settle=0.0)["machine"]["threads"] == 1
    for unset in ("", "0", "two"):
        monkeypatch.setenv("OMP_NUM_THREADS", unset)
        assert benchmark_threads() == (os.cpu_count() or 1)
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert benchmark_threads() == (os.cpu_count() or 1)

"""The Figure 1 machinery, on small generated data (the real runs are in Chapter 3)."""

from __future__ import annotations

import json

import pytest
import torch

from alexnet_lib import datasets, figure1


@pytest.fixture(scope="module")
def tiny():
    return figure1.to_tensors(datasets.synthetic_images(512, 32, 4, seed=0))


def test_network_shapes_and_inits():
    for convs in (1, 2):
        model = figure1.four_layer_cnn("tanh", width=4, convs_per_stage=convs)
        assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
        n_weighted = sum(isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) for m in model.modules())
        assert n_weighted == 3 * convs + 1
    paper = figure1.four_layer_cnn("relu", width=8, init="paper")
    conv = paper[0]
    assert abs(conv.weight.std().item() - 0.01) < 0.002 and conv.bias.abs().max() == 0
    with pytest.raises(ValueError, match="activation must be one of"):
        figure1.four_layer_cnn("sigmoid")
    with pytest.raises(ValueError, match="init must be"):
        figure1.four_layer_cnn("relu", init="xavier")


def test_to_tensors_standardises_channels(tiny):
    x, y = tiny
    assert x.shape == (512, 3, 32, 32) and y.dtype == torch.int64
    assert torch.allclose(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(x.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-3)


def test_training_reaches_the_target_and_records_epochs(tiny):
    x, y = tiny
    run = figure1.train_to_error(x, y, "relu", 0.01, target=0.3, max_epochs=10, width=8, batch_size=32)
    assert run.epochs_to_target is not None and run.epochs_to_target == len(run.errors)
    assert run.errors[-1] < 0.3 and run.seconds == sorted(run.seconds)
    again = figure1.train_to_error(x, y, "relu", 0.01, target=0.3, max_epochs=10, width=8, batch_size=32)
    assert again.errors == run.errors  # seeded


def test_divergence_stops_the_run(tiny):
    x, y = tiny
    run = figure1.train_to_error(x, y, "relu", 1e30, max_epochs=5, width=4, batch_size=64)
    assert run.errors[-1] == 1.0 and run.epochs_to_target is None


def test_lr_search_prefers_the_faster_rate(tiny):
    x, y = tiny
    found = figure1.lr_search(x, y, [1e-5, 0.01], activations=("relu",), max_epochs=4, target=0.3,
                              width=8, batch_size=32)
    assert found["best_lr"] == {"relu": 0.01}
    assert json.dumps(found)  # serialisable, as recorded


def test_summary_and_speedup():
    relu = [figure1.RunResult("relu", 0.1, s, errors=[0.5, 0.2], seconds=[1.0, 2.0]) for s in range(2)]
    tanh = [figure1.RunResult("tanh", 0.1, s, errors=[0.5, 0.4, 0.3, 0.2], seconds=[1, 2, 3, 4.0]) for s in range(2)]
    r, t = figure1.run_summary(relu), figure1.run_summary(tanh)
    assert r["mean_epochs"] == 2 and t["mean_epochs"] == 4 and figure1.speedup(r, t) == 2
    never = figure1.run_summary([figure1.RunResult("tanh", 0.1, 0, errors=[0.5, 0.4], seconds=[1, 2.0])])
    assert never["reached"] == 0 and figure1.speedup(r, never) is None


def test_recorded_results_load_or_explain():
    with pytest.raises(FileNotFoundError, match="python -m alexnet_lib.figure1"):
        figure1.load_results("no_such_results")


def test_give_up_stops_hopeless_runs(tiny):
    x, y = tiny
    run = figure1.train_to_error(x, y, "relu", 1e-6, max_epochs=10, width=4, batch_size=64, give_up=(2, 0.5))
    assert len(run.errors) == 2 and run.epochs_to_target is None
    assert run.settings["give_up"] == (2, 0.5)


def test_pixel_scale_inputs_keep_their_units():
    data = datasets.synthetic_images(64, 32, 4, seed=1)
    x, _ = figure1.to_tensors(data, standardise=False)
    assert torch.allclose(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-3)
    assert x.std() > 10  # pixel units, not standardised

"""alexnet_lib.widgets: the explorers' Python side (the browser side is tested in test_browser.py)."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from alexnet_lib import filters, viz
from alexnet_lib.widgets import FeatureMapExplorer, SlidingFilterExplorer, explorer_image, square_image
from alexnet_lib.widgets import explorer as explorer_module
from helpers import small_model


def test_default_image_and_presets():
    e = SlidingFilterExplorer()
    assert np.array(e.image).shape == (16, 16)
    assert e.preset == "sobel x (vertical edges)"
    np.testing.assert_array_equal(e.kernel, filters.sobel_x())
    assert set(e.presets) == {"3", "5"}
    assert set(e.presets["5"]) == set(filters.PRESET_NAMES)
    assert 0.0 <= np.min(e.image) and np.max(e.image) <= 1.0


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (1, 1), (2, 0), (2, 1), (3, 2)])
def test_feature_map_matches_torch(stride, padding):
    image = np.random.default_rng(0).random((13, 11))
    kernel = np.random.default_rng(1).normal(size=(3, 3))
    e = SlidingFilterExplorer(image, kernel, stride=stride, padding=padding)
    ref = F.conv2d(
        torch.tensor(np.array(e.image))[None, None],
        torch.tensor(np.array(e.kernel))[None, None],
        stride=stride,
        padding=padding,
    )[0, 0].numpy()
    assert e.output_shape == ref.shape
    np.testing.assert_allclose(e.feature_map(), ref, atol=1e-12)
    i, j = e.window(7)
    assert e.value(7) == pytest.approx(ref[i, j])


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="at most 40x40.*downsample"):
        SlidingFilterExplorer(np.zeros((64, 64)))
    with pytest.raises(ValueError, match="kernel must be square"):
        SlidingFilterExplorer(kernel=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="image must be a non-empty 2-D array"):
        SlidingFilterExplorer(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        SlidingFilterExplorer(np.full((4, 4), np.nan))
    with pytest.raises(KeyError, match="unknown filter"):
        SlidingFilterExplorer(kernel="emboss")


def test_explorer_image_crop():
    assert explorer_image("coffee", size=12).shape == (12, 12)


def test_esm_and_css_ship_with_the_package():
    here = Path(explorer_module.__file__).parent
    assert (here / "explorer.js").read_text().count("export default") == 1
    assert (here / "explorer.css").exists()


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_javascript_arithmetic_matches_python(tmp_path):
    """The browser computes the feature map itself; check its `compute` against Python."""
    module = tmp_path / "explorer.mjs"
    module.write_text((Path(explorer_module.__file__).parent / "explorer.js").read_text())
    image = np.random.default_rng(2).random((9, 10)).round(3)
    kernel = np.random.default_rng(3).normal(size=(3, 3)).round(3)
    for stride, padding in [(1, 0), (2, 1), (3, 0)]:
        script = (
            f"import('{module.as_uri()}').then(m => console.log(JSON.stringify("
            f"m.compute({json.dumps(image.tolist())}, {json.dumps(kernel.tolist())}, {stride}, {padding}).out)))"
        )
        out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout
        e = SlidingFilterExplorer(image, kernel, stride=stride, padding=padding)
        np.testing.assert_allclose(np.array(json.loads(out)), e.feature_map(), atol=1e-9)


# --- the feature-map explorer ------------------------------------------------------------


def photo(seed: int, shape=(40, 50, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8)


def test_feature_map_explorer_carries_the_maps():
    model = small_model()
    prepare = lambda x: x.float() / 255  # noqa: E731
    ex = FeatureMapExplorer(model, [photo(0), photo(1)], ["a", "b"], size=28, prepare=prepare,
                            layers=("relu1", "relu5"))
    assert [im["name"] for im in ex.images] == ["a", "b"] and len(ex.maps) == 2 and ex.layers == ["relu1", "relu5"]
    first = ex.maps[0][0]
    assert (first["channels"], first["height"], first["width"]) == (16, 28, 28)
    expected = viz.activations(model, prepare(square_image(photo(0), 28)[None]), ["relu1"])["relu1"][0, 3]
    shown = ex.feature_map(0, 0, 3)
    if expected.max() > expected.min():
        stretched = (expected - expected.min()) / (expected.max() - expected.min()) * 255
        assert np.abs(shown.astype(float) - stretched.numpy()).max() <= 0.51
    ex.add_image(photo(2, (3, 30, 30)), "c")
    assert ex.image_index == 2 and len(ex.images) == 3
    with pytest.raises(ValueError, match="not feature maps"):
        FeatureMapExplorer(model, [photo(0)], ["a"], size=28, prepare=prepare, layers=("fc7",))
    with pytest.raises(ValueError, match="one name per image"):
        FeatureMapExplorer(model, [photo(0)], [], size=28, prepare=prepare)


def test_feature_map_explorer_upload():
    ex = FeatureMapExplorer(small_model(), [photo(0)], ["a"], size=28, prepare=lambda x: x.float() / 255)
    buffer = io.BytesIO()
    Image.fromarray(photo(5)).save(buffer, format="PNG")
    ex.upload = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    assert len(ex.images) == 2 and ex.image_index == 1 and ex.status == "your image was added"
    ex.upload = "data:image/png;base64," + base64.b64encode(b"not an image").decode()
    assert len(ex.images) == 2 and ex.status.startswith("could not read")
    with pytest.raises(ValueError, match="uint8"):
        square_image(np.zeros((10, 10, 3), dtype=np.float32), 8)

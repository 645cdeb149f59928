"""Chapter 9's ImageNet-network section, run with stand-in weights.

The chapter repeats its views (explorer, five best guesses, neighbours, occlusion) with
torchvision's pretrained AlexNet where its weights can be loaded. This machine has no
copy of them, so the book's build never executes that section; this test does, with a
randomly initialised network of the same variant in place of the download, so that the
cells run top to bottom and produce their figures and explorer.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "notebooks" / "09_what_the_network_learned.ipynb"

STAND_IN = '''
import torch
import alexnet_lib.pretrained
from alexnet_lib.models import AlexNet

def _stand_in(*args, **kwargs):
    """A randomly initialised torchvision-variant AlexNet in place of the ImageNet weights."""
    torch.manual_seed(0)
    return AlexNet(num_classes=1000, variant="torchvision").eval()

alexnet_lib.pretrained.load_torchvision_alexnet = _stand_in
'''


def _section(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    start = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## Extra: the same views of torchvision"))
    end = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## Summary"))
    return [c for c in nb.cells[start:end] if c.cell_type == "code"]


def _fallback_folder(folder: Path) -> Path:
    """A data folder with the CIFAR-10 subset (where there is one) and no ImageNet photos."""
    from alexnet_lib import datasets

    folder.mkdir()
    for root in datasets.search_roots():
        if (root / "cifar10_subset.npz").is_file():
            (folder / "cifar10_subset.npz").symlink_to(root / "cifar10_subset.npz")
            break
    return folder


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict[str, object]:
    """The chapter executed once (with the book's ImageNet photographs where this machine has
    them), then the section's cells once more with a data folder that has no ImageNet photos (as
    in Colab): ``{"book": cells, "fallback": cells, "nb": notebook}``. One kernel for both: the
    chapter's first part (training its network) is the same for both."""
    nbclient = pytest.importorskip("nbclient")
    work = tmp_path_factory.mktemp("chapter9")
    fallback = _fallback_folder(work / "fallback-data")
    nb = nbformat.read(CHAPTER, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(STAND_IN))
    book = _section(nb)
    switch = nbformat.v4.new_code_cell(f"import os\nos.environ['ALEXNET_DATA_DIR'] = {str(fallback)!r}")
    again = [nbformat.v4.new_code_cell(c.source) for c in book]
    nb.cells += [switch, *again]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALEXNET_PROFILE", "smoke")
        mp.setenv("TQDM_DISABLE", "1")
        # its own run cache: `make test` runs this beside the book build
        mp.setenv("ALEXNET_CACHE_DIR", str(work / "cache"))
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(CHAPTER.parent)}}).execute()
    return {"book": book, "fallback": again, "nb": nb}


@pytest.mark.parametrize("photos", ["book", "fallback"])
def test_the_imagenet_section_runs_with_a_network_of_that_variant(photos, executed):
    """With the book's ImageNet photographs, and (as in Colab, where they are missing) with
    scikit-image's few unlabelled photos in their place."""
    from alexnet_lib import datasets

    if photos == "book":
        try:
            datasets.load_imagenet_samples(limit=1)
        except datasets.DataNotFound:
            pytest.skip("the book's ImageNet photographs are not on this machine (ALEXNET_DATA_DIR)")
    nb = executed["nb"]
    section = executed[photos]
    assert len(section) == 7
    text = "\n".join(o.get("text", "") for c in section for o in c.outputs if o.output_type == "stream")
    assert "showing torchvision's ImageNet AlexNet" in text
    pictures = sum("image/png" in o.get("data", {}) for c in section for o in c.outputs)
    if photos == "book":
        assert "Not shown" not in text
        assert "a changed photo's nearest central patch is its own" in text and "random weights" in text
        assert pictures == 4  # kernels, five best, neighbours, occlusion
    else:  # five unlabelled photos: the views that need many labelled photos say so
        assert "scikit-image" in text and "no ImageNet labels" in text
        assert text.count("Not shown in this run: only 5 photos without ImageNet labels") == 2
        assert pictures == 3  # kernels, five best, occlusion

    views = [o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
             for c in section for o in c.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"][views[0]]["state"]
    assert [i["height"] for i in state["images"]] == [224] * 4
    assert [m["height"] for m in state["maps"][0]] == [55, 27, 13]  # relu1, relu2, relu5 at 224 pixels
    assert all("ImageNet network" in i["name"] for i in state["images"])


def test_without_the_weights_every_view_of_the_section_says_why(monkeypatch):
    """The book's own build (no weights): each cell prints that it shows nothing, and why."""
    nb = nbformat.read(CHAPTER, as_version=4)
    section = _section(nb)
    assert all("Not shown in this run" in c.source for c in section)

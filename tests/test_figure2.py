"""alexnet_lib.figure2: the paper's Figure 2, read off the model."""

from __future__ import annotations

from alexnet_lib import figure2
from alexnet_lib.models import AlexNet


def test_figure2_is_read_off_the_model():
    paper_stages = figure2.stages(AlexNet())
    assert [s.name for s in paper_stages] == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    assert [s.crosses for s in paper_stages] == [True, False, True, False, False, True, True, True]
    assert paper_stages[0].shape == (96, 27, 27) and paper_stages[0].then == ("LRN", "max pool")
    assert all(s.towers == 2 for s in paper_stages[:-1]) and paper_stages[-1].towers == 1
    one_tower = figure2.stages(AlexNet(variant="torchvision"), (3, 224, 224))
    assert all(s.towers == 1 for s in one_tower) and one_tower[1].shape == (192, 13, 13)
    import matplotlib

    matplotlib.use("Agg")
    assert figure2.draw(AlexNet(num_classes=10, variant="paper", width=0.25)).axes

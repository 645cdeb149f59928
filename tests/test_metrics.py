"""alexnet_lib.metrics: top-k error, the confusion matrix and the error per class."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alexnet_lib import evaluate, metrics
from alexnet_lib.evaluate import topk_error


def test_topk_error_by_hand():
    logits = np.array([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5], [0.3, 0.3, 0.4]])
    targets = np.array([2, 0, 0, 1])
    # ranks of the correct class: 1, 0, 2, 2 (last row: 0.4 is higher, and the tie with class 0 comes first)
    assert topk_error(logits, targets, ks=(1, 2, 3)) == {1: 0.75, 2: 0.5, 3: 0.0}


def test_topk_error_matches_torch_topk():
    torch.manual_seed(0)
    logits = torch.randn(500, 100)
    targets = torch.randint(0, 100, (500,))
    ours = topk_error(logits, targets)
    for k in (1, 5):
        top = logits.topk(k, dim=1).indices
        expected = 1 - (top == targets[:, None]).any(dim=1).float().mean().item()
        assert ours[k] == pytest.approx(expected)


def test_topk_error_errors():
    with pytest.raises(ValueError, match=r"each k must be an int from 1 to the number of classes \(3\)"):
        topk_error(np.zeros((2, 3)), np.array([0, 1]), ks=(5,))
    with pytest.raises(ValueError, match="targets must be in 0..2"):
        topk_error(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"targets must be \(2,\)"):
        topk_error(np.zeros((2, 3)), np.array([0]))
    with pytest.raises(TypeError, match="integer class indices"):
        topk_error(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_confusion_and_per_class_error():
    logits = torch.tensor([[2.0, 1, 0], [0, 2, 1], [2, 1, 0], [0, 1, 2]])
    targets = torch.tensor([0, 1, 1, 2])
    counts = evaluate.confusion_matrix(logits.argmax(1), targets, 3)
    assert counts.tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    errors = evaluate.per_class_error(logits, targets)
    assert errors.tolist() == [0.0, 0.5, 0.0]


@pytest.mark.parametrize(("predicted", "targets", "message"), [
    ([0, 3], [0, 1], "predicted.*0 to 2"),
    ([0, -1], [0, 1], "predicted.*0 to 2"),
    ([0, 1], [0, 5], "targets.*0 to 2"),
])
def test_confusion_matrix_refuses_classes_out_of_range(predicted, targets, message):
    with pytest.raises(ValueError, match=message):
        metrics.confusion_matrix(np.array(predicted), np.array(targets), 3)


def test_per_class_error_refuses_classes_out_of_range():
    with pytest.raises(ValueError, match="targets"):
        metrics.per_class_error(np.zeros((2, 3)), np.array([0, 3]))

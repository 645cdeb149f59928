"""The paper's measures of a classifier: top-k error, per-class error, the confusion matrix.

"On ImageNet, it is customary to report two error rates: top-1 and top-5, where the
top-5 error rate is the fraction of test images for which the correct label is not
among the five labels considered most probable by the model" (section 2 of the paper).
Every function takes numpy arrays or torch tensors (on any device) and returns numpy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .shapes import check_class_scores

__all__ = ["confusion_matrix", "per_class_error", "topk_error"]


def topk_error(logits, targets, ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Fraction of examples whose correct class is not among the ``k`` highest scores.

    Args:
        logits: scores ``(N, classes)``, a numpy array or a torch tensor (any device).
        targets: correct classes ``(N,)``, integers.
        ks: the ``k`` values to report.

    Returns:
        ``{k: error}`` with each error in [0, 1].

    Ties between exactly equal scores are broken by class index, lower first, so the
    result is deterministic (``torch.topk`` leaves the order of equal scores
    unspecified; with real-valued scores ties are rare and the two agree). An example
    with any score that is not finite (NaN or infinite, as a diverged network gives)
    counts as an error for every ``k``: no comparison with NaN is true, so it would
    otherwise rank its correct class first.
    """
    scores = _as_numpy(logits)
    labels = _as_numpy(targets)
    check_class_scores(scores, labels)
    n, classes = scores.shape
    ks = (ks,) if isinstance(ks, (int, np.integer)) else tuple(ks)
    if n == 0:
        raise ValueError("no examples: logits has 0 rows")
    bad = [k for k in ks if not isinstance(k, (int, np.integer)) or k < 1 or k > classes]
    if bad:
        raise ValueError(f"each k must be an int from 1 to the number of classes ({classes}), got {bad}")
    # rank of the correct class: classes scoring strictly higher, plus equal ones listed before it
    correct = scores[np.arange(n), labels][:, None]
    higher = (scores > correct).sum(axis=1)
    equal_before = ((scores == correct) & (np.arange(classes)[None, :] < labels[:, None])).sum(axis=1)
    rank = higher + equal_before
    rank[~np.isfinite(scores).all(axis=1)] = classes  # not finite: wrong, whatever k
    return {int(k): float(np.mean(rank >= k)) for k in ks}


def _as_numpy(values) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor
        return values.detach().cpu().numpy()
    return np.asarray(values)


def confusion_matrix(predicted, targets, classes: int) -> np.ndarray:
    """``counts[true, predicted]``: how often each class was taken for each other."""
    p, t = _as_numpy(predicted), _as_numpy(targets)
    if p.shape != t.shape:
        raise ValueError(f"predicted {p.shape} and targets {t.shape} differ in shape")
    if not isinstance(classes, (int, np.integer)) or classes < 1:
        raise ValueError(f"classes must be a positive int, got {classes!r}")
    for name, values in (("predicted", p), ("targets", t)):
        if values.size and not np.issubdtype(values.dtype, np.integer):
            raise TypeError(f"{name} must be integer class indices, got dtype {values.dtype}")
        if values.size and (values.min() < 0 or values.max() >= classes):
            # out of range, a class would be counted in the next row (or the count would fail)
            raise ValueError(f"{name} must be classes 0 to {classes - 1}, got {values.min()} to {values.max()}")
    p, t = p.astype(np.int64), t.astype(np.int64)
    return np.bincount(t * classes + p, minlength=classes * classes).reshape(classes, classes)


def per_class_error(logits, targets, k: int = 1) -> np.ndarray:
    """Top-``k`` error of each class (NaN for a class without examples)."""
    scores, labels = _as_numpy(logits), _as_numpy(targets)
    check_class_scores(scores, labels)
    classes = scores.shape[1]
    out = np.full(classes, np.nan)
    for c in np.unique(labels):
        rows = labels == c
        out[c] = topk_error(scores[rows], labels[rows], ks=(k,))[k]
    return out

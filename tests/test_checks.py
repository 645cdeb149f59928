"""The self-checks pass right answers and explain wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from alexnet_lib import conv
from alexnet_lib.checks import CheckFailed, check_correlate2d, check_output_size


def test_reference_passes(capsys):
    check_correlate2d(conv.correlate2d)
    assert "all 8 cases match" in capsys.readouterr().out


def test_without_stride_and_padding(capsys):
    def plain(image, kernel):
        return conv.correlate2d(image, kernel)

    check_correlate2d(plain)
    out = capsys.readouterr().out
    assert "without stride and padding" in out


def test_flipped_kernel_is_named():
    def flipped(image, kernel, stride=1, padding=0):
        return conv.correlate2d(image, kernel[::-1, ::-1], stride=stride, padding=padding)

    with pytest.raises(CheckFailed, match=r"flipped.*true convolution"):
        check_correlate2d(flipped)


def test_wrong_shape_gives_the_formula():
    def same_size(image, kernel, stride=1, padding=0):
        return np.zeros_like(image)

    with pytest.raises(CheckFailed, match=r"should have shape \(3, 3\), yours has \(5, 5\).*\(n \+ 2\*padding - k\)"):
        check_correlate2d(same_size)


def test_wrong_value_names_the_window():
    def off_by_one(image, kernel, stride=1, padding=0):
        out = conv.correlate2d(image, kernel, stride=stride, padding=padding)
        out[1, 2] += 1
        return out

    with pytest.raises(CheckFailed, match=r"out\[1, 2\] should be .* top-left corner is at row 1, column 2"):
        check_correlate2d(off_by_one)


def test_ignoring_stride_is_caught():
    def no_stride(image, kernel, stride=1, padding=0):
        return conv.correlate2d(image, kernel, padding=padding)

    with pytest.raises(CheckFailed, match="stride 2"):
        check_correlate2d(no_stride)


def test_missing_return_and_exceptions():
    with pytest.raises(CheckFailed, match="returned None"):
        check_correlate2d(lambda image, kernel: None)
    with pytest.raises(CheckFailed, match="raised ZeroDivisionError"):
        check_correlate2d(lambda image, kernel: 1 / 0)
    with pytest.raises(TypeError, match="takes your function"):
        check_correlate2d("not a function")  # type: ignore[arg-type]


def test_output_size_check():
    check_output_size(lambda n, k, p, s: (n + 2 * p - k) // s + 1)
    with pytest.raises(CheckFailed, match="exact value is 55.25.*round down"):
        check_output_size(lambda n, k, p, s: (n + 2 * p - k) / s + 1)
    with pytest.raises(CheckFailed, match=r"should be 5, yours gave 3"):
        check_output_size(lambda n, k, p, s: (n - k) // s + 1)


def test_im2col_check():
    from alexnet_lib.checks import check_im2col

    def reference(image, k):
        return conv.im2col(image[None], k)[0]

    check_im2col(reference)

    def channels_last(image, k):  # rows ordered (u, v, c) instead of (c, u, v)
        c = image.shape[0]
        cols = reference(image, k)
        return cols.reshape(c, k * k, -1).transpose(1, 0, 2).reshape(c * k * k, -1)

    with pytest.raises(CheckFailed, match=r"right numbers in the wrong order.*\(c, u, v\)"):
        check_im2col(channels_last)
    with pytest.raises(CheckFailed, match="looks transposed"):
        check_im2col(lambda image, k: reference(image, k).T)
    with pytest.raises(CheckFailed, match=r"cols\[0, 1\] should be image\[0, 0, 1\]"):
        check_im2col(lambda image, k: reference(image, k) * (np.arange(reference(image, k).shape[1]) != 1))


def test_lrn_check():
    from alexnet_lib.checks import check_local_response_norm
    from alexnet_lib.layers import local_response_norm

    check_local_response_norm(local_response_norm)
    with pytest.raises(CheckFailed, match="divided alpha by size, as torch"):
        check_local_response_norm(lambda x, n, a, b, k: local_response_norm(x, n, a / n, b, k))

    def no_clip(x, n, a, b, k):  # wraps around instead of clipping at the last channel
        sq = x**2
        s = sum(np.roll(sq, shift, axis=1) for shift in range(-(n // 2), n // 2 + 1))
        return x / (k + a * s) ** b

    with pytest.raises(CheckFailed, match="clipped at the first and last channel"):
        check_local_response_norm(no_clip)


def test_check_receptive_field():
    from alexnet_lib.checks import check_receptive_field
    from alexnet_lib.summary import receptive_field, window_layers
    from alexnet_lib.models import AlexNet

    assert receptive_field([(k, s) for _, k, s in window_layers(AlexNet(variant="paper"))]) == (195, 32)
    check_receptive_field(receptive_field)

    def forgot_jump(layers):
        return 1 + sum(k - 1 for k, _ in layers), 1
    with pytest.raises(CheckFailed, match="product of the strides"):
        check_receptive_field(forgot_jump)

    def no_jump_in_size(layers):
        jump = 1
        for _, s in layers:
            jump *= s
        return 1 + sum(k - 1 for k, _ in layers), jump
    with pytest.raises(CheckFailed, match="jump \\*before\\*"):
        check_receptive_field(no_jump_in_size)

    def late(layers):
        size, jump = 1, 1
        for k, s in layers:
            jump *= s
            size += (k - 1) * jump
        return size, jump
    with pytest.raises(CheckFailed, match="before multiplying"):
        check_receptive_field(late)
    with pytest.raises(CheckFailed, match="a pair"):
        check_receptive_field(lambda layers: 3)
    with pytest.raises(ValueError):
        receptive_field([(0, 1)])


def test_check_pca_lighting():
    from alexnet_lib.checks import check_pca_lighting

    def right(image, alphas, eigval, eigvec):
        return image + (eigvec @ (alphas * eigval))[:, None, None]
    check_pca_lighting(right)
    with pytest.raises(CheckFailed, match="columns of eigvec"):
        check_pca_lighting(lambda i, a, l, v: i + (v.T @ (a * l))[:, None, None])
    with pytest.raises(CheckFailed, match="multiplies its eigenvalue"):
        check_pca_lighting(lambda i, a, l, v: i + (v @ a)[:, None, None])
    with pytest.raises(CheckFailed, match="not its square root"):
        check_pca_lighting(lambda i, a, l, v: i + (v @ (a * np.sqrt(l)))[:, None, None])
    with pytest.raises(CheckFailed, match="same RGB offset to every pixel"):
        check_pca_lighting(lambda i, a, l, v: i * (1 + (v @ (a * l))[:, None, None]))
    with pytest.raises(CheckFailed, match="shape"):
        check_pca_lighting(lambda i, a, l, v: i[0])
    with pytest.raises(CheckFailed, match="returned None"):
        check_pca_lighting(lambda i, a, l, v: None)


def test_check_topk_error():
    import numpy as np
    from alexnet_lib.checks import check_topk_error

    def mine(scores, labels, k):
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return float(np.mean(~(top == labels[:, None]).any(axis=1)))

    check_topk_error(mine)
    with pytest.raises(CheckFailed, match="top-k \\*accuracy\\*"):
        check_topk_error(lambda s, y, k: 1 - mine(s, y, k))
    with pytest.raises(CheckFailed, match="a count"):
        check_topk_error(lambda s, y, k: mine(s, y, k) * len(y))
    with pytest.raises(CheckFailed, match="lowest|should be"):
        check_topk_error(lambda s, y, k: mine(-s, y, k))
    with pytest.raises(CheckFailed, match="raised ZeroDivisionError"):
        check_topk_error(lambda s, y, k: 1 / 0)

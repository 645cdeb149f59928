"""alexnet_lib.conv against PyTorch, plus its error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from alexnet_lib import conv
from alexnet_lib.conv import ConvShapeError


def torch_conv(x, w, b=None, stride=1, padding=0, groups=1):
    out = F.conv2d(
        torch.from_numpy(x),
        torch.from_numpy(w),
        None if b is None else torch.from_numpy(b),
        stride=stride,
        padding=padding,
        groups=groups,
    )
    return out.numpy()


@st.composite
def conv_case(draw):
    """A random convolution whose windows fit exactly (the library's default contract)."""
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c_in = groups * draw(st.integers(1, 3))
    c_out = groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    # choose the output size, then the input size that gives it exactly
    oh, ow = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    h = (oh - 1) * sh + kh - 2 * ph
    w = (ow - 1) * sw + kw - 2 * pw
    if h < 1 or w < 1:
        h, w, ph, pw = (oh - 1) * sh + kh, (ow - 1) * sw + kw, 0, 0
    n = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c_in, h, w))
    wt = rng.normal(size=(c_out, c_in // groups, kh, kw))
    b = rng.normal(size=c_out) if draw(st.booleans()) else None
    return x, wt, b, (sh, sw), (ph, pw), groups


@settings(max_examples=150, deadline=None)
@given(conv_case())
def test_conv2d_naive_matches_torch(case):
    x, w, b, stride, padding, groups = case
    ours = conv.conv2d_naive(x, w, b, stride=stride, padding=padding, groups=groups)
    np.testing.assert_allclose(ours, torch_conv(x, w, b, stride, padding, groups), rtol=1e-10, atol=1e-10)


@settings(max_examples=80, deadline=None)
@given(
    h=st.integers(1, 12), w=st.integers(1, 12), k=st.integers(1, 5),
    s=st.integers(1, 3), p=st.integers(0, 2), seed=st.integers(0, 2**31 - 1),
)
def test_correlate2d_matches_torch_when_it_fits(h, w, k, s, p, seed):
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(h, w)), rng.normal(size=(k, k))
    span_h, span_w = h + 2 * p - k, w + 2 * p - k
    if span_h < 0 or span_w < 0 or span_h % s or span_w % s:
        with pytest.raises(ConvShapeError):
            conv.correlate2d(image, kernel, stride=s, padding=p)
        return
    ours = conv.correlate2d(image, kernel, stride=s, padding=p)
    ref = torch_conv(image[None, None], kernel[None, None], stride=s, padding=p)[0, 0]
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)


def test_floor_matches_torch_when_windows_do_not_fit():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 3, 224, 224)).astype(np.float32)
    w = rng.normal(size=(2, 3, 11, 11)).astype(np.float32)
    ours = conv.conv2d_naive(x, w, stride=4, floor=True)
    assert ours.shape == (1, 2, 54, 54)
    np.testing.assert_allclose(ours, torch_conv(x, w, stride=4), rtol=1e-4, atol=1e-4)


def test_tiny_example_by_hand():
    image = np.array([[0, 0, 1, 1]] * 4, dtype=float)
    kernel = np.array([[-1, 0, 1]] * 3, dtype=float)
    np.testing.assert_array_equal(conv.correlate2d(image, kernel), [[3, 3], [3, 3]])


def test_kernel_is_not_flipped():
    image = np.arange(9.0).reshape(3, 3)
    kernel = np.zeros((3, 3))
    kernel[0, 0] = 1.0  # picks the window's top-left pixel
    assert conv.correlate2d(image, kernel)[0, 0] == 0.0


def test_dtype_follows_inputs():
    x32 = np.ones((1, 1, 4, 4), dtype=np.float32)
    assert conv.conv2d_naive(x32, np.ones((1, 1, 3, 3), dtype=np.float32)).dtype == np.float32
    assert conv.conv2d_naive(x32, np.ones((1, 1, 3, 3))).dtype == np.float64


@pytest.mark.parametrize(
    ("n", "k", "p", "s", "expected"),
    [(5, 3, 0, 1, 3), (5, 3, 1, 1, 5), (7, 3, 0, 2, 3), (227, 11, 0, 4, 55), (224, 11, 2, 4, 55), (4, 4, 0, 1, 1)],
)
def test_output_size(n, k, p, s, expected):
    if (n + 2 * p - k) % s:
        assert conv.output_size(n, k, p, s, floor=True) == expected
    else:
        assert conv.output_size(n, k, p, s) == expected


# --- failure paths: each error says what is wrong -----------------------------


def test_kernel_larger_than_padded_input():
    with pytest.raises(ConvShapeError, match=r"kernel's height \(5\) is larger than the padded input's height \(3"):
        conv.correlate2d(np.zeros((3, 8)), np.zeros((5, 5)))
    with pytest.raises(ConvShapeError, match="larger than the padded input"):
        conv.conv2d_naive(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 7, 7)), padding=1)


def test_kernel_that_fits_thanks_to_padding():
    assert conv.correlate2d(np.ones((3, 3)), np.ones((5, 5)), padding=1).shape == (1, 1)


def test_mismatched_channels():
    with pytest.raises(ConvShapeError, match=r"x has 3 channels.*w should have shape \(4, 3, 3, 3\)"):
        conv.conv2d_naive(np.zeros((1, 3, 8, 8)), np.zeros((4, 2, 3, 3)))


def test_non_integer_output_size():
    with pytest.raises(ConvShapeError, match=r"53.25 is not an integer.*floor=True"):
        conv.conv2d_naive(np.zeros((1, 3, 224, 224)), np.zeros((1, 3, 11, 11)), stride=4)
    with pytest.raises(ConvShapeError, match="not an integer"):
        conv.output_size(8, 3, 0, 2)


def test_groups_that_do_not_divide():
    with pytest.raises(ConvShapeError, match="do not split into 2 groups"):
        conv.conv2d_naive(np.zeros((1, 3, 5, 5)), np.zeros((2, 1, 3, 3)), groups=2)
    with pytest.raises(ConvShapeError, match="3 filters, which do not split into 2 groups"):
        conv.conv2d_naive(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2)
    with pytest.raises(ValueError, match="groups must be a positive int"):
        conv.conv2d_naive(np.zeros((1, 4, 5, 5)), np.zeros((2, 4, 3, 3)), groups=0)


def test_wrong_number_of_dimensions():
    with pytest.raises(ConvShapeError, match=r"x must be 4-D.*image\[None, None\]"):
        conv.conv2d_naive(np.zeros((8, 8)), np.zeros((1, 1, 3, 3)))
    with pytest.raises(ConvShapeError, match="w must be 4-D"):
        conv.conv2d_naive(np.zeros((1, 1, 8, 8)), np.zeros((3, 3)))
    with pytest.raises(ConvShapeError, match="2-D image and a 2-D kernel"):
        conv.correlate2d(np.zeros((1, 8, 8)), np.zeros((3, 3)))


def test_bad_bias_stride_padding():
    x, w = np.zeros((1, 1, 6, 6)), np.zeros((2, 1, 3, 3))
    with pytest.raises(ConvShapeError, match=r"b must have shape \(2,\)"):
        conv.conv2d_naive(x, w, b=np.zeros(3))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        conv.conv2d_naive(x, w, stride=0)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        conv.conv2d_naive(x, w, padding=-1)
    with pytest.raises(TypeError, match="stride must be an int or a pair"):
        conv.conv2d_naive(x, w, stride=1.5)  # type: ignore[arg-type]


def test_pad2d():
    x = np.ones((2, 3))
    out = conv.pad2d(x, (1, 2))
    assert out.shape == (4, 7)
    assert out.sum() == 6 and out[0].sum() == 0 and out[:, :2].sum() == 0
    assert conv.pad2d(x, 0) is x

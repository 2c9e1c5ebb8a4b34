"""minigrad.util: the book's helpers — smooth_curve, shuffle_dataset, conv_output_size, im2col and
col2im — against references written out one element at a time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.util import col2im, conv_output_size, im2col, shuffle_dataset, smooth_curve

seeds = st.integers(0, 2**32 - 1)


# ------------------------------------------------------------ smooth_curve


def smoothed_reference(x: np.ndarray) -> np.ndarray:
    """Each point: the Kaiser(11, beta=2) weighted mean of the 11 points around it, the series
    mirrored at the start without its first value, and at the end with its last value."""
    n = len(x)
    w = np.kaiser(11, 2)
    w = w / w.sum()
    out = np.empty(n)
    for i in range(n):
        total = 0.0
        for k in range(-5, 6):
            j = i + k
            if j < 0:
                j = -j                       # x[1], x[2], ... before x[0]
            elif j >= n:
                j = 2 * n - 1 - j            # x[n-1], x[n-2], ... after x[n-1]
            total += w[k + 5] * x[j]
        out[i] = total
    return out


@given(n=st.integers(6, 60), seed=seeds)
def test_smooth_curve_is_the_books_kaiser_smoothing(n: int, seed: int) -> None:
    x = np.random.default_rng(seed).normal(size=n).cumsum()
    y = smooth_curve(list(x))
    assert type(y) is np.ndarray and y.shape == (n,)
    np.testing.assert_allclose(y, smoothed_reference(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", range(1, 12))
def test_smooth_curve_keeps_the_length_of_short_series_and_constants(n: int) -> None:
    y = smooth_curve([2.5] * n)
    assert y.shape == (n,)
    np.testing.assert_allclose(y, 2.5)
    assert smooth_curve([]).shape == (0,)


def test_smooth_curve_takes_losses_as_tensors_lists_and_arrays() -> None:
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(8, 4)), rng.integers(0, 3, size=8)
    net = mg.models.TwoLayerNet(4, 5, 3, rng=0)
    losses = []
    for _ in range(15):
        loss = net.loss(x, t)                    # a 0-d tensor in the graph
        grads = net.gradient(x, t)
        for key in net.params:
            net.params[key] -= 0.5 * grads[key]
        losses.append(loss)
    values = np.array([float(loss.data) for loss in losses])
    expected = smoothed_reference(values)
    np.testing.assert_allclose(smooth_curve(losses), expected, rtol=1e-12)
    np.testing.assert_allclose(smooth_curve([mg.tensor(v) for v in values]), expected,
                               rtol=1e-12)
    np.testing.assert_allclose(smooth_curve(values), expected, rtol=1e-12)
    np.testing.assert_allclose(smooth_curve(values.tolist()), expected, rtol=1e-12)
    with pytest.raises(ValueError, match=r"smooth_curve: x must be 1-D .* shape \(3, 5\)"):
        smooth_curve(np.ones((3, 5)))
    with pytest.raises(TypeError, match="smooth_curve: x must be a sequence of numbers"):
        smooth_curve(3.0)                                    # type: ignore[arg-type]


# ------------------------------------------------------------ shuffle_dataset


def test_shuffle_dataset_permutes_samples_and_labels_together() -> None:
    x = np.arange(40.0).reshape(10, 1, 2, 2)                   # 4-D, as the book allows
    t = np.arange(10)
    np.random.seed(3)
    xs, ts = shuffle_dataset(x, t)
    np.random.seed(3)
    permutation = np.random.permutation(10)                 # the same draw from the same state
    np.testing.assert_array_equal(ts, permutation)
    np.testing.assert_array_equal(xs, x[permutation])
    assert sorted(ts) == list(range(10)) and not np.array_equal(ts, t)
    x2, t2 = shuffle_dataset(np.eye(5), np.arange(5))
    np.testing.assert_array_equal(np.argmax(x2, axis=1), t2)
    with pytest.raises(ValueError, match=r"shuffle_dataset: x of shape \(5, 2\) and t of shape "
                                         r"\(4,\)"):
        shuffle_dataset(np.ones((5, 2)), np.ones(4))


# ------------------------------------------------------------ conv_output_size, im2col, col2im


def test_conv_output_size() -> None:
    assert conv_output_size(28, 5) == 24
    assert conv_output_size(28, 5, stride=1, pad=2) == 28
    assert conv_output_size(7, 3, stride=2, pad=1) == 4
    assert conv_output_size(8, 3, stride=2) == 3                # floor, as im2col
    with pytest.raises(ValueError, match="filter_size 9 is larger than the input size 5 padded "
                                         "by 1"):
        conv_output_size(5, 9, pad=1)
    with pytest.raises(TypeError, match="stride must be an integer"):
        conv_output_size(5, 3, stride=1.0)                      # type: ignore[arg-type]


def im2col_reference(x: np.ndarray, fh: int, fw: int, stride: int, pad: int) -> np.ndarray:
    """One row per output position (n, oh, ow), holding the window's values as (c, fh, fw)."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - fh) // stride + 1, (w + 2 * pad - fw) // stride + 1
    rows = []
    for i in range(n):
        for y in range(oh):
            for z in range(ow):
                window = xp[i, :, y * stride:y * stride + fh, z * stride:z * stride + fw]
                rows.append(window.reshape(-1))
    return np.array(rows).reshape(n * oh * ow, c * fh * fw)


cases = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
                  st.integers(1, 2), st.integers(0, 2), st.integers(0, 3), st.integers(0, 3))


@given(case=cases, seed=seeds)
def test_im2col_and_col2im_in_the_books_layout(case: tuple[int, ...], seed: int) -> None:
    n, c, fh, fw, stride, pad, dh, dw = case
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, fh + dh, fw + dw))
    col = im2col(x, fh, fw, stride, pad)
    assert type(col) is np.ndarray and col.flags.writeable
    assert not np.may_share_memory(col, x)
    np.testing.assert_array_equal(col, im2col_reference(x, fh, fw, stride, pad))
    oh = conv_output_size(x.shape[2], fh, stride, pad)
    ow = conv_output_size(x.shape[3], fw, stride, pad)
    assert col.shape == (n * oh * ow, c * fh * fw)
    # col2im adds the rows back: it is the adjoint of im2col
    c_rows = rng.normal(size=col.shape)
    image = col2im(c_rows, x.shape, fh, fw, stride, pad)
    assert type(image) is np.ndarray and image.shape == x.shape
    np.testing.assert_allclose(np.sum(col * c_rows), np.sum(x * image), rtol=1e-10)


def test_col2im_sums_overlaps_and_undoes_im2col_without_them() -> None:
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(col2im(im2col(x, 2, 2, stride=2), x.shape, 2, 2, stride=2), x)
    counts = col2im(np.ones_like(im2col(x, 3, 3)), x.shape, 3, 3)    # windows per pixel
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2],
                                                 [1, 2, 2, 1]])
    with pytest.raises(ValueError, match=r"col2im: col of shape \(3, 4\) does not fit an image "
                                         r"of shape \(1, 1, 4, 4\)"):
        col2im(np.ones((3, 4)), x.shape, 2, 2)

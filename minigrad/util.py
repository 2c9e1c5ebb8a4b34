"""The book's helpers (its `common/util.py`): smoothing a loss curve, shuffling a data set,
and the convolution's bookkeeping (`conv_output_size`, `im2col`, `col2im`).

`im2col` and `col2im` return ndarrays in the book's layouts and are minigrad's
convolution primitives (`minigrad.functional.im2col` / `col2im`) run outside
the graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from . import functional as F
from ._checks import check_int
from .engine import Tensor, as_array
from .modes import no_grad

__all__ = ["smooth_curve", "shuffle_dataset", "conv_output_size", "im2col", "col2im"]

WINDOW_LENGTH = 11       # the book's smoothing window: Kaiser, 11 points, beta 2
KAISER_BETA = 2.0


def _series(x: Any) -> np.ndarray:
    """x as a 1-D float64 array; the elements may be numbers, 0-d arrays or 0-d Tensors."""
    if isinstance(x, (np.ndarray, Tensor)):
        values = np.asarray(as_array(x), dtype=np.float64)
    else:
        if not isinstance(x, Iterable) or isinstance(x, (str, bytes)):
            raise TypeError(f"smooth_curve: x must be a sequence of numbers, got "
                            f"{type(x).__name__}")
        values = np.asarray([as_array(v) for v in x], dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"smooth_curve: x must be 1-D (a series of values), got shape "
                         f"{values.shape}")
    return values


def smooth_curve(x: Sequence[Any] | np.ndarray) -> np.ndarray:
    """The loss curve x smoothed as the book does, for plots: a weighted moving average.

    The weights are a Kaiser window of 11 points (beta 2), normalized to sum
    to 1. At the ends the series is extended by reflection (at the start
    without repeating the first value, at the end repeating the last, as the
    book's code does), so the result has x's length. x may be an ndarray or a
    list of numbers or of 0-d Tensors (such as losses).
    """
    values = _series(x)
    if values.size == 0:
        return values
    half = WINDOW_LENGTH // 2
    window = np.kaiser(WINDOW_LENGTH, KAISER_BETA)
    window /= window.sum()
    extended = np.pad(np.pad(values, (half, 0), mode="reflect" if values.size > 1 else "edge"),
                      (0, half), mode="symmetric")
    smoothed: np.ndarray = np.convolve(extended, window, mode="valid")
    return smoothed


def shuffle_dataset(x: Any, t: Any) -> tuple[np.ndarray, np.ndarray]:
    """x and t permuted along their first axis, by one permutation from numpy's global random
    state (so `np.random.seed` repeats it), as the book does. Returns new arrays."""
    x, t = np.asarray(as_array(x)), np.asarray(as_array(t))
    if x.ndim == 0 or t.ndim == 0 or len(x) != len(t):
        raise ValueError(f"shuffle_dataset: x of shape {x.shape} and t of shape {t.shape} must "
                         "have the same length along the first axis")
    permutation = np.random.permutation(len(x))
    return x[permutation], t[permutation]


def conv_output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0) -> int:
    """(input_size + 2*pad - filter_size) // stride + 1: the output size of a convolution or
    pooling along one axis (floor, as im2col computes it; the book's divides exactly)."""
    where = "conv_output_size"
    size = check_int(input_size, "input_size", where)
    fs = check_int(filter_size, "filter_size", where)
    s = check_int(stride, "stride", where)
    p = check_int(pad, "pad", where, minimum=0)
    if fs > size + 2 * p:
        raise ValueError(f"{where}: filter_size {fs} is larger than the input size {size} "
                         f"padded by {p} on each side ({size + 2 * p})")
    return (size + 2 * p - fs) // s + 1


def im2col(input_data: Any, filter_h: int, filter_w: int, stride: int = 1,
           pad: int = 0) -> np.ndarray:
    """Every filter_h × filter_w window of input_data (N, C, H, W) as one row.

    Returns an ndarray (N*OH*OW, C*filter_h*filter_w), rows ordered (n, oh, ow)
    and columns (c, fh, fw), the padding filled with zeros: the book's layout.
    """
    x = as_array(input_data)
    with no_grad():
        col = F.im2col(x, filter_h, filter_w, stride, pad).data
    if not col.flags.writeable or np.may_share_memory(col, x):    # a view of x (1x1 windows)
        col = col.copy()
    return col


def col2im(col: Any, input_shape: Sequence[int], filter_h: int, filter_w: int, stride: int = 1,
           pad: int = 0) -> np.ndarray:
    """The rows of `col` (as im2col lays them out) added back into an image of `input_shape`.

    Where windows overlap their values add up, and what falls into the padding
    is dropped, as in the book: col2im is the adjoint of im2col (the backward
    of the convolution), not its inverse. Returns an ndarray of `input_shape`.
    """
    with no_grad():
        return F.col2im(as_array(col), tuple(input_shape), filter_h, filter_w, stride, pad).data

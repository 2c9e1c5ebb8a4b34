"""The primitives of convolutional networks: im2col, its adjoint col2im, and max pooling.

Images are (N, C, H, W) as in the book and PyTorch. `Im2col` lays every
receptive field out as one row, in the book's layout: a matrix of shape
(N * OH * OW, C * KH * KW), rows ordered (n, oh, ow), columns (c, kh, kw).
It is built from a strided view of the (padded) input with one copy, no
Python loop over output pixels. `Col2im` sums the rows back into an image;
the two are each other's adjoint, so each one's backward is the other and
second derivatives come for free. Convolution and average pooling are
compositions over `Im2col` (see `minigrad.functional`).

Max pooling is one fused node: its forward keeps, for every output, the
position of the maximum in its window (the first one, in row-major order,
when several are equal, as PyTorch and the book's argmax choose; in a window
holding NaN, whose maximum is NaN, the last NaN, as PyTorch), and its
backward scatters the gradient there. Its padding is -inf, as in PyTorch.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import buffers
from .dispatch import call
from .engine import Function

Pair = tuple[int, int]
Array: TypeAlias = Any       # an ndarray, or a Tensor while a backward is recorded


def pair(value: Any, name: str, op: str, minimum: int) -> Pair:
    """An int or a pair of ints as (height, width), each at least `minimum`."""
    items = (value, value) if isinstance(value, (int, np.integer)) else tuple(value) \
        if isinstance(value, (tuple, list)) else None
    if items is None or len(items) != 2 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if items[0] < minimum or items[1] < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def output_size(shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair,
                op: str) -> Pair:
    """(OH, OW) of a sliding window over an (N, C, H, W) input (floor, as PyTorch)."""
    if len(shape) != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {tuple(shape)}")
    h, w = shape[2] + 2 * padding[0], shape[3] + 2 * padding[1]
    if kernel[0] > h or kernel[1] > w:
        raise ValueError(f"{op}: kernel {kernel} is larger than the input of shape "
                         f"{tuple(shape)} padded by {padding} ({h}x{w})")
    return (h - kernel[0]) // stride[0] + 1, (w - kernel[1]) // stride[1] + 1


def _padded(x: np.ndarray, padding: Pair, fill: float) -> np.ndarray:
    ph, pw = padding
    if not ph and not pw:
        return x
    n, c, h, w = x.shape
    out = np.full((n, c, h + 2 * ph, w + 2 * pw), fill, dtype=x.dtype)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def _windows(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair,
             fill: float = 0.0) -> np.ndarray:
    """A read-only view (N, C, OH, OW, KH, KW) of every window of the padded input."""
    oh, ow = output_size(x.shape, kernel, stride, padding, "im2col")
    xp = _padded(x, padding, fill)
    s0, s1, s2, s3 = xp.strides
    return as_strided(xp, (xp.shape[0], xp.shape[1], oh, ow, *kernel),
                      (s0, s1, s2 * stride[0], s3 * stride[1], s2, s3), writeable=False)


def _fold(windows: np.ndarray, shape: tuple[int, ...], stride: Pair, padding: Pair
          ) -> np.ndarray:
    """The adjoint of `_windows`: add each window (N, C, OH, OW, KH, KW) back into place.

    Loops over the kernel's positions only; each step adds one strided slab.
    """
    n, c, h, w = shape
    _, _, oh, ow, kh, kw = windows.shape
    (sh, sw), (ph, pw) = stride, padding
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=windows.dtype)
    for i in range(kh):
        rows = slice(i, i + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            out[:, :, rows, j:j + sw * (ow - 1) + 1:sw] += windows[:, :, :, :, i, j]
    return out[:, :, ph:ph + h, pw:pw + w] if ph or pw else out


class Im2col(Function):
    """Every receptive field as a row: (N, C, H, W) -> (N*OH*OW, C*KH*KW), the book's layout."""

    @staticmethod
    def forward(ctx: Function, x: Array, kernel: Pair, stride: Pair, padding: Pair) -> Any:
        x = np.asarray(x)
        view = _windows(x, kernel, stride, padding)
        n, c, oh, ow, kh, kw = view.shape
        ctx.shape = x.shape
        ctx.args = kernel, stride, padding
        rows = view.transpose(0, 2, 3, 1, 4, 5)
        if buffers.state.pool is not None:           # a replay: copied into a kept array
            out = buffers.empty((n * oh * ow, c * kh * kw), x.dtype)
            np.copyto(out.reshape(rows.shape), rows)
            return out
        return rows.reshape(n * oh * ow, c * kh * kw)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Any:
        return call(Col2im, g, ctx.shape, *ctx.args)


class Col2im(Function):
    """The adjoint of Im2col: rows (N*OH*OW, C*KH*KW) summed back into an (N, C, H, W) image."""

    @staticmethod
    def forward(ctx: Function, col: Array, shape: tuple[int, ...], kernel: Pair, stride: Pair,
                padding: Pair) -> Any:
        col = np.asarray(col)
        shape = tuple(int(s) for s in shape)
        oh, ow = output_size(shape, kernel, stride, padding, "col2im")
        n, c = shape[:2]
        expected = (n * oh * ow, c * kernel[0] * kernel[1])
        if col.shape != expected:
            raise ValueError(f"col2im: col of shape {col.shape} does not fit an image of shape "
                             f"{shape} with kernel {kernel}, stride {stride}, padding "
                             f"{padding}: expected col of shape {expected}")
        ctx.args = kernel, stride, padding
        windows = col.reshape(n, oh, ow, c, *kernel).transpose(0, 3, 1, 2, 4, 5)
        return _fold(windows, shape, stride, padding)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Any:
        return call(Im2col, g, *ctx.args)


def _layout(x: np.ndarray) -> tuple[int, ...]:
    """The axes of x from the slowest-varying in memory to the fastest."""
    return tuple(sorted(range(x.ndim), key=lambda a: -x.strides[a]))


def _empty_like_layout(shape: tuple[int, ...], layout: tuple[int, ...], dtype: Any,
                       fill: float | None = None) -> np.ndarray:
    """An array of `shape` whose memory is laid out in the order `layout` (as _layout)."""
    out = buffers.empty(shape, dtype, layout)
    if fill is not None:
        out.fill(fill)
    return out


class MaxPool2d(Function):
    """The maximum of each window; the gradient goes to the first maximum of each window
    (to the last NaN of a window holding NaN, as PyTorch).

    Loops over the kernel's positions, not over output pixels: each step
    takes the maximum with one strided slab of the input, then a second loop
    (backwards) records which position held the first maximum. The gradient
    of the input is laid out in memory as x is, so a channels-last x (the
    convolution's output) gets a channels-last gradient.
    """

    @staticmethod
    def forward(ctx: Function, x: Array, kernel: Pair, stride: Pair, padding: Pair) -> Any:
        x = np.asarray(x)
        view = _windows(x, kernel, stride, padding, -np.inf)
        kh, kw = kernel
        slabs = [view[:, :, :, :, k // kw, k % kw] for k in range(kh * kw)]
        out = buffers.empty(slabs[0].shape, x.dtype)         # C order, whatever x's is
        if len(slabs) == 1:
            np.copyto(out, slabs[0])
        else:
            np.maximum(slabs[0], slabs[1], out=out)
        for slab in slabs[2:]:
            np.maximum(out, slab, out=out)
        # index = the first k whose slab equals the maximum, found from the last k
        # down with integer arithmetic (masked assignment is much slower)
        small = np.uint8 if len(slabs) <= 256 else np.intp
        index = np.full(out.shape, len(slabs) - 1, dtype=small)
        for k in range(len(slabs) - 2, -1, -1):
            step = index - small(k)
            step *= (slabs[k] == out).view(np.uint8)
            index -= step
        if out.size and np.isnan(out.min()):    # a window holds NaN (its maximum, equal to
            for k, slab in enumerate(slabs):    # nothing): the gradient goes to its last NaN
                np.copyto(index, small(k), where=np.isnan(slab))
        ctx.save_for_backward(index)
        ctx.shape, ctx.layout = x.shape, _layout(x)
        ctx.args = kernel, stride, padding
        return out

    @staticmethod
    def backward(ctx: Function, g: Array) -> Any:
        (index,) = ctx.saved_tensors                          # a constant
        return call(PoolScatter, g, index, ctx.shape, *ctx.args, layout=ctx.layout)


class PoolScatter(Function):
    """Each g[n, c, oh, ow] added at the position `index` picks in its window.

    The result is laid out in memory in the order `layout` (see _layout).
    """

    @staticmethod
    def forward(ctx: Function, g: Array, index: np.ndarray, shape: tuple[int, ...], kernel: Pair,
                stride: Pair, padding: Pair, layout: tuple[int, ...] = (0, 1, 2, 3)) -> Any:
        ctx.index = index
        ctx.args = kernel, stride, padding
        kh, kw = kernel
        (sh, sw), (ph, pw) = stride, padding
        n, c, oh, ow = g.shape
        padded = (n, c, shape[2] + 2 * ph, shape[3] + 2 * pw)
        apart = sh >= kh and sw >= kw                 # windows do not overlap
        tiled = (sh, sw) == (kh, kw) and (oh * sh, ow * sw) == padded[2:]
        out = _empty_like_layout(padded, layout, g.dtype, None if tiled else 0)
        for k in range(kh * kw):
            i, j = divmod(k, kw)
            target = out[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
            if apart:
                np.multiply(g, index == k, out=target)
            else:
                target += g * (index == k)
        return out[:, :, ph:ph + shape[2], pw:pw + shape[3]] if ph or pw else out

    @staticmethod
    def backward(ctx: Function, g: Array) -> Any:
        return call(PoolGather, g, ctx.index, *ctx.args)


class PoolGather(Function):
    """The value at position `index` of each window (the adjoint of PoolScatter)."""

    @staticmethod
    def forward(ctx: Function, x: Array, index: np.ndarray, kernel: Pair, stride: Pair,
                padding: Pair) -> Any:
        x = np.asarray(x)
        view = _windows(x, kernel, stride, padding)
        kh, kw = kernel
        ctx.index, ctx.shape, ctx.args = index, x.shape, (kernel, stride, padding)
        out = np.zeros(view.shape[:4], dtype=x.dtype)
        for k in range(kh * kw):
            out += view[:, :, :, :, k // kw, k % kw] * (index == k)
        return out

    @staticmethod
    def backward(ctx: Function, g: Array) -> Any:
        return call(PoolScatter, g, ctx.index, ctx.shape, *ctx.args)

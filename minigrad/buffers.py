"""Large arrays kept from one compiled call to the next, instead of allocated afresh.

The allocator hands a large array (megabytes) back to the operating system when it is
freed, and each new one then costs a page fault per 4 KB and the zeroing of its pages: on a
convolution step about a fifth of the time. While mg.compile replays, `pool` is the
compiled trace's `Pool`, and the ops that make large arrays take them from it with `empty`.
A pooled array is handed out again only when nothing but the pool refers to it any more
(no tensor, view, saved context or user variable), so reuse is never visible. Outside a
replay `empty` is np.empty.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

__all__ = ["Pool", "empty", "empty_like"]

POOLED_BYTES = 1 << 20          # smaller arrays come quickly from the allocator's free lists
KEPT_PER_KIND = 3               # at most this many arrays kept per shape and dtype

pool: Pool | None = None        # the pool of the replay running now, if any


class Pool:
    """The large arrays of one compiled trace, by shape and dtype."""

    def __init__(self) -> None:
        self.arrays: dict[tuple[tuple[int, ...], str], list[np.ndarray]] = {}

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        kept = self.arrays.setdefault((shape, dtype.str), [])
        for array in kept:
            # referred to by the list, `array` and getrefcount's argument only: free
            if sys.getrefcount(array) == 3:
                return array
        array = np.empty(shape, dtype)
        if len(kept) < KEPT_PER_KIND:
            kept.append(array)
        return array

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for kept in self.arrays.values() for a in kept)


def empty(shape: tuple[int, ...], dtype: Any, layout: tuple[int, ...] | None = None
          ) -> np.ndarray:
    """np.empty(shape, dtype), laid out in memory in the axis order `layout` (slowest
    first; C order if None), from the running replay's pool if the array is large."""
    dtype = np.dtype(dtype)
    if layout is not None:
        base = empty(tuple(shape[a] for a in layout), dtype)
        out: np.ndarray = base.transpose(tuple(int(a) for a in np.argsort(layout)))
        return out
    if pool is None or dtype.itemsize * math.prod(shape) < POOLED_BYTES:
        return np.empty(shape, dtype)
    return pool.empty(tuple(int(n) for n in shape), dtype)


def empty_like(a: np.ndarray) -> np.ndarray:
    """An uninitialised array like `a`, its axes laid out in memory as a's are (as numpy
    lays out the result of an elementwise op on a)."""
    if pool is None or a.nbytes < POOLED_BYTES:
        return np.empty_like(a)
    if a.flags.c_contiguous:
        return empty(a.shape, a.dtype)
    return empty(a.shape, a.dtype, tuple(sorted(range(a.ndim), key=lambda i: -a.strides[i])))

"""Large arrays kept from one compiled call to the next, instead of allocated afresh.

The allocator hands a large array (megabytes) back to the operating system when it is
freed, and each new one then costs a page fault per 4 KB and the zeroing of its pages: on a
convolution step about a fifth of the time. While mg.compile replays a step that will be
differentiated, `state.pool` (per thread) is the compiled function's `Pool`, and the ops
that make large arrays take them from it with `empty` and `empty_like`. A pooled array is
handed out again only when nothing but the pool refers to it any more (no tensor, view,
saved context or user variable), so reuse is never visible. A call lets go of the arrays it
will not take (another batch size, a forward under no_grad, which keeps nothing) and of those
the last call did not take, so the pool holds about one step's arrays. Outside a replay
`empty` is np.empty.
"""

from __future__ import annotations

import math
import sys
import threading
from typing import Any

import numpy as np

__all__ = ["Pool", "empty", "empty_like", "state"]

POOLED_BYTES = 1 << 20          # smaller arrays come quickly from the allocator's free lists
KEPT_PER_KIND = 3               # at most this many arrays kept per shape and dtype


class _State(threading.local):
    pool: Pool | None = None    # the pool of the replay running in this thread, if any


state = _State()


def _free_references() -> int:
    """What sys.getrefcount reports, in Pool.empty's loop, for an array only the pool holds
    (measured, as interpreters count borrowed references differently)."""
    kept = [np.empty(0)]
    for array in kept:
        return sys.getrefcount(array)
    raise AssertionError("unreachable")


_FREE = _free_references()


class Pool:
    """The large arrays of one compiled function, by shape and dtype."""

    def __init__(self) -> None:
        self.arrays: dict[tuple[tuple[int, ...], str], list[np.ndarray]] = {}
        self.used: dict[int, int] = {}         # id(array) -> the call that last took it
        self.taken: set[tuple[tuple[int, ...], str]] = set()    # kinds this call took
        self.call = 0

    def begin(self, kinds: set[tuple[tuple[int, ...], str]]) -> None:
        """A call begins that will take arrays of these kinds: let go of the others, and of
        the arrays the last call did not take (what a call held longer needed)."""
        self.call += 1
        for key, kept in list(self.arrays.items()):
            kept[:] = [a for a in kept if key in kinds and self.used[id(a)] >= self.call - 1]
            if not kept:
                del self.arrays[key]
        live = {id(a) for kept in self.arrays.values() for a in kept}
        self.used = {k: v for k, v in self.used.items() if k in live}
        self.taken = set()

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        key = (shape, dtype.str)
        self.taken.add(key)
        kept = self.arrays.setdefault(key, [])
        for array in kept:
            if sys.getrefcount(array) == _FREE:    # only the pool refers to it
                self.used[id(array)] = self.call
                return array
        array = np.empty(shape, dtype)
        if len(kept) < KEPT_PER_KIND:
            kept.append(array)
            self.used[id(array)] = self.call
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
    pool = state.pool
    if pool is None or dtype.itemsize * math.prod(shape) < POOLED_BYTES:
        return np.empty(shape, dtype)
    return pool.empty(tuple(int(n) for n in shape), dtype)


def empty_like(a: np.ndarray) -> np.ndarray:
    """An uninitialised array like `a`, laid out in memory as numpy lays out the result of
    an elementwise op on `a` (axes by decreasing stride)."""
    if state.pool is None or a.nbytes < POOLED_BYTES or a.flags.c_contiguous:
        return empty(a.shape, a.dtype) if a.flags.c_contiguous else np.empty_like(a)
    if any(s <= 0 for n, s in zip(a.shape, a.strides) if n > 1):    # reversed, broadcast
        return np.empty_like(a)
    return empty(a.shape, a.dtype, tuple(sorted(range(a.ndim), key=lambda i: -a.strides[i])))

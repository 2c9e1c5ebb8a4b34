"""Iterating over a dataset in mini-batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from minigrad._checks import check_int, check_rng

__all__ = ["minibatches", "random_batch"]


def _as_generator(rng: Any, where: str) -> Any:
    """A Generator (or RandomState) from check_rng; None gives a fresh Generator."""
    generator = check_rng(rng, "rng", where)
    return np.random.default_rng() if generator is None else generator


def _check(x: np.ndarray, t: np.ndarray, batch_size: int, where: str) -> int:
    size = check_int(batch_size, "batch_size", where)
    if x.ndim == 0 or t.ndim == 0:
        raise ValueError(f"{where}: x and t must be arrays with one sample per row, not scalars")
    if len(x) != len(t):
        raise ValueError(
            f"{where}: x and t must have the same number of samples: x has {len(x)}, "
            f"t has {len(t)}"
        )
    return size


def minibatches(
    x: np.ndarray,
    t: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = True,
    rng: int | np.random.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Iterate once over ``(x, t)`` in batches ``(xb, tb)`` of ``batch_size`` samples.

    Every sample appears exactly once per call (one epoch). ``shuffle`` visits them in a
    random order drawn from ``rng`` (an int seed, a ``numpy.random.Generator``, or None for
    fresh randomness); otherwise in order, as views. The last batch is smaller when the
    sizes do not divide, unless ``drop_last`` skips it. Arguments are checked at call time.
    """
    x = np.asarray(x)
    t = np.asarray(t)
    size = _check(x, t, batch_size, "minibatches")
    gen = _as_generator(rng, "minibatches") if shuffle else None
    return _iterate(x, t, size, gen, drop_last)


def _iterate(
    x: np.ndarray, t: np.ndarray, size: int, gen: np.random.Generator | None, drop_last: bool
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    n = len(x)
    stop = n - n % size if drop_last else n
    if gen is None:
        for start in range(0, stop, size):
            yield x[start : start + size], t[start : start + size]
        return
    order = gen.permutation(n)
    for start in range(0, stop, size):
        idx = order[start : start + size]
        yield x[idx], t[idx]


def random_batch(
    x: np.ndarray,
    t: np.ndarray,
    batch_size: int,
    *,
    rng: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One batch drawn at random with replacement: the book's ``np.random.choice`` way."""
    x = np.asarray(x)
    t = np.asarray(t)
    size = _check(x, t, batch_size, "random_batch")
    if len(x) == 0:
        raise ValueError("cannot draw a batch from an empty dataset")
    mask = _as_generator(rng, "random_batch").choice(len(x), size)
    return x[mask], t[mask]

"""New tensors from shapes, ranges and random draws, named as in numpy and PyTorch.

Shapes are given either way, `zeros(2, 3)` (PyTorch) or `zeros((2, 3))` (numpy).
The dtype is numpy's default, float64, unless `dtype` says otherwise; a tensor that
`requires_grad` is a leaf of the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ._checks import check_rng
from .engine import ArrayLike, Tensor, as_array

__all__ = ["tensor", "zeros", "ones", "full", "zeros_like", "ones_like", "arange", "randn",
           "rand"]

Shape = int | Sequence[int]


def _shape(shape: tuple[Shape, ...], op: str) -> tuple[int, ...]:
    """(2, 3) from either zeros(2, 3) or zeros((2, 3))."""
    items: Any = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0
               for n in items):
        raise TypeError(f"{op}: the shape must be non-negative ints, as {op}(2, 3) or "
                        f"{op}((2, 3)); got {shape!r}")
    return tuple(int(n) for n in items)


def tensor(data: ArrayLike, requires_grad: bool = False, dtype: DTypeLike | None = None,
           name: str | None = None) -> Tensor:
    """A new tensor holding a copy of `data` (float64 unless data or dtype say otherwise)."""
    if isinstance(data, Tensor):
        data = data._data
    return Tensor(np.array(data, dtype=dtype, copy=True), requires_grad=requires_grad, name=name)


def _new(array: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor(array, requires_grad=requires_grad)


def zeros(*shape: Shape, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: zeros(2, 3) or zeros((2, 3))."""
    return _new(np.zeros(_shape(shape, "zeros"), dtype), requires_grad)


def ones(*shape: Shape, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ones(2, 3) or ones((2, 3))."""
    return _new(np.ones(_shape(shape, "ones"), dtype), requires_grad)


def full(shape: Shape, fill_value: float, dtype: DTypeLike | None = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of `shape` filled with `fill_value` (float64 unless dtype is given)."""
    return _new(np.full(_shape((shape,), "full"), fill_value, dtype or np.float64),
                requires_grad)


def zeros_like(t: ArrayLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape and dtype of `t` (a Tensor or an array)."""
    return _new(np.zeros_like(np.asarray(as_array(t)), dtype), requires_grad)


def ones_like(t: ArrayLike, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape and dtype of `t` (a Tensor or an array)."""
    return _new(np.ones_like(np.asarray(as_array(t)), dtype), requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1, dtype: DTypeLike | None = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop), as numpy's arange (arange(5) is 0, ..., 4)."""
    values = np.arange(start, step=step, dtype=dtype) if stop is None \
        else np.arange(start, stop, step, dtype=dtype)
    return _new(values, requires_grad)


def _draws(shape: tuple[Shape, ...], dtype: DTypeLike | None, rng: np.random.Generator | int | None,
           op: str, normal: bool) -> np.ndarray:
    size = _shape(shape, op)
    generator = check_rng(rng, "rng", op)
    if generator is None:         # numpy's global state, so np.random.seed repeats it
        values = np.random.standard_normal(size) if normal else np.random.random_sample(size)
    else:
        values = generator.standard_normal(size) if normal else generator.random(size)
    return np.asarray(values, dtype=dtype or np.float64)


def randn(*shape: Shape, dtype: DTypeLike | None = None, requires_grad: bool = False,
          rng: np.random.Generator | int | None = None) -> Tensor:
    """Standard normal samples: randn(2, 3) or randn((2, 3)), from `rng` (a Generator or a
    seed) or else numpy's global random state (as the book's np.random.randn)."""
    return _new(_draws(shape, dtype, rng, "randn", True), requires_grad)


def rand(*shape: Shape, dtype: DTypeLike | None = None, requires_grad: bool = False,
         rng: np.random.Generator | int | None = None) -> Tensor:
    """Uniform samples in [0, 1): rand(2, 3) or rand((2, 3)); `rng` as for randn."""
    return _new(_draws(shape, dtype, rng, "rand", False), requires_grad)

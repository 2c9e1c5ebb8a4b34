"""A Tensor as a Python value and as an array: shape and dtype, numbers, lists, printing.

`Tensor` (in engine.py) inherits these; they read its array, `_data`, and touch
nothing of the graph. numpy's dispatch protocols (`np.exp(t)`) are in dispatch.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from . import modes

if TYPE_CHECKING:
    from .engine import Function, Tensor


class TensorProtocols:
    """Array attributes, conversions and printing, read from `self._data`."""

    __slots__ = ()
    if TYPE_CHECKING:
        _data: np.ndarray
        _requires_grad: bool
        _ctx: Function | None
        name: str | None
        def __getitem__(self, key: Any) -> Tensor: ...

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        if modes.tracer is not None:
            modes.leaving('.numpy()')
        return self._data

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if modes.tracer is not None:
            modes.leaving('.item()')
        if self._data.size != 1:
            raise ValueError(
                f"item: only a one-element tensor converts to a Python number, "
                f"got shape {self.shape}")
        return self._data.item()

    def tolist(self) -> Any:
        if modes.tracer is not None:
            modes.leaving('.tolist()')
        return self._data.tolist()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if modes.tracer is not None:
            modes.leaving('bool()')
        return bool(self._data)

    def __float__(self) -> float:
        if modes.tracer is not None:
            modes.leaving("float()")
        return float(self._data.item()) if self._data.size == 1 else float(self.item())

    def __int__(self) -> int:
        if modes.tracer is not None:
            modes.leaving('int()')
        return int(self.item())

    def __index__(self) -> int:
        if modes.tracer is not None:
            modes.leaving('an index')
        return self._data.__index__()

    def __format__(self, spec: str) -> str:
        """f"{loss:.4f}" formats a one-element tensor's value, as PyTorch does."""
        if not spec:
            return str(self)
        return format(self._data.item() if self._data.size == 1 else self._data, spec)

    if not TYPE_CHECKING:
        # Hidden from type checkers: numpy's stubs would otherwise take `ndarray @ Tensor`
        # for an ndarray, while it runs as Tensor.__rmatmul__ and gives a Tensor.
        def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
            if modes.tracer is not None:
                modes.leaving('numpy conversion')
            if self._requires_grad and modes.grad_mode.enabled:    # np.array([x, y])
                raise TypeError(
                    f"numpy conversion of a tensor{self._label()} that requires grad would "
                    "drop its gradient: use x.detach() (or no_grad()) to take the values, or "
                    "minigrad's ops (mg.stack, mg.concatenate, +) to combine tensors")
            if copy:
                return np.array(self._data, dtype=dtype, copy=True)
            return self._data if dtype is None else self._data.astype(dtype, copy=False)

    def _label(self) -> str:
        return f" '{self.name}'" if self.name else ""

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", precision=4, threshold=20,
                               edgeitems=3, prefix="tensor(")
        extras = [f"dtype={self._data.dtype}"]
        if self._ctx is not None:
            extras.append(f"op={self._ctx.op_name}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return f"tensor({body}, {', '.join(extras)})"

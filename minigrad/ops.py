"""The primitive operations: each forward with its backward right below it.

Backward formulas are written once, with numpy operations on the saved
inputs and outputs. In a first-order pass they run on ndarrays; with
`create_graph=True` they run on Tensors and are recorded (see engine.py).
Everything else in minigrad is composed from these primitives.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import DTypeLike

from . import buffers, modes
from .dispatch import call as _call
from .dispatch import register
from .engine import ArrayLike, Axis, Function, Tensor, _make, as_array
from .modes import is_grad_enabled
from .versions import bump_version

# What forward and backward compute with: ndarrays (or Python numbers) in a forward; in a
# backward ndarrays, or Tensors while create_graph=True records it.
Array: TypeAlias = Any
# What backward returns: one gradient per input of forward (None: no gradient).
Grads: TypeAlias = Any


def _normalize_axes(axis: Axis, ndim: int, op: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(
                f"{op}: axis {a} is out of bounds for a tensor of dimension {ndim}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(out)


def _shape_error(op: str, *arrays: Any, detail: str = "") -> ValueError:
    shapes = " and ".join(str(np.shape(a)) for a in arrays)
    return ValueError(f"{op}: shapes {shapes} {detail or 'cannot be broadcast together'}")


# ------------------------------------------------------------ arithmetic

class Add(Function, method=("__add__", "__radd__"), numpy=np.add):
    @staticmethod
    def forward(ctx: Function, a: Array, b: Array) -> Array:
        return a + b

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        return g, g


def add(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a + b, broadcast as numpy does."""
    return Add.apply(a, b)


class Sub(Function, method="__sub__", reflected="__rsub__", numpy=np.subtract):
    @staticmethod
    def forward(ctx: Function, a: Array, b: Array) -> Array:
        return a - b

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        return g, (-g if ctx.needs_input_grad[1] else None)


def sub(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a - b, broadcast as numpy does."""
    return Sub.apply(a, b)


class Mul(Function, method=("__mul__", "__rmul__"), numpy=np.multiply):
    @staticmethod
    def forward(ctx: Function, a: Array, b: Array) -> Array:
        need_a, need_b = ctx.needs_input_grad         # each gradient reads the other input
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return a * b

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


def mul(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a * b elementwise, broadcast as numpy does."""
    return Mul.apply(a, b)


class Div(Function, method="__truediv__", reflected="__rtruediv__", numpy=np.true_divide):
    @staticmethod
    def forward(ctx: Function, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)   # a: for b's only
        return a / b

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        a, b = ctx.saved_tensors
        ga = g / b
        return ga, (-ga * a / b if ctx.needs_input_grad[1] else None)


def div(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a / b elementwise (true division), broadcast as numpy does."""
    return Div.apply(a, b)


class Pow(Function, method="__pow__", reflected="__rpow__", numpy=np.power):
    @staticmethod
    def forward(ctx: Function, a: Array, b: Array) -> Array:
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = None
        if need_a:
            if isinstance(b, (int, float)) and b != 0:       # x ** 2 and the like
                ga = g * b * a ** (b - 1)
            else:                       # at a = b = 0 the gradient is 0 (as in PyTorch)
                zero = (a == 0) & (b == 0)
                base = np.where(zero, 1, a) if np.any(zero) else a
                ga = g * b * base ** (b - 1)
        gb = None
        if need_b:     # d/db a**b = a**b log a, as PyTorch takes it: NaN where a < 0,
            #            -inf at a = 0 with b < 0, and 0 at a = 0 with b >= 0
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = g * out * np.log(np.where((a == 0) & (b >= 0), 1, a))
        return ga, gb


def power(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a ** b elementwise; differentiable in both (d/db = a**b · log a)."""
    return Pow.apply(a, b)


class Neg(Function, method="__neg__", numpy=np.negative):
    @staticmethod
    def forward(ctx: Function, a: Array) -> Array:
        return np.negative(a)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        return -g


def neg(a: ArrayLike) -> Tensor:
    """-a."""
    return Neg.apply(a)


class MatMul(Function, method=("__matmul__", "matmul", "dot"), reflected="__rmatmul__",
             numpy=np.matmul):
    op_name = "matmul"
    @staticmethod
    def forward(ctx: Function, a: Array, b: Array) -> Array:
        ndims = ctx.ndims = np.ndim(a), np.ndim(b)
        if 0 in ndims:
            raise ValueError(f"matmul: operands must not be scalars, got shapes "
                             f"{np.shape(a)} and {np.shape(b)}; use * for scaling")
        try:
            out = np.matmul(a, b)
        except ValueError:
            raise _shape_error("matmul", a, b, detail="are not aligned") from None
        need_a, need_b = ctx.needs_input_grad         # each gradient reads the other input
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return out

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        a_ndim, b_ndim = ctx.ndims
        if a_ndim == 2 and b_ndim == 2:
            return (g @ b.T if need_a else None), (a.T @ g if need_b else None)
        if a_ndim == 1 and b_ndim == 1:
            return (g * b if need_a else None), (g * a if need_b else None)
        ga = gb = None
        if a_ndim == 1:                       # (k,) @ (..., k, m) -> (..., m)
            g = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
            if need_a:
                ga = g @ b.swapaxes(-1, -2)
            if need_b:
                gb = a.reshape(-1, 1) @ g
        elif b_ndim == 1:                     # (..., n, k) @ (k,) -> (..., n)
            g = g.reshape(g.shape + (1,))
            if need_a:
                ga = g @ b.reshape(1, -1)
            if need_b:
                gb = (a.swapaxes(-1, -2) @ g).reshape(a.shape[:-2] + (a.shape[-1],))
        else:                                 # batched, batch axes broadcast
            if need_a:
                ga = g @ b.swapaxes(-1, -2)
            if need_b:
                gb = a.swapaxes(-1, -2) @ g
        if ga is not None and a_ndim == 1:
            ga = ga.reshape(ga.shape[:-2] + (ga.shape[-1],))
        return ga, gb


def matmul(a: ArrayLike, b: ArrayLike) -> Tensor:
    """The matrix product a @ b: 1-D, 2-D, or stacks of matrices with broadcast batch axes."""
    return MatMul.apply(a, b)


@register(numpy=np.dot)
def _np_dot(a: ArrayLike, b: ArrayLike) -> Tensor:
    """numpy.dot: a product with a scalar, or matmul for 1-D and 2-D operands."""
    if np.ndim(as_array(a)) == 0 or np.ndim(as_array(b)) == 0:
        return mul(a, b)
    if np.ndim(as_array(a)) > 2 or np.ndim(as_array(b)) > 2:
        raise TypeError("numpy.dot of tensors with more than 2 dimensions is not supported; "
                        "use matmul (its rules for stacks of matrices differ from dot's)")
    return matmul(a, b)


def _rows(a: Any) -> int:
    """The number of rows of a with its leading axes folded into one (also when an axis
    is empty, where reshape(-1, n) cannot tell)."""
    return int(np.prod(a.shape[:-1]))


class Linear(Function):
    """x @ W + b in one node (the book's Affine layer); x may have leading batch axes."""

    @staticmethod
    def forward(ctx: Function, x: Array, W: Array, b: Array = None) -> Array:
        x, W = np.asarray(x), np.asarray(W)
        b = None if b is None else np.asarray(b)
        if W.ndim != 2 or x.ndim < 1 or x.shape[-1] != W.shape[0] or (
                b is not None and b.shape not in ((W.shape[1],), (1, W.shape[1]))):
            shapes = f"x {x.shape}, W {W.shape}" + (f", b {b.shape}" if b is not None else "")
            raise ValueError(f"linear: shapes {shapes} do not fit: need x (..., in), "
                             "W (in, out), b (out,)")
        need_x, need_W = ctx.needs_input_grad[:2]     # each gradient reads the other input
        ctx.save_for_backward(x if need_W else None, W if need_x else None)
        ctx.b_shape = None if b is None else b.shape
        # leading axes folded into one: a single matrix product (numpy loops over a stack)
        if buffers.state.pool is not None and x.dtype == W.dtype and x.dtype.isnative:
            # a replay: the product written into a kept array
            rows = x.reshape(_rows(x), x.shape[-1])
            out = np.matmul(rows, W, out=buffers.empty((rows.shape[0], W.shape[1]), x.dtype))
            out = out.reshape(*x.shape[:-1], W.shape[1])
        else:
            out = (x.reshape(_rows(x), x.shape[-1]) @ W).reshape(*x.shape[:-1], W.shape[1]) \
                if x.ndim > 2 else x @ W
        if b is not None:
            if b.dtype == out.dtype and b.ndim <= out.ndim:
                out += b                  # no new array
            else:                         # numpy's promotion and broadcasting
                out = out + b
        return out

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        x, W = ctx.saved_tensors
        need_x, need_W, need_b = (*ctx.needs_input_grad, False)[:3]      # b may be left out
        g2 = g.reshape(_rows(g), g.shape[-1]) if g.ndim > 2 else g
        gx = None
        if need_x:
            gx = (g2 @ W.T).reshape(*g.shape[:-1], W.shape[0]) if g.ndim > 2 else g @ W.T
        gW = None
        if need_W:
            if g.ndim > 2:
                x = x.reshape(_rows(x), x.shape[-1])
            gW = x.T @ g2 if x.ndim == 2 else x.reshape(-1, 1) @ g2.reshape(1, -1)
        gb = None
        if need_b:                                    # (a fresh sum, reshaped only if b is 2-D)
            gb = g2.sum(axis=0) if g2.ndim == 2 else g2.reshape(ctx.b_shape)
            if gb.shape != ctx.b_shape:
                gb = gb.reshape(ctx.b_shape)
        return gx, gW, gb


def linear(x: ArrayLike, W: ArrayLike, b: ArrayLike | None = None) -> Tensor:
    """x @ W + b as one node (the book's Affine layer); without b, x @ W."""
    return Linear.apply(x, W) if b is None else Linear.apply(x, W, b)


class Clone(Function, method="clone"):
    """A copy of the values that stays in the graph (the gradient passes through)."""

    @staticmethod
    def forward(ctx: Function, a: Array) -> Array:
        return np.array(a, copy=True)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        return g


# ------------------------------------------------------------ elementwise

class Exp(Function, method="exp", numpy=np.exp):
    @staticmethod
    def forward(ctx: Function, a: Array) -> Array:
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        out, = ctx.saved_tensors
        return g * out


def exp(a: ArrayLike) -> Tensor:
    """e ** a, elementwise."""
    return Exp.apply(a)


class Log(Function, method="log", numpy=np.log):
    @staticmethod
    def forward(ctx: Function, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        a, = ctx.saved_tensors
        return g / a


def log(a: ArrayLike) -> Tensor:
    """The natural logarithm, elementwise."""
    return Log.apply(a)


class Sqrt(Function, method="sqrt", numpy=np.sqrt):
    @staticmethod
    def forward(ctx: Function, a: Array) -> Array:
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        out, = ctx.saved_tensors
        return g / (2 * out)


def sqrt(a: ArrayLike) -> Tensor:
    """The square root, elementwise."""
    return Sqrt.apply(a)


class Sin(Function, method="sin", numpy=np.sin):
    @staticmethod
    def forward(ctx: Function, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        a, = ctx.saved_tensors
        return g * np.cos(a)


def sin(a: ArrayLike) -> Tensor:
    """The sine, elementwise (radians)."""
    return Sin.apply(a)


class Cos(Function, method="cos", numpy=np.cos):
    @staticmethod
    def forward(ctx: Function, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        a, = ctx.saved_tensors
        return -g * np.sin(a)


def cos(a: ArrayLike) -> Tensor:
    """The cosine, elementwise (radians)."""
    return Cos.apply(a)


class Tanh(Function, method="tanh", numpy=np.tanh):
    @staticmethod
    def forward(ctx: Function, a: Array) -> Array:
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        out, = ctx.saved_tensors
        return g * (1 - out * out)


def tanh(a: ArrayLike) -> Tensor:
    """The hyperbolic tangent, elementwise."""
    return Tanh.apply(a)


class Sigmoid(Function, method="sigmoid"):
    @staticmethod
    def forward(ctx: Function, a: Array) -> Array:
        with np.errstate(over="ignore"):       # e^-a = inf gives the right limit, 0
            out = 1 / (1 + np.exp(-a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        out, = ctx.saved_tensors
        d = 1 - out                # a new array (or Tensor), so the products can go in place
        d *= out
        d *= g
        return d


def sigmoid(a: ArrayLike) -> Tensor:
    """1 / (1 + exp(-a)), elementwise; its gradient is s·(1 - s)."""
    return Sigmoid.apply(a)


class Relu(Function, method="relu"):
    @staticmethod
    def forward(ctx: Function, a: Array) -> Array:
        ctx.save_for_backward(a)
        if buffers.state.pool is not None and a.dtype.kind == "f" and a.dtype.isnative:
            # a replay: into a kept array
            return np.maximum(a, 0, out=buffers.empty_like(a))
        return np.maximum(a, 0)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        a, = ctx.saved_tensors
        return _call(ReluGrad, g, a)


def relu(a: ArrayLike) -> Tensor:
    """max(a, 0), elementwise; the gradient is 1 where a > 0 (and at NaN), 0 elsewhere."""
    return Relu.apply(a)


class Abs(Function, method=("abs", "__abs__"), numpy=np.absolute):
    @staticmethod
    def forward(ctx: Function, a: Array) -> Array:
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        a, = ctx.saved_tensors
        return g * _call(Sign, a)


def abs(a: ArrayLike) -> Tensor:
    """|a|, elementwise; the gradient is sign(a), 0 at 0."""
    return Abs.apply(a)


class ReluGrad(Function):
    """relu's backward: g where a > 0 (or NaN, as in PyTorch), else 0, even where g is not
    finite. A primitive, so that relu differentiates again: linear in g, and its
    derivative in a is 0 (a stays connected, so second derivatives are zeros)."""

    @staticmethod
    def forward(ctx: Function, g: Array, a: Array) -> Array:
        ctx.save_for_backward(a)
        ctx.shape, ctx.dtype = np.shape(a), np.result_type(a)
        return np.where(a <= 0, 0, g)

    @staticmethod
    def backward(ctx: Function, gg: Array) -> Grads:
        a, = ctx.saved_tensors
        return _call(ReluGrad, gg, a), np.zeros(ctx.shape, ctx.dtype)


class Sign(Function):
    """sign(a), abs's derivative: piecewise constant, so its own gradient is 0; recorded,
    it keeps abs's gradient connected to a, which then differentiates again (to zeros)."""

    @staticmethod
    def forward(ctx: Function, a: Array) -> Array:
        ctx.shape, ctx.dtype = a.shape, a.dtype
        return np.sign(a)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        return np.zeros(ctx.shape, ctx.dtype)


class Clip(Function):
    """np.clip: min(max(a, lo), hi). Bounds may be tensors; each gets the gradient where
    it is the result (as torch.clamp: where lo > hi, hi wins)."""

    @staticmethod
    def forward(ctx: Function, a: Array, lo: Array, hi: Array) -> Array:
        if lo is None and hi is None:
            raise ValueError("clip: give at least one of lo and hi")
        ctx.save_for_backward(a, lo, hi)
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        a, lo, hi = ctx.saved_tensors
        _, need_lo, need_hi = ctx.needs_input_grad
        if lo is None:
            return g * (a <= hi), None, (g * (a > hi) if need_hi else None)
        if hi is None:
            return g * (a >= lo), (g * (a < lo) if need_lo else None), None
        g_lo = g * ((a < lo) & (lo < hi)) if need_lo else None
        g_hi = g * ((a > hi) | (hi < lo)) if need_hi else None
        return g * ((a >= lo) & (a <= hi)), g_lo, g_hi


@register(method="clip")
def clip(a: ArrayLike, lo: ArrayLike | None = None, hi: ArrayLike | None = None) -> Tensor:
    """Limit values to [lo, hi]; the gradient is 1 inside, bounds included, 0 outside.

    Tensor bounds get the gradient where they are the result (they are passed to the
    node by position, so they are its inputs).
    """
    return Clip.apply(a, lo, hi)


@register(numpy=np.clip)
def _np_clip(a: ArrayLike, a_min: ArrayLike | None = None, a_max: ArrayLike | None = None, *,
             min: ArrayLike | None = None, max: ArrayLike | None = None) -> Tensor:
    return clip(a, a_min if min is None else min, a_max if max is None else max)


class Maximum(Function, numpy=np.maximum):
    @staticmethod
    def forward(ctx: Function, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        a, b = ctx.saved_tensors
        tie = 0.5 * g * (a == b)                   # ties share the gradient;
        return g * ~(a <= b) + tie, g * ~(a >= b) + tie    # NaN passes it to both (PyTorch)


def maximum(a: ArrayLike, b: ArrayLike) -> Tensor:
    """The elementwise larger of a and b; tied elements share the gradient."""
    return Maximum.apply(a, b)


class Minimum(Function, numpy=np.minimum):
    @staticmethod
    def forward(ctx: Function, a: Array, b: Array) -> Array:
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        a, b = ctx.saved_tensors
        tie = 0.5 * g * (a == b)
        return g * ~(a >= b) + tie, g * ~(a <= b) + tie


def minimum(a: ArrayLike, b: ArrayLike) -> Tensor:
    """The elementwise smaller of a and b; tied elements share the gradient."""
    return Minimum.apply(a, b)


class Where(Function):
    @staticmethod
    def forward(ctx: Function, condition: Array, a: Array, b: Array) -> Array:
        condition = np.array(condition, dtype=bool)      # a copy, for backward
        ctx.save_for_backward(condition)
        try:
            return np.where(condition, a, b)
        except ValueError:
            raise _shape_error("where", condition, a, b) from None

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        (c,) = ctx.saved_tensors
        return None, np.where(c, g, 0), np.where(c, 0, g)


def where(condition: ArrayLike, a: ArrayLike, b: ArrayLike) -> Tensor:
    """Elements of a where condition holds, else of b (condition gets no gradient)."""
    return Where.apply(condition, a, b)


@register(numpy=np.where)
def _np_where(condition: ArrayLike, *choices: ArrayLike) -> Any:
    if not choices:                               # np.where(cond): the indices, no gradient
        return np.nonzero(as_array(condition))
    return where(condition, *choices)


class Cast(Function):
    @staticmethod
    def forward(ctx: Function, a: Array, dtype: np.dtype) -> Array:
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        return g.astype(ctx.dtype)


@register(method="astype")
def _astype(self: Tensor, dtype: DTypeLike) -> Tensor:
    """A float dtype stays in the graph; integers and bools have no gradient, so leave it."""
    dtype = np.dtype(dtype)
    if dtype == self.dtype:
        return self
    if np.issubdtype(dtype, np.floating):
        return Cast.apply(self, dtype)
    return _make(self._data.astype(dtype), None, False)


# ------------------------------------------------------------ reductions

class Sum(Function, method="sum", numpy=np.sum):
    @staticmethod
    def forward(ctx: Function, a: Array, axis: Axis = None, keepdims: bool = False) -> Array:
        axes = _normalize_axes(axis, a.ndim, "sum")
        ctx.shape = a.shape
        ctx.kept = tuple(1 if i in axes else n for i, n in enumerate(a.shape))
        return a.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        return np.broadcast_to(g.reshape(ctx.kept), ctx.shape)


def sum(a: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """The sum over `axis` (an int, a tuple, or None for all), as numpy's sum."""
    return Sum.apply(a, axis, keepdims)


@register(method="mean", numpy=np.mean)
def mean(a: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """The mean over `axis` (an int, a tuple, or None for all), as numpy's mean."""
    shape = np.shape(as_array(a))
    count = int(np.prod([shape[i] for i in _normalize_axes(axis, len(shape), "mean")]))
    return Sum.apply(a, axis, keepdims) / count


class _Extremum(Function):
    """max or min over axes; tied elements share the gradient equally."""

    reduce: Any = None

    @classmethod
    def forward(cls, ctx: Function, a: Array, axis: Axis = None, keepdims: bool = False) -> Array:
        name = cls.op_name
        axes = _normalize_axes(axis, a.ndim, name)
        if a.size == 0:
            raise ValueError(f"{name}: the tensor of shape {a.shape} is empty")
        out = cls.reduce(a, axis=axes, keepdims=True)
        hit = a == out
        ctx.save_for_backward(hit / hit.sum(axis=axes, keepdims=True, dtype=a.dtype))
        ctx.kept = out.shape
        return out if keepdims else out.reshape(
            tuple(n for i, n in enumerate(a.shape) if i not in axes))

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        (weights,) = ctx.saved_tensors            # a constant: max is piecewise linear
        return weights * g.reshape(ctx.kept)


class Max(_Extremum, method="max", numpy=(np.max, np.amax)):
    reduce = staticmethod(np.max)


def max(a: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """The maximum over `axis` (None for all); tied elements share the gradient."""
    return Max.apply(a, axis, keepdims)


class Min(_Extremum, method="min", numpy=(np.min, np.amin)):
    reduce = staticmethod(np.min)


def min(a: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """The minimum over `axis` (None for all); tied elements share the gradient."""
    return Min.apply(a, axis, keepdims)


# ------------------------------------------------------------ shapes

_RESHAPE_COPY = np.lib.NumpyVersion(np.__version__) >= "2.1.0"   # reshape(copy=False)


class Reshape(Function):
    @staticmethod
    def forward(ctx: Function, a: Array, shape: tuple[int, ...]) -> Array:
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} "
                             f"(size {a.size}) into shape {tuple(shape)}") from None

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        if buffers.state.pool is not None and not g.flags.c_contiguous and _RESHAPE_COPY:
            try:                                # a replay: a view if it can be,
                return np.reshape(g, ctx.shape, copy=False)
            except ValueError:                  # else a copy into a kept array
                out = buffers.empty(ctx.shape, g.dtype)
                np.copyto(out.reshape(g.shape), g)
                return out
        return g.reshape(ctx.shape)


@register(method="reshape")
def reshape(a: ArrayLike, *shape: int | Sequence[int]) -> Tensor:
    """The same values in a new shape: reshape(a, 2, 3) or reshape(a, (2, 3))."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape.apply(a, shape)


@register(numpy=np.reshape)
def _np_reshape(a: ArrayLike, shape: Any = None, order: str = "C", *, newshape: Any = None,
                copy: Any = None) -> Tensor:
    if order != "C":
        raise TypeError(f"numpy.reshape on a tensor: only order='C' is supported, got {order!r}")
    return reshape(a, newshape if shape is None else shape)


@register(method="expand_dims", numpy=np.expand_dims)
def expand_dims(a: ArrayLike, axis: int | Sequence[int]) -> Tensor:
    """a with new axes of length 1 inserted at `axis`, as numpy's expand_dims."""
    shape = np.shape(as_array(a))
    axes = _normalize_axes(axis, len(shape) + len(
        (axis,) if isinstance(axis, (int, np.integer)) else axis), "expand_dims")
    new = list(shape)
    for ax in sorted(axes):
        new.insert(ax, 1)
    return Reshape.apply(a, tuple(new))


@register(method="squeeze", numpy=np.squeeze)
def squeeze(a: ArrayLike, axis: Axis = None) -> Tensor:
    """a without its axes of length 1 (only those of `axis`, if given)."""
    shape = np.shape(as_array(a))
    if axis is None:
        axes = tuple(i for i, n in enumerate(shape) if n == 1)
    else:
        axes = _normalize_axes(axis, len(shape), "squeeze")
        for ax in axes:
            if shape[ax] != 1:
                raise ValueError(f"squeeze: axis {ax} of shape {shape} has size {shape[ax]}, "
                                 "not 1")
    return Reshape.apply(a, tuple(n for i, n in enumerate(shape) if i not in axes))


@register(method="flatten", numpy=np.ravel)
def flatten(a: ArrayLike) -> Tensor:
    """All of a's values in one axis, in row-major order (numpy's ravel)."""
    return Reshape.apply(a, (-1,))


class Transpose(Function):
    @staticmethod
    def forward(ctx: Function, a: Array, axes: Sequence[int] | None = None) -> Array:
        if axes is None:
            axes = tuple(range(a.ndim))[::-1]
        elif sorted(_normalize_axes(axes, a.ndim, "transpose")) != list(range(a.ndim)):
            raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation "
                             f"of the {a.ndim} axes of shape {a.shape}")
        ctx.inverse = tuple(np.argsort(_normalize_axes(axes, a.ndim, "transpose")))
        return a.transpose(axes)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        return g.transpose(ctx.inverse)


@register(method="transpose")
def transpose(a: ArrayLike, *axes: int | Sequence[int] | None) -> Tensor:
    """Axes reversed, or permuted as given: transpose(a, 1, 0) or transpose(a, (1, 0))."""
    order: Any = axes
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        order = axes[0]
    return Transpose.apply(a, tuple(order) if order else None)


@register(numpy=np.transpose)
def _np_transpose(a: ArrayLike, axes: Sequence[int] | None = None) -> Tensor:
    return transpose(a, axes)


@register(method="swapaxes", numpy=np.swapaxes)
def swapaxes(a: ArrayLike, axis1: int, axis2: int) -> Tensor:
    """a with axes axis1 and axis2 exchanged, as numpy's swapaxes."""
    ndim = np.ndim(as_array(a))
    (i,), (j,) = (_normalize_axes(axis, ndim, "swapaxes") for axis in (axis1, axis2))
    order = list(range(ndim))
    order[i], order[j] = order[j], order[i]
    return Transpose.apply(a, tuple(order))


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx: Function, a: Array, shape: tuple[int, ...]) -> Array:
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {a.shape} "
                             f"to shape {tuple(shape)}") from None

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        return g          # the engine sums it back to the input's shape


@register(method="broadcast_to", numpy=np.broadcast_to)
def broadcast_to(a: ArrayLike, shape: int | Sequence[int]) -> Tensor:
    """a repeated along new or length-1 axes to `shape`; the gradient is summed back."""
    return BroadcastTo.apply(a, (shape,) if isinstance(shape, int) else tuple(shape))


def _is_basic(index: Any) -> bool:
    """True for indices that select each element at most once (no integer arrays)."""
    items = index if isinstance(index, tuple) else (index,)
    return not any(isinstance(i, (list, tuple, np.ndarray)) and np.asarray(i).dtype != bool
                   for i in items)


class GetItem(Function):
    op_name = "getitem"
    @staticmethod
    def forward(ctx: Function, a: Array, index: Any) -> Array:
        ctx.shape, ctx.index = a.shape, index
        try:
            return a[index]
        except IndexError as e:
            raise IndexError(f"getitem: {e} (tensor of shape {a.shape})") from None

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        return _call(ScatterAdd, g, ctx.index, ctx.shape)


@register(method="__getitem__")
def _getitem(self: Tensor, key: Any) -> Tensor:
    return GetItem.apply(self, _index(key))


def _index(key: Any) -> Any:
    """An index as numpy takes it, with its arrays copied: changing the caller's index
    array after the forward must not change the backward."""
    if isinstance(key, tuple):
        return tuple(_index_part(k) for k in key)
    return _index_part(key)


def _index_part(k: Any) -> Any:
    if isinstance(k, (Tensor, np.ndarray)):      # (mg.compile's replay passes new ones in)
        k = as_array(k)
        return k if modes.tracer is not None else k.copy()
    if isinstance(k, (list, tuple)):
        return np.array(k)
    return k


class ScatterAdd(Function):
    """Zeros of `shape` with g added at `index`: the backward of indexing."""

    @staticmethod
    def forward(ctx: Function, g: Array, index: Any, shape: tuple[int, ...]) -> Array:
        ctx.index = index
        out = np.zeros(shape, dtype=g.dtype)
        if _is_basic(index):
            out[index] = g
        else:
            np.add.at(out, index, g)      # repeated indices add up
        return out

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        return g[ctx.index]


class Concatenate(Function):
    @staticmethod
    def forward(ctx: Function, *arrays: Array, axis: int | None = 0) -> Array:
        if not arrays:
            raise ValueError("concatenate: needs at least one tensor")
        ctx.shapes = None
        if axis is None:                  # numpy: flatten them all first
            ctx.shapes = [np.shape(a) for a in arrays]
            arrays = tuple(np.ravel(a) for a in arrays)
            axis = 0
        ndim = np.ndim(arrays[0])
        axis, = _normalize_axes(axis, ndim, "concatenate")
        try:
            out = np.concatenate(arrays, axis=axis)
        except ValueError:
            shapes = ", ".join(str(np.shape(a)) for a in arrays)
            raise ValueError(f"concatenate: shapes {shapes} do not match "
                             f"except along axis {axis}") from None
        ctx.axis = axis
        ctx.bounds = np.cumsum([0] + [np.shape(a)[axis] for a in arrays]).tolist()
        return out

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        lead = (slice(None),) * ctx.axis
        b = ctx.bounds
        pieces = tuple(g[lead + (slice(b[i], b[i + 1]),)] for i in range(len(b) - 1))
        if ctx.shapes is not None:
            pieces = tuple(piece.reshape(shape) for piece, shape in zip(pieces, ctx.shapes))
        return pieces


@register(numpy=np.concatenate)
def concatenate(tensors: Sequence[ArrayLike], axis: int | None = 0) -> Tensor:
    """The tensors joined along an existing axis (None: flattened first), as numpy's."""
    return Concatenate.apply(*tensors, axis=axis)


class Stack(Function):
    @staticmethod
    def forward(ctx: Function, *arrays: Array, axis: int = 0) -> Array:
        if not arrays:
            raise ValueError("stack: needs at least one tensor")
        axis, = _normalize_axes(axis, np.ndim(arrays[0]) + 1, "stack")
        try:
            out = np.stack(arrays, axis=axis)
        except ValueError:
            shapes = ", ".join(str(np.shape(a)) for a in arrays)
            raise ValueError(f"stack: all shapes must be equal, got {shapes}") from None
        ctx.axis, ctx.count = axis, len(arrays)
        return out

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        lead = (slice(None),) * ctx.axis
        return tuple(g[lead + (i,)] for i in range(ctx.count))


@register(numpy=np.stack)
def stack(tensors: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """The tensors, all of one shape, joined along a new axis."""
    return Stack.apply(*tensors, axis=axis)


@functools.lru_cache(maxsize=32)
def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of n ones (row sums as a matrix-vector product)."""
    ones = np.ones(n, dtype)
    ones.flags.writeable = False
    return ones


def check_targets(t: ArrayLike, shape: tuple[int, ...], op: str, scores: str = "logits"
                  ) -> tuple[np.ndarray, bool]:
    """Targets for `scores` of `shape` (..., C): flat integer labels in [0, C) (True), or
    numeric rows of `shape` (False); anything else is a ValueError naming `op`."""
    t = np.asarray(as_array(t))
    classes = shape[-1]
    if t.dtype.kind in "iu" and t.shape == shape[:-1]:
        labels = t.reshape(-1)
        # one pass: negative labels become huge as unsigned integers
        if labels.size and labels.view(labels.dtype.str.replace("i", "u")).max() >= classes:
            raise ValueError(f"{op}: labels must be in [0, {classes}), got values from "
                             f"{labels.min()} to {labels.max()}")
        return labels, True
    if t.shape == shape and t.dtype.kind in "fiub":
        return t, False
    raise ValueError(
        f"{op}: targets of shape {t.shape} and dtype {t.dtype} do not fit {scores} of shape "
        f"{shape}: give integer labels of shape {shape[:-1]} or target rows of shape {shape}")


class SoftmaxCrossEntropy(Function):
    """Mean cross-entropy of softmax(logits) against labels or target distributions.

    Fused for stability (log-sum-exp) and speed: the gradient is
    (softmax(logits)·Σt - t) / N, with the softmax kept from the forward (for
    labels and for target rows that sum to 1, (softmax - t) / N). float16
    logits are computed in float32, as PyTorch does, and the loss returned in
    float16.
    """

    @staticmethod
    def forward(ctx: Function, logits: Array, t: Array) -> Array:
        if logits.ndim not in (1, 2):
            raise ValueError(f"softmax_cross_entropy: logits must be (N, C) or (C,), "
                             f"got shape {logits.shape}")
        t = np.asarray(t)
        n = logits.shape[0] if logits.ndim == 2 else 1
        targets, are_labels = check_targets(t, logits.shape, "softmax_cross_entropy")
        labels = targets if are_labels else None
        x = logits.astype(np.float32) if logits.dtype == np.float16 else logits
        if labels is None and t.dtype.kind in "iub":    # integer or bool rows: as numbers
            t = t.astype(x.dtype)
        # Shift by the row maxima, or by the overall maximum when every row lies
        # close enough to it that no row's exponentials can all underflow (faster).
        top, bottom = x.max(), x.min()
        close = bottom - top > (-80.0 if x.dtype.itemsize <= 4 else -700.0)
        shift = top if close else x.max(axis=-1, keepdims=True)
        z = x - shift
        rows = None
        if labels is not None:                        # the labels' scores, then z is free
            rows = np.arange(n)
            picked = z.reshape(n, -1)[rows, labels]
        p = np.exp(z, out=z) if labels is not None else np.exp(z)
        total = p @ _ones(p.shape[-1], p.dtype)       # row sums, by BLAS
        p /= total[..., None]                         # the softmax, for backward
        log_total = np.log(total).reshape(n)
        if labels is None:
            z = z.reshape(n, -1)
            loss = -(t.reshape(n, -1) * (z - log_total[:, None])).sum(dtype=x.dtype)
        else:
            loss = (log_total - picked).sum()
        ctx.save_for_backward(logits, p, t)
        ctx.shift, ctx.n, ctx.rows = shift, n, rows
        return np.asarray(loss / n, dtype=logits.dtype)

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        logits, p, t = ctx.saved_tensors
        p = _call(Softmax, logits, ctx.shift, p)   # the kept softmax, a function of the logits
        if ctx.rows is not None:                   # labels: the target is one-hot
            scale = g / ctx.n
            if isinstance(p, Tensor):              # recording: no writes into the graph
                ctx.shared = True      # p is saved by that graph's Softmax: never written
                target = np.zeros(p.shape, dtype=p.dtype)
                target.reshape(ctx.n, -1)[ctx.rows, t.reshape(-1)] = 1
                d = p - target
                d *= scale             # a new Tensor: scaled in place
                return d
            # the same values without a one-hot array: p·scale, then (p - 1)·scale at labels,
            # written over p when nothing else can read it (the graph is not kept, and no
            # recorded backward saved p)
            at = (ctx.rows, t.reshape(-1))
            at_labels = p.reshape(ctx.n, -1)[at] - 1
            mine = not modes.grad_mode.retaining and not getattr(ctx, "shared", False)
            d = np.multiply(p, scale, out=p if mine else np.empty_like(p))
            d.reshape(ctx.n, -1)[at] = at_labels * scale
            return d
        g_t = None
        if ctx.needs_input_grad[1]:               # target rows that require grad
            z = logits - ctx.shift
            g_t = (np.log(np.exp(z).sum(axis=-1, keepdims=True)) - z) * (g / ctx.n)
        # rows need not sum to 1 (an all-zero row masks a sample)
        return (p * t.sum(axis=-1, keepdims=True) - t) * (g / ctx.n), g_t


class Softmax(Function):
    """softmax(x - shift) along the last axis, for a constant shift; `known` is that softmax
    computed already (by SoftmaxCrossEntropy's forward), used as the result. Through it,
    SoftmaxCrossEntropy's backward differentiates again."""

    @staticmethod
    def forward(ctx: Function, x: Array, shift: Array, known: Array = None) -> Array:
        if np.ndim(x) == 0:
            raise ValueError("softmax: needs an axis to normalise along, got a 0-d input")
        if known is None:
            e = np.exp(x - shift)
            known = e / e.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(known)
        return known

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        p, = ctx.saved_tensors
        return p * (g - (g * p).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(logits: ArrayLike, t: ArrayLike) -> Tensor:
    """Mean cross-entropy of softmax(logits) (N, C) against integer labels (N,) or target
    rows (N, C); one fused, stable node."""
    return SoftmaxCrossEntropy.apply(logits, t)


# ------------------------------------------------------------ in-place operators
#
# `t += x` (and -=, *=, /=, **=, @=, t[i] = x, t.zero_()) writes into t's array and counts
# as a write (version counters), as on an ndarray: that is how parameters are updated,
# `with mg.no_grad(): p -= lr * p.grad`. While operations are recorded, a tensor in the
# graph is never written into: arrays saved for a backward must keep their values.
# Then a leaf that requires grad refuses (as in PyTorch), and any other tensor records
# the operation and takes its result: `y += b` makes y stand for the new value, in the
# graph, and leaves the array y held before as it was.

def _recording(self: Tensor, other: Any) -> bool:
    """Would `self op= other` have to be recorded?"""
    return is_grad_enabled() and (self._requires_grad or (      # (a graph tensor requires it)
        isinstance(other, Tensor) and other._requires_grad))


def _refuse_leaf(self: Tensor, what: str) -> None:
    if self._requires_grad and self._ctx is None:
        raise RuntimeError(
            f"{what}: the tensor{self._label()} is a leaf that requires grad, which cannot be "
            "changed in place while operations are recorded. Update parameters inside "
            "`with mg.no_grad():` (e.g. `with mg.no_grad(): p -= lr * p.grad`), or with an "
            "optimizer's step()")


def _in_place(op: Callable[[Any, Any], Tensor], ufunc: np.ufunc, symbol: str
              ) -> Callable[[Tensor, ArrayLike], Tensor]:
    """The operator `self op= other`, for the ufunc behind `op` (see above)."""
    def operator(self: Tensor, other: ArrayLike) -> Tensor:
        if not _recording(self, other):
            try:
                ufunc(self._data, as_array(other), out=self._data)
            except (TypeError, ValueError) as error:     # numpy's casting and shape errors
                kind = TypeError if isinstance(error, TypeError) else ValueError
                raise kind(f"{symbol}: {error} (tensor of shape {self.shape} and dtype "
                                  f"{self.dtype}, operand of shape {np.shape(as_array(other))} "
                                  f"and dtype {np.result_type(as_array(other))})") from None
            bump_version(self._data)
            return self
        _refuse_leaf(self, symbol)
        result = op(_make(self._data, self._ctx, self._requires_grad), other)
        if result.shape != self.shape:
            raise ValueError(f"{symbol}: the result has shape {result.shape}, but the tensor "
                             f"it would be written into has shape {self.shape}")
        _take_result(self, result if result.dtype == self.dtype else result.astype(self.dtype))
        return self
    operator.__name__ = symbol
    return operator


def _take_result(self: Tensor, result: Tensor) -> None:
    """Make `self` the recorded `result` (what an in-place operation records)."""
    node = self._ctx
    if node is not None and node.retained_by is not None and node.retained_by() is self:
        node.retained_by = None                    # retain_grad() follows the tensor
        if result._ctx is not None:
            result._ctx.retained_by = weakref.ref(self)
    self._data, self._ctx, self._requires_grad = result._data, result._ctx, result._requires_grad


for _name, _symbol, _op, _ufunc in [
        ("__iadd__", "+=", Add.apply, np.add), ("__isub__", "-=", Sub.apply, np.subtract),
        ("__imul__", "*=", Mul.apply, np.multiply),
        ("__itruediv__", "/=", Div.apply, np.true_divide),
        ("__ipow__", "**=", Pow.apply, np.power), ("__imatmul__", "@=", MatMul.apply, np.matmul)]:
    register(method=_name)(_in_place(_op, _ufunc, _symbol))


@register(method="zero_")
def zero_(self: Tensor) -> Tensor:
    """Set every element to 0 in place (e.g. `p.grad.zero_()`); returns the tensor."""
    if not _recording(self, None):
        self._data[...] = 0
        bump_version(self._data)
        return self
    _refuse_leaf(self, "zero_")
    zeros = np.zeros((), self.dtype)               # recorded: a constant, gradient 0
    _take_result(self, where(np.zeros(self.shape, bool), _make(self._data, self._ctx, True),
                             zeros))
    return self


@register(method="__setitem__")
def _setitem(self: Tensor, key: Any, value: ArrayLike) -> None:
    if is_grad_enabled():
        if self._requires_grad:                  # every tensor in the graph does
            _refuse_leaf(self, "setitem")           # (as the in-place operators do)
            raise RuntimeError("setitem: a tensor in the graph cannot be changed in place "
                               "while operations are recorded; build a new one (where, "
                               "concatenate), or write inside `with mg.no_grad():`")
        if isinstance(value, Tensor) and value._requires_grad:
            raise TypeError(
                f"setitem: the value{value._label()} requires grad, but the tensor it would be "
                "written into is outside the graph, so its gradient would be lost; build the "
                "result with mg.stack, mg.concatenate or mg.where instead, or write "
                "value.detach() if only the values are wanted")
    self._data[_index(key)] = as_array(value)
    bump_version(self._data)


# ------------------------------------------------------------ operators without a gradient

class _Values(Function):
    """`fn(*arrays)` for a function of the values that has no gradient (comparisons,
    argmax): outside the graph, but an op, so that mg.compile's replay computes it again."""

    op_name = "values"

    @staticmethod
    def forward(ctx: Function, fn: Callable[..., Any], *arrays: Any, **kwargs: Any) -> Array:
        return np.asarray(fn(*arrays, **kwargs))

    @staticmethod
    def backward(ctx: Function, g: Array) -> Grads:
        return None


def _values(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Tensor:
    mode = modes.grad_mode                   # not recorded (as no_grad, without its object)
    previous, mode.enabled = mode.enabled, False
    try:
        return _Values.apply(fn, *args, **kwargs)
    finally:
        mode.enabled = previous


@register(method="argmax")
def argmax(a: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Indices of the largest values along `axis` (of the flattened tensor when None), as
    numpy's argmax: an integer tensor, outside the graph."""
    return _values(np.argmax, a, axis=axis, keepdims=keepdims)


@register(method="argmin")
def argmin(a: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Indices of the smallest values along `axis`, as numpy's argmin (see argmax)."""
    return _values(np.argmin, a, axis=axis, keepdims=keepdims)


def _no_grad(ufunc: np.ufunc) -> Callable[[Tensor, ArrayLike], Tensor]:
    """A comparison or bitwise operator: computed on the values, outside the graph."""
    def operator(self: Tensor, other: ArrayLike) -> Tensor:
        return _values(ufunc, self, other)
    operator.__name__ = f"__{ufunc.__name__}__"
    return operator


for _names, _ufunc in [
        (("__lt__",), np.less), (("__le__",), np.less_equal), (("__gt__",), np.greater),
        (("__ge__",), np.greater_equal), (("__eq__",), np.equal), (("__ne__",), np.not_equal),
        (("__and__", "__rand__"), np.bitwise_and), (("__or__", "__ror__"), np.bitwise_or),
        (("__xor__", "__rxor__"), np.bitwise_xor)]:
    register(method=_names)(_no_grad(_ufunc))


@register(method="__invert__")
def _invert(self: Tensor) -> Tensor:
    return _values(np.invert, self)


@register(method="__pos__", numpy=np.positive)
def _positive(a: Tensor) -> Tensor:
    return a


def _T(self: Tensor) -> Tensor:
    """The transpose (axes reversed), as numpy's .T."""
    return self if self._data.ndim < 2 else Transpose.apply(self, None)


register(method="T")(property(_T))

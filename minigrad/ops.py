"""The primitive operations: each forward with its backward right below it.

Backward formulas are written once, with numpy operations on the saved
inputs and outputs. In a first-order pass they run on ndarrays; with
`create_graph=True` they run on Tensors and are recorded (see engine.py).
Everything else in minigrad is composed from these primitives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .engine import FUNCTIONS, UFUNCS, Function, Tensor, _call, _make

Axis = int | Sequence[int] | None


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

class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g / b
        return ga, (-ga * a / b if ctx.needs_input_grad[1] else None)


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
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
        # d/db a**b = a**b log a, taken as 0 where a <= 0 (as at a = 0, b > 0)
        gb = g * out * np.log(np.where(a > 0, a, 1)) if need_b else None
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx, g):
        return -g


class MatMul(Function):
    op_name = "matmul"
    @staticmethod
    def forward(ctx, a, b):
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ValueError(f"matmul: operands must not be scalars, got shapes "
                             f"{np.shape(a)} and {np.shape(b)}; use * for scaling")
        try:
            out = np.matmul(a, b)
        except ValueError:
            raise _shape_error("matmul", a, b, detail="are not aligned") from None
        ctx.save_for_backward(a, b)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:
            return (g @ b.T if need_a else None), (a.T @ g if need_b else None)
        if a.ndim == 1 and b.ndim == 1:
            return g * b, g * a
        ga = gb = None
        if a.ndim == 1:                       # (k,) @ (..., k, m) -> (..., m)
            g = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
            if need_a:
                ga = g @ b.swapaxes(-1, -2)
            if need_b:
                gb = a.reshape(-1, 1) @ g
        elif b.ndim == 1:                     # (..., n, k) @ (k,) -> (..., n)
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
        if ga is not None and a.ndim == 1:
            ga = ga.reshape(ga.shape[:-2] + (ga.shape[-1],))
        return ga, gb


class Linear(Function):
    """x @ W + b in one node (the book's Affine layer); x may have leading batch axes."""

    @staticmethod
    def forward(ctx, x, W, b=None):
        x, W = np.asarray(x), np.asarray(W)
        b = None if b is None else np.asarray(b)
        if W.ndim != 2 or x.ndim < 1 or x.shape[-1] != W.shape[0] or (
                b is not None and b.shape not in ((W.shape[1],), (1, W.shape[1]))):
            shapes = f"x {x.shape}, W {W.shape}" + (f", b {b.shape}" if b is not None else "")
            raise ValueError(f"linear: shapes {shapes} do not fit: need x (..., in), "
                             "W (in, out), b (out,)")
        ctx.save_for_backward(x, W)
        ctx.b_shape = None if b is None else b.shape
        out = x @ W
        if b is not None:
            out += b
        return out

    @staticmethod
    def backward(ctx, g):
        x, W = ctx.saved_tensors
        need_x, need_W, need_b = ctx.needs_input_grad + (False,) * (3 - len(ctx.parents))
        if g.ndim > 2:
            x = x.reshape(-1, x.shape[-1])
            g2 = g.reshape(-1, g.shape[-1])
        else:
            g2 = g
        gx = g @ W.T if need_x else None
        gW = (x.T @ g2 if x.ndim == 2 else x.reshape(-1, 1) @ g2.reshape(1, -1)) \
            if need_W else None
        gb = (g2.sum(axis=0) if g2.ndim == 2 else g2).reshape(ctx.b_shape) if need_b else None
        return gx, gW, gb


# ------------------------------------------------------------ elementwise

class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * out


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        return g / a


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g / (2 * out)


class Sin(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        return g * np.cos(a)


class Cos(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        return -g * np.sin(a)


class Tanh(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * (1 - out * out)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, a):
        with np.errstate(over="ignore"):       # e^-a = inf gives the right limit, 0
            out = 1 / (1 + np.exp(-a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g * out * (1 - out)


class Relu(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.maximum(a, 0)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        return g * (a > 0)


class Abs(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        return g * np.sign(a)


class Clip(Function):
    @staticmethod
    def forward(ctx, a, lo, hi):
        if lo is None and hi is None:
            raise ValueError("clip: give at least one of lo and hi")
        ctx.save_for_backward(a)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(a, lo, hi)

    @staticmethod
    def backward(ctx, g):
        a, = ctx.saved_tensors
        if ctx.lo is None:
            inside = a <= ctx.hi
        elif ctx.hi is None:
            inside = a >= ctx.lo
        else:
            inside = (a >= ctx.lo) & (a <= ctx.hi)
        return g * inside


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g * (a > b) + 0.5 * g * (a == b)      # ties share the gradient
        return ga, g - ga


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g * (a < b) + 0.5 * g * (a == b)
        return ga, g - ga


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        try:
            return np.where(condition, a, b)
        except ValueError:
            raise _shape_error("where", condition, a, b) from None

    @staticmethod
    def backward(ctx, g):
        (c,) = ctx.saved_tensors
        return None, np.where(c, g, 0), np.where(c, 0, g)


class Cast(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.dtype)


# ------------------------------------------------------------ reductions

class Sum(Function):
    @staticmethod
    def forward(ctx, a, axis=None, keepdims=False):
        axes = _normalize_axes(axis, a.ndim, "sum")
        ctx.shape = a.shape
        ctx.kept = tuple(1 if i in axes else n for i, n in enumerate(a.shape))
        return a.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        return np.broadcast_to(g.reshape(ctx.kept), ctx.shape)


class _Extremum(Function):
    """max or min over axes; tied elements share the gradient equally."""

    reduce: Any = None

    @classmethod
    def forward(cls, ctx, a, axis=None, keepdims=False):
        name = cls.__name__.lower()
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
    def backward(ctx, g):
        (weights,) = ctx.saved_tensors            # a constant: max is piecewise linear
        return weights * g.reshape(ctx.kept)


class Max(_Extremum):
    reduce = staticmethod(np.max)


class Min(_Extremum):
    reduce = staticmethod(np.min)


# ------------------------------------------------------------ shapes

class Reshape(Function):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} "
                             f"(size {a.size}) into shape {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, a, axes=None):
        if axes is None:
            axes = tuple(range(a.ndim))[::-1]
        elif sorted(_normalize_axes(axes, a.ndim, "transpose")) != list(range(a.ndim)):
            raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation "
                             f"of the {a.ndim} axes of shape {a.shape}")
        ctx.inverse = tuple(np.argsort(_normalize_axes(axes, a.ndim, "transpose")))
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.inverse)


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx, a, shape):
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {a.shape} "
                             f"to shape {tuple(shape)}") from None

    @staticmethod
    def backward(ctx, g):
        return g          # the engine sums it back to the input's shape


def _is_basic(index: Any) -> bool:
    """True for indices that select each element at most once (no integer arrays)."""
    items = index if isinstance(index, tuple) else (index,)
    return not any(isinstance(i, (list, tuple, np.ndarray)) and np.asarray(i).dtype != bool
                   for i in items)


class GetItem(Function):
    op_name = "getitem"
    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a.shape, index
        try:
            return a[index]
        except IndexError as e:
            raise IndexError(f"getitem: {e} (tensor of shape {a.shape})") from None

    @staticmethod
    def backward(ctx, g):
        return _call(ScatterAdd, g, ctx.index, ctx.shape)


class ScatterAdd(Function):
    """Zeros of `shape` with g added at `index`: the backward of indexing."""

    @staticmethod
    def forward(ctx, g, index, shape):
        ctx.index = index
        out = np.zeros(shape, dtype=g.dtype)
        if _is_basic(index):
            out[index] = g
        else:
            np.add.at(out, index, g)      # repeated indices add up
        return out

    @staticmethod
    def backward(ctx, g):
        return g[ctx.index]


class Concatenate(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
        if not arrays:
            raise ValueError("concatenate: needs at least one tensor")
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
    def backward(ctx, g):
        lead = (slice(None),) * ctx.axis
        b = ctx.bounds
        return tuple(g[lead + (slice(b[i], b[i + 1]),)] for i in range(len(b) - 1))


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, axis=0):
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
    def backward(ctx, g):
        lead = (slice(None),) * ctx.axis
        return tuple(g[lead + (i,)] for i in range(ctx.count))


class SoftmaxCrossEntropy(Function):
    """Mean cross-entropy of softmax(logits) against labels or target distributions.

    Fused for stability (log-sum-exp) and speed: the gradient is
    (softmax(logits) - target) / N, with the softmax kept from the forward.
    """

    @staticmethod
    def forward(ctx, logits, t):
        if logits.ndim not in (1, 2):
            raise ValueError(f"softmax_cross_entropy: logits must be (N, C) or (C,), "
                             f"got shape {logits.shape}")
        t = np.asarray(t)
        n = logits.shape[0] if logits.ndim == 2 else 1
        if t.shape == logits.shape and t.dtype.kind == "f":
            labels = None
        elif t.dtype.kind in "iu" and t.shape == logits.shape[:-1]:
            labels = t.reshape(-1)
            classes = logits.shape[-1]
            # one pass: negative labels become huge as unsigned integers
            if labels.size and labels.view(labels.dtype.str.replace("i", "u")).max() >= classes:
                raise ValueError(f"softmax_cross_entropy: labels must be in [0, {classes}), "
                                 f"got values from {labels.min()} to {labels.max()}")
        else:
            raise ValueError(
                f"softmax_cross_entropy: targets of shape {t.shape} and dtype {t.dtype} do "
                f"not fit logits of shape {logits.shape}: give integer labels of shape "
                f"{logits.shape[:-1]} or float targets of shape {logits.shape}")
        # Shift by the row maxima, or by the overall maximum when every row lies
        # close enough to it that no row's exponentials can all underflow (faster).
        top, bottom = logits.max(), logits.min()
        close = bottom - top > (-80.0 if logits.dtype.itemsize <= 4 else -700.0)
        shift = top if close else logits.max(axis=-1, keepdims=True)
        z = logits - shift
        p = np.exp(z)
        total = (p @ np.ones(p.shape[-1], p.dtype))[..., None]    # row sums, by BLAS
        p /= total                                   # the softmax, for backward
        log_total = np.log(total).reshape(n)
        z = z.reshape(n, -1)
        if labels is None:
            loss = -(t.reshape(n, -1) * (z - log_total[:, None])).sum()
        else:
            loss = (log_total - z[np.arange(n), labels]).sum()
        ctx.save_for_backward(logits, p, t)
        ctx.shift, ctx.n, ctx.use_labels = shift, n, labels is not None
        return np.asarray(loss / n, dtype=logits.dtype)

    @staticmethod
    def backward(ctx, g):
        logits, p, t = ctx.saved_tensors
        if isinstance(logits, Tensor):      # recording: the softmax as a function of logits
            e = np.exp(logits - ctx.shift)
            p = e / e.sum(axis=-1, keepdims=True)
        if ctx.use_labels:
            target = np.zeros(p.shape, dtype=p.dtype)
            target.reshape(ctx.n, -1)[np.arange(ctx.n), t.reshape(-1)] = 1
            return (p - target) * (g / ctx.n)
        g_t = None
        if ctx.needs_input_grad[1]:               # target rows that require grad
            z = logits - ctx.shift
            g_t = (np.log(np.exp(z).sum(axis=-1, keepdims=True)) - z) * (g / ctx.n)
        return (p - t) * (g / ctx.n), g_t


# ------------------------------------------------------------ the public functions

def _index(key: Any) -> Any:
    """An index as numpy takes it, with its arrays copied: changing the caller's index
    array after the forward must not change the backward."""
    if isinstance(key, tuple):
        return tuple(_index_part(k) for k in key)
    return _index_part(key)


def _index_part(k: Any) -> Any:
    if isinstance(k, Tensor):
        return k.data.copy()
    if isinstance(k, np.ndarray):
        return k.copy()
    if isinstance(k, (list, tuple)):
        return np.array(k)
    return k


def add(a: Any, b: Any) -> Tensor:
    return Add.apply(a, b)


def sub(a: Any, b: Any) -> Tensor:
    return Sub.apply(a, b)


def mul(a: Any, b: Any) -> Tensor:
    return Mul.apply(a, b)


def div(a: Any, b: Any) -> Tensor:
    return Div.apply(a, b)


def power(a: Any, b: Any) -> Tensor:
    return Pow.apply(a, b)


def neg(a: Any) -> Tensor:
    return Neg.apply(a)


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with numpy's rules: 1-D operands, batched N-D with broadcasting."""
    return MatMul.apply(a, b)


def linear(x: Any, W: Any, b: Any = None) -> Tensor:
    """x @ W + b as one node (the book's Affine layer)."""
    return Linear.apply(x, W) if b is None else Linear.apply(x, W, b)


def exp(a: Any) -> Tensor:
    return Exp.apply(a)


def log(a: Any) -> Tensor:
    return Log.apply(a)


def sqrt(a: Any) -> Tensor:
    return Sqrt.apply(a)


def sin(a: Any) -> Tensor:
    return Sin.apply(a)


def cos(a: Any) -> Tensor:
    return Cos.apply(a)


def tanh(a: Any) -> Tensor:
    return Tanh.apply(a)


def sigmoid(a: Any) -> Tensor:
    return Sigmoid.apply(a)


def relu(a: Any) -> Tensor:
    return Relu.apply(a)


def abs(a: Any) -> Tensor:
    return Abs.apply(a)


def clip(a: Any, lo: Any = None, hi: Any = None) -> Tensor:
    """Limit values to [lo, hi]; the gradient is 1 inside, bounds included, 0 outside."""
    return Clip.apply(a, _raw_bound(lo), _raw_bound(hi))


def _raw_bound(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def maximum(a: Any, b: Any) -> Tensor:
    return Maximum.apply(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    return Minimum.apply(a, b)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elements of a where condition holds, else of b (condition gets no gradient)."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    return Where.apply(np.array(condition, dtype=bool), a, b)     # a copy, kept for backward


def sum(a: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Sum.apply(a, axis, keepdims)


def mean(a: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    shape = np.shape(_raw_bound(a))
    count = int(np.prod([shape[i] for i in _normalize_axes(axis, len(shape), "mean")]))
    return Sum.apply(a, axis, keepdims) / count


def max(a: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Max.apply(a, axis, keepdims)


def min(a: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return Min.apply(a, axis, keepdims)


def reshape(a: Any, *shape: Any) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape.apply(a, shape)


def transpose(a: Any, *axes: Any) -> Tensor:
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        axes = axes[0]
    return Transpose.apply(a, tuple(axes) if axes else None)


def swapaxes(a: Any, axis1: int, axis2: int) -> Tensor:
    ndim = np.ndim(_raw_bound(a))
    (i,), (j,) = (_normalize_axes(axis, ndim, "swapaxes") for axis in (axis1, axis2))
    order = list(range(ndim))
    order[i], order[j] = order[j], order[i]
    return Transpose.apply(a, tuple(order))


def broadcast_to(a: Any, shape: Sequence[int]) -> Tensor:
    return BroadcastTo.apply(a, tuple(shape) if not isinstance(shape, int) else (shape,))


def expand_dims(a: Any, axis: Axis) -> Tensor:
    shape = np.shape(_raw_bound(a))
    axes = _normalize_axes(axis, len(shape) + len(
        (axis,) if isinstance(axis, int) else axis), "expand_dims")
    new = list(shape)
    for ax in sorted(axes):
        new.insert(ax, 1)
    return Reshape.apply(a, tuple(new))


def squeeze(a: Any, axis: Axis = None) -> Tensor:
    shape = np.shape(_raw_bound(a))
    if axis is None:
        axes = tuple(i for i, n in enumerate(shape) if n == 1)
    else:
        axes = _normalize_axes(axis, len(shape), "squeeze")
        for ax in axes:
            if shape[ax] != 1:
                raise ValueError(f"squeeze: axis {ax} of shape {shape} has size {shape[ax]}, "
                                 "not 1")
    return Reshape.apply(a, tuple(n for i, n in enumerate(shape) if i not in axes))


def flatten(a: Any) -> Tensor:
    return Reshape.apply(a, (-1,))


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    return Stack.apply(*tensors, axis=axis)


def softmax_cross_entropy(logits: Any, t: Any) -> Tensor:
    """Mean over the batch of -log softmax(logits)[t]; t labels or target rows."""
    return SoftmaxCrossEntropy.apply(logits, t)


# ------------------------------------------------------------ Tensor methods

def _getitem(self: Tensor, key: Any) -> Tensor:
    return GetItem.apply(self, _index(key))


def _setitem(self: Tensor, key: Any, value: Any) -> None:
    if self._requires_grad or self._ctx is not None:
        raise TypeError("setitem: a tensor in the graph cannot be changed in place; build a "
                        "new one (where, concatenate) or change .data outside the graph")
    self.data[_index(key)] = _raw_bound(value)


def _compare(ufunc: np.ufunc):
    def compare(self: Tensor, other: Any) -> Tensor:
        return _make(ufunc(self.data, _raw_bound(other)), None, False)
    compare.__name__ = f"__{ufunc.__name__}__"
    return compare


def _reversed(fn):
    def method(self: Tensor, other: Any) -> Tensor:
        return fn(other, self)
    return method


def _T(self: Tensor) -> Tensor:
    return self if self.data.ndim < 2 else Transpose.apply(self, None)


_METHODS = {
    "__add__": Add.apply, "__radd__": Add.apply,
    "__sub__": Sub.apply, "__rsub__": _reversed(Sub.apply),
    "__mul__": Mul.apply, "__rmul__": Mul.apply,
    "__truediv__": Div.apply, "__rtruediv__": _reversed(Div.apply),
    "__pow__": Pow.apply, "__rpow__": _reversed(Pow.apply),
    "__matmul__": MatMul.apply, "__rmatmul__": _reversed(MatMul.apply),
    "__neg__": neg, "__pos__": lambda self: self, "__abs__": abs,
    "__getitem__": _getitem, "__setitem__": _setitem,
    "__lt__": _compare(np.less), "__le__": _compare(np.less_equal),
    "__gt__": _compare(np.greater), "__ge__": _compare(np.greater_equal),
    "__eq__": _compare(np.equal), "__ne__": _compare(np.not_equal),
    "__and__": _compare(np.bitwise_and), "__or__": _compare(np.bitwise_or),
    "__xor__": _compare(np.bitwise_xor), "__rand__": _compare(np.bitwise_and),
    "__ror__": _compare(np.bitwise_or), "__rxor__": _compare(np.bitwise_xor),
    "__invert__": lambda self: _make(~self.data, None, False),
    "T": property(_T),
    "exp": exp, "log": log, "sqrt": sqrt, "sin": sin, "cos": cos, "tanh": tanh,
    "sigmoid": sigmoid, "relu": relu, "abs": abs, "clip": clip,
    "sum": sum, "mean": mean, "max": max, "min": min,
    "reshape": reshape, "transpose": transpose, "swapaxes": swapaxes,
    "broadcast_to": broadcast_to, "expand_dims": expand_dims, "squeeze": squeeze,
    "flatten": flatten, "matmul": matmul, "dot": matmul,
    "astype": lambda self, dtype: self if np.dtype(dtype) == self.dtype else Cast.apply(
        self, np.dtype(dtype)),
}
for _name, _method in _METHODS.items():
    setattr(Tensor, _name, _method)

UFUNCS.update({
    np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div,
    np.power: power, np.matmul: matmul, np.negative: neg, np.positive: lambda a: a,
    np.exp: exp, np.log: log, np.sqrt: sqrt, np.sin: sin, np.cos: cos, np.tanh: tanh,
    np.absolute: abs, np.maximum: maximum, np.minimum: minimum,
})
def _np_reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None,
                copy: Any = None) -> Tensor:
    if order != "C":
        raise TypeError(f"numpy.reshape on a tensor: only order='C' is supported, got {order!r}")
    return reshape(a, newshape if shape is None else shape)


def _np_where(condition: Any, *choices: Any) -> Any:
    if not choices:                               # np.where(cond): the indices, no gradient
        return np.nonzero(condition.data if isinstance(condition, Tensor) else condition)
    return where(condition, *choices)


def _np_clip(a: Any, a_min: Any = None, a_max: Any = None, *, min: Any = None,
             max: Any = None) -> Tensor:
    return clip(a, a_min if min is None else min, a_max if max is None else max)


def _np_dot(a: Any, b: Any) -> Tensor:
    if np.ndim(_raw_bound(a)) == 0 or np.ndim(_raw_bound(b)) == 0:
        return mul(a, b)
    if np.ndim(_raw_bound(a)) > 2 or np.ndim(_raw_bound(b)) > 2:
        raise TypeError("numpy.dot of tensors with more than 2 dimensions is not supported; "
                        "use matmul (its rules for stacks of matrices differ from dot's)")
    return matmul(a, b)


FUNCTIONS.update({
    np.sum: sum, np.mean: mean, np.max: max, np.min: min, np.amax: max, np.amin: min,
    np.reshape: _np_reshape, np.transpose: lambda a, axes=None: transpose(a, axes),
    np.swapaxes: swapaxes, np.broadcast_to: broadcast_to, np.expand_dims: expand_dims,
    np.squeeze: squeeze, np.ravel: flatten, np.concatenate: concatenate, np.stack: stack,
    np.where: _np_where, np.clip: _np_clip, np.dot: _np_dot, np.matmul: matmul,
})

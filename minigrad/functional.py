"""Functions of neural networks, composed from minigrad's primitives (import as F).

Everything here is an expression over the differentiable ops in
`minigrad.ops`, so its gradient (and second derivative) comes from the
graph. The exceptions are `linear` and `softmax_cross_entropy`, which are
fused primitives for speed and stability, and `step_function`, which has no
gradient. Arguments may be Tensors or anything numpy accepts; results are
Tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import conv, modes, ops
from ._checks import check_reduction
from .engine import ArrayLike, Function, Tensor, _make, as_array, as_tensor, grad
from .modes import enable_grad, no_grad

__all__ = [
    "step_function", "sigmoid", "relu", "tanh", "softmax", "log_softmax", "linear",
    "cross_entropy_error", "softmax_cross_entropy", "mean_squared_error", "accuracy",
    "dropout", "cross_entropy", "mse_loss", "identity_function", "sum_squared_error",
    "softmax_loss", "sigmoid_grad", "relu_grad",
]

def _values(x: ArrayLike) -> np.ndarray:
    return np.asarray(as_array(x))


def _check_same_shape(where: str, y_name: str, y: ArrayLike, t_name: str, t: ArrayLike) -> None:
    """Refuse predictions and targets of different shapes (a silent broadcast of (N, 1)
    against (N,) would compare every prediction with every target)."""
    y_shape, t_shape = np.shape(_values(y)), np.shape(_values(t))
    if y_shape != t_shape:
        raise ValueError(f"{where}: {y_name} has shape {y_shape} but {t_name} has shape "
                         f"{t_shape}; they must match (reshape one of them)")


# The fused primitives and the activations that are primitives already.
linear = ops.linear
softmax_cross_entropy = ops.softmax_cross_entropy
sigmoid = ops.sigmoid
relu = ops.relu
tanh = ops.tanh


def step_function(x: ArrayLike) -> Tensor:
    """1 where x > 0, else 0 (the perceptron's activation, in x's float dtype).

    It has no gradient: the result never requires grad, because the
    derivative is 0 wherever it exists, which would silently stop learning.
    """
    data = _values(x)
    dtype = data.dtype if np.issubdtype(data.dtype, np.floating) else np.int64
    return _make((data > 0).astype(dtype), None, False)


def softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis`, stable for any finite x.

    The row maximum is subtracted first as a constant (softmax does not
    change under a shift), so no exponential overflows.
    """
    x = as_tensor(x)
    shift = ops._values(np.max, x, axis=axis, keepdims=True)      # a constant shift
    e = ops.exp(x - shift)
    return e / ops.sum(e, axis=axis, keepdims=True)


def log_softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """log(softmax(x)) along `axis`, computed as z - log(sum(exp(z))) with z = x - max(x)."""
    x = as_tensor(x)
    shift = ops._values(np.max, x, axis=axis, keepdims=True)      # a constant shift
    z = x - shift
    return z - ops.log(ops.sum(ops.exp(z), axis=axis, keepdims=True))


def cross_entropy_error(y: ArrayLike, t: ArrayLike) -> Tensor:
    """The book's cross-entropy of probabilities y against targets t, mean over the batch.

    y is (N, C) or (C,) probabilities (e.g. a softmax output); t is one-hot
    (or probability) rows of y's shape, or integer labels of shape (N,) (or
    a scalar for 1-D y). Computes -sum(t * log(y + 1e-7)) / N; the 1e-7
    keeps log finite where y is 0. For logits, prefer `softmax_cross_entropy`.
    """
    y = as_tensor(y)
    if y.ndim not in (1, 2):
        raise ValueError(f"cross_entropy_error: y must be (N, C) or (C,), got shape {y.shape}")
    targets: Any
    targets, are_labels = ops.check_targets(t, y.shape, "cross_entropy_error", "predictions")
    if not are_labels:                   # one-hot or probability rows, in y's dtype
        targets = targets.reshape(-1, y.shape[-1]).astype(y.dtype, copy=False)
        if isinstance(t, Tensor) and t.requires_grad:
            targets = t.reshape(targets.shape).astype(y.dtype)   # rows that learn: keep the graph
    rows = y.reshape(1, -1) if y.ndim == 1 else y
    n = rows.shape[0]
    if are_labels:
        picked = rows[np.arange(n), targets]
        return -ops.sum(ops.log(picked + 1e-7)) / n
    return -ops.sum(targets * ops.log(rows + 1e-7)) / n


def mean_squared_error(y: ArrayLike, t: ArrayLike) -> Tensor:
    """The book's sum of squares error 0.5 * sum((y - t)**2) (a sum, not a mean over the batch).

    y and t must have the same shape: a silent broadcast of, say, (N, 1)
    against (N,) would compare every prediction with every target.
    """
    _check_same_shape("mean_squared_error", "y", y, "t", t)
    d = as_tensor(y) - t
    return 0.5 * ops.sum(d * d)


def _reduced(losses: Tensor, reduction: str) -> Tensor:
    """Per-sample losses reduced as PyTorch's `reduction` says."""
    if reduction == "none":
        return losses
    return ops.sum(losses) if reduction == "sum" else ops.mean(losses)


def _classes_last(t: Any, ndim: int) -> Any:
    """(N, C, d1, ...) as (N * d1 * ..., C); a Tensor stays in the graph."""
    order = (0, *range(2, ndim), 1)
    if isinstance(t, Tensor):
        return ops.reshape(ops.transpose(t, order), (-1, t.shape[1]))
    return np.transpose(t, order).reshape(-1, t.shape[1])


def cross_entropy(input: ArrayLike, target: ArrayLike, reduction: str = "mean",
                  ignore_index: int = -100) -> Tensor:
    """PyTorch's cross_entropy: softmax cross-entropy of logits against class indices.

    `input` is (N, C) logits, (C,) for one sample, or (N, C, d1, ...); `target` holds
    integer class indices of shape (N,) (or (), or (N, d1, ...)), or class probabilities
    of input's shape. `reduction` is "mean" (over the samples not ignored), "sum" or
    "none" (one loss per sample); samples whose label is `ignore_index` count for nothing.
    """
    check_reduction(reduction, "cross_entropy")
    x = as_tensor(input)
    values = _values(target)
    shapes = f"input of shape {x.shape} and target of shape {values.shape}"
    samples = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()      # one loss each
    if x.ndim == 0:
        raise ValueError(f"cross_entropy: {shapes}: the input needs a class axis")
    scores = x if x.ndim == 2 else ops.reshape(x, (1, -1)) if x.ndim == 1 \
        else _classes_last(x, x.ndim)
    if values.dtype.kind not in "iu":                # class probabilities, one row per sample
        if values.shape != x.shape:
            raise ValueError(f"cross_entropy: {shapes}: probability targets need the input's "
                             "shape (or give integer class indices)")
        rows: Any = target if isinstance(target, Tensor) and target.requires_grad else \
            values.astype(x.dtype, copy=False)
        rows = _classes_last(rows, x.ndim) if x.ndim > 2 else ops.reshape(rows, scores.shape) \
            if isinstance(rows, Tensor) else rows.reshape(scores.shape)
        if reduction == "mean":
            return ops.softmax_cross_entropy(scores, rows)
        losses = -ops.sum(rows * log_softmax(scores), axis=-1)
        return _reduced(ops.reshape(losses, samples), reduction)
    labels = values if values.ndim == 1 else values.reshape(-1)   # (mg.compile: the same
    if values.shape != samples:                                     # array, for a replay)
        raise ValueError(f"cross_entropy: {shapes} do not fit: expected target of shape "
                         f"{samples}, one class index per sample")
    kept = labels != ignore_index
    wrong = kept & ((labels < 0) | (labels >= scores.shape[1]))
    if wrong.any():
        raise IndexError(f"cross_entropy: target {labels[wrong][0]} is out of bounds for "
                         f"{scores.shape[1]} classes (ignore_index is {ignore_index})")
    count = int(kept.sum())
    if reduction == "mean" and count == labels.size:
        return ops.softmax_cross_entropy(scores, labels)             # one fused node
    if modes.tracer is not None:
        modes.tracer.refuse("cross_entropy with ignore_index labels or reduction='sum' or "
                            "'none' reads the labels outside the graph")
    picked = log_softmax(scores)[np.arange(labels.size), np.where(kept, labels, 0)]
    losses = -picked * kept.astype(x.dtype)                          # ignored samples: 0
    if reduction == "none":
        return ops.reshape(losses, values.shape)
    total = ops.sum(losses)
    if reduction == "sum":
        return total
    with np.errstate(invalid="ignore"):                # every sample ignored: NaN, as PyTorch
        return total / count


def mse_loss(input: ArrayLike, target: ArrayLike, reduction: str = "mean") -> Tensor:
    """PyTorch's mse_loss: the mean (or "sum", or "none": each) of (input - target)².

    The shapes must match: a silent broadcast of (N, 1) against (N,) would compare every
    prediction with every target (PyTorch warns; minigrad refuses).
    """
    check_reduction(reduction, "mse_loss")
    _check_same_shape("mse_loss", "input", input, "target", target)
    d = as_tensor(input) - target
    return _reduced(d * d, reduction)


# The rest of the book's common/functions.py, so that its programs import what they use.
# The two derivatives come from a backward pass over the graph, not from formulas.

def identity_function(x: ArrayLike) -> Tensor:
    """x itself (the book's output activation for regression)."""
    return as_tensor(x)


sum_squared_error = mean_squared_error      # the book's other name for 0.5 * sum((y - t)**2)


def softmax_loss(x: ArrayLike, t: ArrayLike) -> Tensor:
    """The book's softmax_loss: cross_entropy_error(softmax(x), t)."""
    return cross_entropy_error(softmax(x), t)


def _derivative(f: Callable[[Tensor], Tensor], x: ArrayLike) -> np.ndarray:
    """The elementwise derivative of f at x, as an ndarray, by one backward pass."""
    values = np.asarray(as_array(x))
    point = Tensor(values.astype(np.result_type(values, np.float64)), requires_grad=True)
    with enable_grad():
        (g,) = grad(ops.sum(f(point)), point)
    return g.data


def sigmoid_grad(x: ArrayLike) -> np.ndarray:
    """The derivative of sigmoid at x (the book's sigmoid_grad), from the graph."""
    return _derivative(ops.sigmoid, x)


def relu_grad(x: ArrayLike) -> np.ndarray:
    """The derivative of relu at x (the book's relu_grad), from the graph: 1 where x > 0,
    else 0 (the book's formula gives 1 at exactly 0; minigrad's relu'(0) is 0)."""
    return _derivative(ops.relu, x)


def accuracy(y: ArrayLike, t: ArrayLike) -> float:
    """Fraction of rows whose largest score in y is at the target class (labels or one-hot t)."""
    scores, targets = _values(y), _values(t)
    predicted = np.argmax(scores, axis=-1)
    if targets.ndim == scores.ndim and targets.shape[-1] == scores.shape[-1] and scores.ndim > 0:
        targets = np.argmax(targets, axis=-1)
    if targets.shape != predicted.shape:
        raise ValueError(f"accuracy: targets of shape {targets.shape} do not fit predictions "
                         f"of shape {scores.shape}")
    return float(np.mean(predicted == targets)) if predicted.size else 0.0


def dropout(x: ArrayLike, p: float = 0.5, training: bool = True,
            rng: np.random.Generator | np.random.RandomState | None = None) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p).

    The expected value is unchanged, so nothing needs rescaling at test time;
    with `training=False` (or p == 0) x is returned as it is. The mask comes
    from `rng`, or from numpy's global random state (so `np.random.seed`
    makes it repeatable, as in the book).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * np.zeros(x.shape, dtype=x.dtype)
    return x * DropoutMask.apply(x.shape, x.dtype, p, rng)


class DropoutMask(Function):
    """A fresh dropout mask at every call (0, or 1/(1-p) with probability 1-p): an op of
    its own, so that mg.compile's replay draws a new one each time instead of keeping one."""

    random = True          # it draws random numbers (mg.compile lets it, and redraws)

    @staticmethod
    def forward(ctx: Function, shape: tuple[int, ...], dtype: Any, p: float,
                rng: np.random.Generator | np.random.RandomState | None) -> np.ndarray:
        if modes.tracer is not None:
            modes.tracer.check_random()
        draw = rng.random(shape) if rng is not None else np.random.random_sample(shape)
        mask = (draw >= p).astype(dtype if np.issubdtype(dtype, np.floating) else np.float64)
        mask /= 1.0 - p
        return mask

    @staticmethod
    def backward(ctx: Function, g: Any) -> None:
        return None


# ------------------------------------------------------------ convolutional networks
#
# Images are (N, C, H, W). Sizes (kernel, stride, padding) are an int or a
# pair (height, width). The output size is floor((H + 2 * padding - kernel)
# / stride) + 1, as in PyTorch and the book.

def perplexity(logits: ArrayLike, target: ArrayLike, ignore_index: int = -100) -> float:
    """exp of the mean cross-entropy of next-token `logits` (..., V) against `target` token
    ids (...): how many words the model hesitates between, on average (1 is certain; a
    uniform guess over V words scores V). A number, outside the graph."""
    with no_grad():
        scores = as_tensor(logits)
        loss = cross_entropy(scores.reshape(-1, scores.shape[-1]),
                             np.asarray(as_array(target)).reshape(-1), ignore_index=ignore_index)
    return float(np.exp(loss.item()))


__all__ += ["perplexity"]

def embedding(input: ArrayLike, weight: ArrayLike) -> Tensor:
    """Rows of `weight` (num_embeddings, dim) picked by the integer `input` (any shape):
    output shape input.shape + (dim,). A row used twice gets both gradients, added."""
    indices = np.asarray(as_array(input))
    table = as_tensor(weight)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {indices.dtype}")
    if table.ndim != 2:
        raise ValueError(f"embedding: weight must be (num_embeddings, dim), got shape "
                         f"{table.shape}")
    count = table.shape[0]
    outside = (indices < 0) | (indices >= count)
    if outside.any():
        raise IndexError(f"embedding: index {indices[outside].flat[0]} is out of range for "
                         f"{count} embeddings (indices must be in [0, {count}))")
    return table[indices]


def layer_norm(input: ArrayLike, normalized_shape: int | tuple[int, ...],
               weight: ArrayLike | None = None, bias: ArrayLike | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the last len(normalized_shape) axes (mean 0, biased variance 1, plus
    eps), then scale by `weight` and shift by `bias`, as PyTorch's layer_norm."""
    x = as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[x.ndim - len(shape):] != shape or len(shape) > x.ndim:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end in "
                         f"normalized_shape {shape}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    centred = x - ops.mean(x, axis=axes, keepdims=True)
    variance = ops.mean(centred * centred, axis=axes, keepdims=True)
    y = centred / ops.sqrt(variance + eps)
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


def scaled_dot_product_attention(query: ArrayLike, key: ArrayLike, value: ArrayLike,
                                 attn_mask: ArrayLike | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None) -> Tensor:
    """PyTorch's attention, softmax(q kᵀ · scale + mask) v, for q (..., L, E), k (..., S, E)
    and v (..., S, Ev), giving (..., L, Ev); scale defaults to 1/√E.

    A boolean `attn_mask` (True: may attend) or `is_causal` (position i attends to j ≤ i)
    puts -inf where attention is not allowed; a float mask is added to the scores."""
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if min(q.ndim, k.ndim, v.ndim) < 2 or q.shape[-1] != k.shape[-1] or \
            k.shape[-2] != v.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: query {q.shape}, key {k.shape} and "
                         f"value {v.shape} do not fit (..., L, E), (..., S, E), (..., S, Ev)")
    factor = 1.0 / float(np.sqrt(q.shape[-1])) if scale is None else float(scale)
    scores = (q @ ops.swapaxes(k, -1, -2)) * factor
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: pass attn_mask or is_causal=True, "
                             "not both")
        attn_mask = np.tril(np.ones((q.shape[-2], k.shape[-2]), dtype=bool))
    if attn_mask is not None:
        mask = attn_mask if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if mask.dtype == np.bool_:
            scores = ops.where(as_array(mask), scores, -np.inf)
        else:
            scores = scores + mask
    weights = softmax(scores, axis=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p)
    return weights @ v


__all__ += ["embedding", "layer_norm", "scaled_dot_product_attention"]

__all__ += ["im2col", "col2im", "conv2d", "max_pool2d", "avg_pool2d", "flatten"]

IntPair = int | tuple[int, int]


def _image_shape(x: Any, op: str) -> tuple[int, ...]:
    shape = tuple(np.shape(as_array(x)))
    if len(shape) != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {shape}")
    return shape


def _window_args(x: Any, kernel: Any, stride: Any, padding: Any, op: str,
                 kernel_name: str = "kernel_size", padding_name: str = "padding"
                 ) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    _image_shape(x, op)
    k = conv.pair(kernel, kernel_name, op, 1)
    s = conv.pair(stride, "stride", op, 1)
    p = conv.pair(padding, padding_name, op, 0)
    conv.output_size(np.shape(as_array(x)), k, s, p, op)
    return k, s, p


def im2col(x: Any, kh: int, kw: int, stride: IntPair = 1, pad: IntPair = 0) -> Tensor:
    """The book's im2col: every kh×kw window of x (N, C, H, W) as one row.

    Returns (N*OH*OW, C*kh*kw), rows ordered (n, oh, ow) and columns
    (c, kh, kw), the padding filled with zeros. Differentiable (its gradient
    is col2im), built with one copy from a strided view of x.
    """
    k, s, p = _window_args(x, (kh, kw), stride, pad, "im2col", "kh, kw", "pad")
    return conv.Im2col.apply(x, k, s, p)


def col2im(col: Any, input_shape: tuple[int, ...], kh: int, kw: int, stride: IntPair = 1,
           pad: IntPair = 0) -> Tensor:
    """The book's col2im: the rows of `col` added back into an image of `input_shape`.

    Where windows overlap their values add up (col2im is the adjoint of im2col,
    not its inverse); what falls into the padding is dropped.
    """
    shape = tuple(int(n) for n in input_shape)
    if len(shape) != 4:
        raise ValueError(f"col2im: input_shape must be (N, C, H, W), got {shape}")
    k = conv.pair((kh, kw), "kh, kw", "col2im", 1)
    s = conv.pair(stride, "stride", "col2im", 1)
    p = conv.pair(pad, "pad", "col2im", 0)
    return conv.Col2im.apply(col, shape, k, s, p)


def conv2d(x: Any, W: Any, b: Any = None, stride: IntPair = 1, padding: IntPair = 0) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch and the book): (N, C, H, W) → (N, FN, OH, OW).

    W is (FN, C, FH, FW) and b (FN,). Computed as the book does: im2col(x)
    @ W.reshape(FN, -1).T + b, one matrix product, reshaped to (N, FN, OH, OW)
    (a transposed view, as in the book). Its gradient comes from the graph.
    """
    x_shape, w_shape = tuple(np.shape(as_array(x))), tuple(np.shape(as_array(W)))
    both = f"input of shape {x_shape} and weight of shape {w_shape}"
    if len(x_shape) != 4 or len(w_shape) != 4:
        raise ValueError(f"conv2d: {both}: both must be 4-D, input (N, C, H, W) and "
                         "weight (FN, C, FH, FW)")
    if x_shape[1] != w_shape[1]:
        raise ValueError(f"conv2d: {both} do not fit: the weight expects {w_shape[1]} "
                         f"channels, the input has {x_shape[1]}")
    if b is not None and tuple(np.shape(as_array(b))) != (w_shape[0],):
        raise ValueError(f"conv2d: bias of shape {np.shape(as_array(b))} does not fit weight of "
                         f"shape {w_shape}: expected ({w_shape[0]},)")
    s = conv.pair(stride, "stride", "conv2d", 1)
    p = conv.pair(padding, "padding", "conv2d", 0)
    try:
        oh, ow = conv.output_size(x_shape, w_shape[2:], s, p, "conv2d")
    except ValueError:
        raise ValueError(f"conv2d: {both} do not fit: the {w_shape[2]}x{w_shape[3]} kernel is "
                         f"larger than the input padded by {p}") from None
    fn = w_shape[0]
    col = conv.Im2col.apply(x, w_shape[2:], s, p)
    weights = ops.transpose(ops.reshape(W, (fn, -1)))       # (C*FH*FW, FN)
    out = ops.linear(col, weights, b)                        # (N*OH*OW, FN)
    return ops.transpose(ops.reshape(out, (x_shape[0], oh, ow, fn)), (0, 3, 1, 2))


def _pool_args(x: Any, kernel_size: Any, stride: Any, padding: Any, op: str
               ) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    k, s, p = _window_args(x, kernel_size, kernel_size if stride is None else stride,
                           padding, op)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{op}: padding {p} must be at most half the kernel size {k}")
    return k, s, p


def max_pool2d(x: Any, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0) -> Tensor:
    """The maximum of each window of x (N, C, H, W); stride defaults to kernel_size.

    The padding is -inf (it never wins), and at most half the kernel, as in
    PyTorch. Ties: the gradient goes to the first maximum of the window in
    row-major order (as PyTorch's and the book's argmax), not shared as
    `max` shares it; a window holding NaN gives NaN, and its gradient goes
    to its last NaN (as PyTorch). One fused node.
    """
    k, s, p = _pool_args(x, kernel_size, stride, padding, "max_pool2d")
    return conv.MaxPool2d.apply(x, k, s, p)


def avg_pool2d(x: Any, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0) -> Tensor:
    """The mean of each window of x (N, C, H, W); stride defaults to kernel_size.

    The padding is zeros and counts in the mean (PyTorch's default
    count_include_pad=True). Composed: im2col, then a mean over each window.
    """
    k, s, p = _pool_args(x, kernel_size, stride, padding, "avg_pool2d")
    n, c = np.shape(as_array(x))[:2]
    oh, ow = conv.output_size(np.shape(as_array(x)), k, s, p, "avg_pool2d")
    col = ops.reshape(conv.Im2col.apply(x, k, s, p), (n, oh, ow, c, k[0] * k[1]))
    return ops.transpose(ops.mean(col, axis=-1), (0, 3, 1, 2))


def flatten(x: Any, start_dim: int = 1, end_dim: int = -1) -> Tensor:
    """Merge the axes start_dim..end_dim into one; by default all but the batch axis.

    (N, C, H, W) → (N, C*H*W), as nn.Flatten and the book's Affine layer do.
    `flatten(x, 0)` flattens everything, as `minigrad.flatten` and torch.flatten.
    """
    shape = tuple(np.shape(as_array(x)))
    ndim = max(len(shape), 1)
    start, end = (ops._normalize_axes(d, ndim, "flatten")[0] for d in (start_dim, end_dim))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} "
                         f"for shape {shape}")
    if not shape:
        return ops.reshape(as_tensor(x), (1,))
    merged = int(np.prod(shape[start:end + 1]))
    return ops.reshape(as_tensor(x), shape[:start] + (merged,) + shape[end + 1:])


__all__ += ["time_steps"]


def time_steps(x: Tensor) -> list[Tensor]:
    """x[0], x[1], ... along the first axis. The backward of a slice fills an array of the
    sliced tensor's shape, so slices of a tensor that requires grad are taken from halves,
    quarters, ... of it: O(T log T) work in the backward pass rather than O(T²)."""
    if not x.requires_grad:
        return [x[t] for t in range(x.shape[0])]
    steps: list[Tensor] = []
    pending = [x]                            # a stack of pieces, first piece on top
    while pending:
        piece = pending.pop()
        n = piece.shape[0]
        if n <= 2:
            steps.extend(piece[t] for t in range(n))
        else:
            pending += [piece[n // 2:], piece[:n // 2]]
    return steps

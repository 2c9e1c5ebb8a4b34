"""Functions of neural networks, composed from minigrad's primitives (import as F).

Everything here is an expression over the differentiable ops in
`minigrad.ops`, so its gradient (and second derivative) comes from the
graph. The exceptions are `linear` and `softmax_cross_entropy`, which are
fused primitives for speed and stability, and `step_function`, which has no
gradient. Arguments may be Tensors or anything numpy accepts; results are
Tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .engine import ArrayLike, Tensor, _make, as_array, as_tensor

__all__ = [
    "step_function", "sigmoid", "relu", "tanh", "softmax", "log_softmax", "linear",
    "cross_entropy_error", "softmax_cross_entropy", "mean_squared_error", "accuracy",
    "dropout",
]

def _values(x: ArrayLike) -> np.ndarray:
    return np.asarray(as_array(x))


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
    shift: np.ndarray = np.max(x.data, axis=axis, keepdims=True)
    e = ops.exp(x - shift)
    return e / ops.sum(e, axis=axis, keepdims=True)


def log_softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """log(softmax(x)) along `axis`, computed as z - log(sum(exp(z))) with z = x - max(x)."""
    x = as_tensor(x)
    shift: np.ndarray = np.max(x.data, axis=axis, keepdims=True)
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
    y_shape, t_shape = np.shape(_values(y)), np.shape(_values(t))
    if y_shape != t_shape:
        raise ValueError(f"mean_squared_error: y has shape {y_shape} but t has shape {t_shape}; "
                         "they must match (reshape one of them)")
    d = as_tensor(y) - t
    return 0.5 * ops.sum(d * d)


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
    draw = rng.random(x.shape) if rng is not None else np.random.random_sample(x.shape)
    mask = (draw >= p).astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64)
    mask /= 1.0 - p
    return x * mask

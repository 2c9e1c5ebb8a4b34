"""The book's layers (its `common/layers.py`), each one a small graph.

`Affine`, `Relu`, `Sigmoid`, `SoftmaxWithLoss`, `Dropout`, `BatchNormalization`,
`Convolution` and `Pooling` keep the book's interface: ndarrays in and out,
`forward(...)` then `backward(dout)` returning the gradient of the input, and
the gradients of the parameters as attributes (`dW`, `db`, `dgamma`,
`dbeta`), each a fresh ndarray. So the book's layered networks (chapter 5's
TwoLayerNet, chapter 7's SimpleConvNet) run unchanged with
`from minigrad.layers import *`. The sequel's `TimeEmbedding`, `TimeRNN`,
`TimeLSTM`, `TimeGRU`, `TimeAffine`, `TimeSoftmaxWithLoss`, `TimeDropout`,
`EmbeddingDot` and `NegativeSamplingLoss` keep its interface too: `params` and
`grads` lists, the grads written in place by `backward`.

No derivative is written here. A forward wraps its input as a leaf that
requires grad and the parameters as leaves holding the layer's very arrays
(no copy), and records its op with minigrad's ops; `backward(dout)` asks the
graph for the gradients with `minigrad.grad(out, [x, W, b], grad_outputs=dout)`.
The parameters are read from the layer's attributes at every forward, so
updating the user's `params` arrays in place (`params[key] -= lr * grads[key]`)
and assigning new ones (`layer.W = params["W1"]`, as the book's `load_params`
does) both take effect. Each layer keeps only the graph of its own last
forward: layers chain as in the book, each one's input being the plain array
the previous one returned.

A forward under `no_grad()` records nothing (it costs the op and no more);
a backward after it, or before any forward, is an error naming the layer.
The graph is kept until the next forward, so backward may be called again
(as the book's layers allow) unless the parameters were changed in place
by a minigrad optimizer since, which is an error saying so.
Inputs of integer or bool dtype are converted to floating point (float32,
or float64 for 64-bit integers) so that they can have a gradient.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import functional as F
from . import ops
from ._checks import check_float, check_int
from .engine import Tensor, _make, as_array, grad

__all__ = ["Affine", "Relu", "Sigmoid", "SoftmaxWithLoss", "Dropout", "BatchNormalization",
           "Convolution", "Pooling"]


def _leaf(array: np.ndarray) -> Tensor:
    """A leaf that requires grad, holding `array` itself (the checks were made by the caller)."""
    return _make(array, None, True)


def _input(x: Any, where: str) -> np.ndarray:
    """The layer's input as a floating-point ndarray (the same array when it is one already)."""
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return x
    array = np.asarray(as_array(x))
    kind = array.dtype.kind
    if kind == "f":
        return array
    if kind in "biu":
        return array.astype(np.result_type(array.dtype, np.float32))
    raise TypeError(f"{where}: input of dtype {array.dtype} (shape {array.shape}); "
                    "give real numbers")


def _param(value: Any, name: str, where: str) -> np.ndarray:
    """A parameter as the very ndarray the user holds (a Tensor's array); floats only."""
    if type(value) is np.ndarray and value.dtype.kind == "f":
        return value
    array = as_array(value)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{where}: {name} must be an ndarray (the layer reads it at every "
                        f"forward, and training updates it in place), got "
                        f"{type(value).__name__}")
    if array.dtype.kind != "f":
        raise TypeError(f"{where}: {name} has dtype {array.dtype}; parameters must be "
                        f"floating point, e.g. {name}.astype(np.float64)")
    return array


def _fresh(grads: tuple[Tensor, ...]) -> list[np.ndarray]:
    """The gradients as ndarrays of their own: none is a view of another or read-only."""
    arrays: list[np.ndarray] = []
    for g in grads:
        a = g.data
        if type(a) is not np.ndarray or not a.flags.writeable or any(
                np.may_share_memory(a, b) for b in arrays):
            a = np.array(a)
        arrays.append(a)
    return arrays


_NOT_YET = "no forward has run yet: call forward first"
_NO_GRAPH = ("the last forward ran under no_grad(), so it recorded no graph to backward "
             "through: run forward with gradients enabled")
_FAILED = "the last forward failed, so there is nothing to backward through"


class _Layer:
    """What every layer shares: the graph of its last forward, and the backward through it."""

    def __init__(self) -> None:
        self._graph: tuple[Tensor, tuple[Tensor, ...]] | None = None
        self._why = _NOT_YET                 # why there is no graph, for the error

    def _keep(self, out: Tensor, leaves: tuple[Tensor, ...]) -> np.ndarray:
        """Remember the graph from `leaves` to `out` (if one was recorded); return out's array."""
        if out._requires_grad:
            self._graph = (out, leaves)
        else:
            self._why = _NO_GRAPH
        return out._data

    def _start(self) -> None:
        self._graph = None
        self._why = _FAILED                  # until the forward completes

    def _gradients(self, dout: Any) -> list[np.ndarray]:
        """d(sum(out * dout)) / d(leaf) for every leaf of the last forward, as fresh arrays."""
        name = type(self).__name__
        if self._graph is None:
            raise RuntimeError(f"{name}.backward: {self._why}")
        out, leaves = self._graph
        g = np.asarray(as_array(dout))
        if g.shape != out.shape:
            raise ValueError(f"{name}.backward: dout of shape {g.shape} does not fit the output "
                             f"of the last forward, of shape {out.shape}")
        try:
            grads = grad(out, leaves, grad_outputs=g, retain_graph=True)
        except RuntimeError as error:
            raise RuntimeError(f"{name}.backward: {error}") from None
        return _fresh(grads)

    def _failed(self, error: Exception) -> Exception:
        """The error of an op, prefixed with the layer's name."""
        try:
            return type(error)(f"{type(self).__name__}.forward: {error}")
        except Exception:
            return error


class Affine(_Layer):
    """x @ W + b for x of shape (N, in), or (N, ...) flattened to (N, in) as the book does.

    After `backward(dout)`, `dW` and `db` hold the gradients of W and b, and
    the returned dx has x's original shape.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        super().__init__()
        self.W = W
        self.b = b
        self.x: np.ndarray | None = None
        self.original_x_shape: tuple[int, ...] | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None

    def forward(self, x: Any) -> np.ndarray:
        self._start()
        W, b = _param(self.W, "W", "Affine"), _param(self.b, "b", "Affine")
        x = _input(x, "Affine")
        shape = self.original_x_shape = x.shape
        xt, Wt, bt = _leaf(x), _leaf(W), _leaf(b)
        try:
            rows = xt if x.ndim <= 2 else ops.reshape(xt, (shape[0], -1))
            out = ops.linear(rows, Wt, bt)
        except ValueError:
            raise ValueError(f"Affine: input of shape {shape} does not fit W of shape {W.shape} "
                             f"and b of shape {b.shape}: need (N, in) (or (N, ...) of in "
                             "values each), W (in, out) and b (out,)") from None
        self.x = rows._data
        return self._keep(out, (xt, Wt, bt))

    def backward(self, dout: Any) -> np.ndarray:
        dx, self.dW, self.db = self._gradients(dout)
        return dx


class Relu(_Layer):
    """max(x, 0), elementwise; the gradient passes where x > 0 (the book's `mask` is x <= 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.x: np.ndarray | None = None

    @property
    def mask(self) -> np.ndarray | None:
        """Where the last input was <= 0 (the book's attribute), computed when asked for."""
        return None if self.x is None else self.x <= 0

    def forward(self, x: Any) -> np.ndarray:
        self._start()
        self.x = x = _input(x, "Relu")
        xt = _leaf(x)
        return self._keep(ops.relu(xt), (xt,))

    def backward(self, dout: Any) -> np.ndarray:
        return self._gradients(dout)[0]


class Sigmoid(_Layer):
    """1 / (1 + exp(-x)), elementwise; `out` keeps the last output, as in the book."""

    def __init__(self) -> None:
        super().__init__()
        self.out: np.ndarray | None = None

    def forward(self, x: Any) -> np.ndarray:
        self._start()
        xt = _leaf(_input(x, "Sigmoid"))
        self.out = self._keep(ops.sigmoid(xt), (xt,))
        return self.out

    def backward(self, dout: Any) -> np.ndarray:
        return self._gradients(dout)[0]


class SoftmaxWithLoss(_Layer):
    """Softmax of the scores x, then the mean cross-entropy against t; the network's last layer.

    t holds integer labels (N,) (or a column of them, (N, 1)) or one-hot rows
    (N, C), as in the book.
    `forward(x, t)` returns the loss as a Python float (so a list of losses
    plots) and keeps it in `loss`; `backward(dout=1)` returns dx, which is
    (softmax(x) - one-hot t) / N times dout. Computed as one fused, stable
    op: log-softmax exactly, where the book adds 1e-7 inside the log (the
    two differ by about 1e-7 unless a probability is below 1e-7). `y`, the
    softmax of the last input, is computed when asked for.
    """

    def __init__(self) -> None:
        super().__init__()
        self.loss: float | None = None
        self.t: np.ndarray | None = None
        self.x: np.ndarray | None = None

    @property
    def y(self) -> np.ndarray | None:
        """softmax(x) of the last forward (the book's attribute), computed when asked for."""
        if self.x is None:
            return None
        z = self.x - np.max(self.x, axis=-1, keepdims=True)
        e = np.exp(z)
        p: np.ndarray = e / np.sum(e, axis=-1, keepdims=True)
        return p

    def forward(self, x: Any, t: Any) -> float:
        self._start()
        self.x = x = _input(x, "SoftmaxWithLoss")
        t = np.asarray(as_array(t))
        if t.dtype.kind in "iu" and x.ndim and x.shape[-1] != 1 and t.shape == (*x.shape[:-1], 1):
            t = t.reshape(x.shape[:-1])      # a column of labels, as the book's check passes
        self.t = t
        xt = _leaf(x)
        try:
            out = ops.softmax_cross_entropy(xt, t)
        except (ValueError, TypeError) as error:
            raise self._failed(error) from None
        self.loss = float(out.data)
        self._keep(out, (xt,))
        return self.loss

    def backward(self, dout: Any = 1) -> np.ndarray:
        return self._gradients(dout)[0]


class Dropout(_Layer):
    """The book's dropout: in training, keep each element where a uniform draw exceeds
    `dropout_ratio` (the rest become 0); at test time (`train_flg=False`), scale by
    1 - dropout_ratio instead. The draws come from numpy's global random state
    (`np.random.seed` repeats them); `mask` keeps the last one.
    """

    def __init__(self, dropout_ratio: float = 0.5) -> None:
        super().__init__()
        ratio = check_float(dropout_ratio, "dropout_ratio", "Dropout")
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"Dropout: dropout_ratio must be in [0, 1], got {dropout_ratio!r}")
        self.dropout_ratio = ratio
        self.mask: np.ndarray | None = None

    def forward(self, x: Any, train_flg: bool = True) -> np.ndarray:
        self._start()
        x = _input(x, "Dropout")
        xt = _leaf(x)
        if train_flg:
            self.mask = np.asarray(np.random.rand(*x.shape) > self.dropout_ratio)
            out = xt * self.mask
        else:
            out = xt * (1.0 - self.dropout_ratio)
        return self._keep(out, (xt,))

    def backward(self, dout: Any) -> np.ndarray:
        return self._gradients(dout)[0]


class BatchNormalization(_Layer):
    """The book's batch normalization: gamma * (x - mean) / sqrt(var + 1e-6) + beta.

    x is (N, D), or (N, C, H, W) (any (N, ...)) normalized as (N, -1), so gamma
    and beta have C*H*W entries, as in the book. With `train_flg=True` the
    batch's mean and (biased) variance are used and the running averages
    updated as the book does: running = momentum * running + (1 - momentum) *
    batch statistic (each a new array), starting from zeros when not given.
    With `train_flg=False` the running averages are used instead.
    """

    EPS = 10e-7          # the book's epsilon (1e-6)

    def __init__(self, gamma: np.ndarray, beta: np.ndarray, momentum: float = 0.9,
                 running_mean: np.ndarray | None = None,
                 running_var: np.ndarray | None = None) -> None:
        super().__init__()
        self.gamma = gamma
        self.beta = beta
        self.momentum = check_float(momentum, "momentum", "BatchNormalization")
        self.input_shape: tuple[int, ...] | None = None
        self.running_mean = running_mean
        self.running_var = running_var
        self.batch_size: int | None = None
        self.xc: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.dgamma: np.ndarray | None = None
        self.dbeta: np.ndarray | None = None

    def forward(self, x: Any, train_flg: bool = True) -> np.ndarray:
        self._start()
        where = "BatchNormalization"
        gamma, beta = _param(self.gamma, "gamma", where), _param(self.beta, "beta", where)
        x = _input(x, where)
        shape = x.shape
        if len(shape) < 2:
            raise ValueError(f"{where}: input must be (N, D) or (N, C, H, W), got shape {shape}")
        n, d = shape[0], math.prod(shape[1:])
        for name, p in (("gamma", gamma), ("beta", beta)):
            if p.size != d or p.ndim > 2:
                raise ValueError(f"{where}: {name} of shape {p.shape} does not fit input of "
                                 f"shape {shape} (normalized as ({n}, {d})): expected ({d},)")
        if self.running_mean is None:
            self.running_mean = np.zeros(d)
        if self.running_var is None:
            self.running_var = np.zeros(d)
        for name, r in (("running_mean", self.running_mean), ("running_var", self.running_var)):
            if np.size(r) != d:
                raise ValueError(f"{where}: {name} of shape {np.shape(r)} does not fit input of "
                                 f"shape {shape} (normalized as ({n}, {d})): expected ({d},)")
        self.input_shape = shape
        xt, gt, bt = _leaf(x), _leaf(gamma), _leaf(beta)
        rows = xt if x.ndim == 2 else ops.reshape(xt, (n, d))
        if train_flg:
            if n == 0:
                raise ValueError(f"{where}: training mode needs at least one sample, got input "
                                 f"of shape {shape}")
            mu = ops.mean(rows, axis=0)
            xc = rows - mu
            var = ops.mean(xc * xc, axis=0)
            std = ops.sqrt(var + self.EPS)
            xn = xc / std
            self.batch_size, self.xc, self.std = n, xc.data, std.data
            m = self.momentum
            self.running_mean = m * self.running_mean + (1 - m) * mu.data
            self.running_var = m * self.running_var + (1 - m) * var.data
        else:
            xn = (rows - np.reshape(self.running_mean, d)) / np.sqrt(
                np.reshape(self.running_var, d) + self.EPS)
        g_row = gt if gamma.shape == (d,) else ops.reshape(gt, (d,))
        b_row = bt if beta.shape == (d,) else ops.reshape(bt, (d,))
        out = g_row * xn + b_row
        if x.ndim != 2:
            out = ops.reshape(out, shape)
        return self._keep(out, (xt, gt, bt))

    def backward(self, dout: Any) -> np.ndarray:
        dx, self.dgamma, self.dbeta = self._gradients(dout)
        return dx


class Convolution(_Layer):
    """Convolution of x (N, C, H, W) with filters W (FN, C, FH, FW) plus b (FN,): the book's
    im2col followed by one matrix product (minigrad's `F.conv2d`). Output (N, FN, OH, OW)
    with OH = (H + 2*pad - FH) // stride + 1; `dW` and `db` after backward.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0) -> None:
        super().__init__()
        self.W = W
        self.b = b
        self.stride = check_int(stride, "stride", "Convolution")
        self.pad = check_int(pad, "pad", "Convolution", minimum=0)
        self.x: np.ndarray | None = None
        self.dW: np.ndarray | None = None
        self.db: np.ndarray | None = None

    def forward(self, x: Any) -> np.ndarray:
        self._start()
        W, b = _param(self.W, "W", "Convolution"), _param(self.b, "b", "Convolution")
        self.x = x = _input(x, "Convolution")
        xt, Wt, bt = _leaf(x), _leaf(W), _leaf(b)
        try:
            out = F.conv2d(xt, Wt, bt, stride=self.stride, padding=self.pad)
        except (ValueError, TypeError) as error:
            raise self._failed(error) from None
        return self._keep(out, (xt, Wt, bt))

    def backward(self, dout: Any) -> np.ndarray:
        dx, self.dW, self.db = self._gradients(dout)
        return dx


class Pooling(_Layer):
    """Max pooling of x (N, C, H, W) over pool_h × pool_w windows, `stride` apart.

    As in the book, the padding is zeros (so with pad > 0 a window of negative
    values gives 0) and the gradient of each window goes to its first
    maximum in row-major order. Output (N, C, OH, OW), OH = (H + 2*pad -
    pool_h) // stride + 1.
    """

    def __init__(self, pool_h: int, pool_w: int, stride: int = 2, pad: int = 0) -> None:
        super().__init__()
        self.pool_h = check_int(pool_h, "pool_h", "Pooling")
        self.pool_w = check_int(pool_w, "pool_w", "Pooling")
        self.stride = check_int(stride, "stride", "Pooling")
        self.pad = check_int(pad, "pad", "Pooling", minimum=0)
        self.x: np.ndarray | None = None

    def forward(self, x: Any) -> np.ndarray:
        self._start()
        self.x = x = _input(x, "Pooling")
        xt = _leaf(x)
        try:
            padded = xt
            if self.pad:             # zeros around the image: a 1x1 im2col with padding
                if x.ndim != 4:
                    raise ValueError(f"input must be 4-D (N, C, H, W), got shape {x.shape}")
                n, c, h, w = x.shape
                p = self.pad
                rows = F.im2col(xt, 1, 1, 1, p)                      # (N*Hp*Wp, C)
                padded = ops.transpose(ops.reshape(rows, (n, h + 2 * p, w + 2 * p, c)),
                                       (0, 3, 1, 2))
            out = F.max_pool2d(padded, (self.pool_h, self.pool_w), self.stride)
        except (ValueError, TypeError) as error:
            raise self._failed(error) from None
        return self._keep(out, (xt,))

    def backward(self, dout: Any) -> np.ndarray:
        return self._gradients(dout)[0]


# ------------------------------------------------------------ the sequel's time layers

__all__ += ["TimeRNN", "TimeLSTM", "TimeGRU", "TimeAffine", "TimeEmbedding"]


class _TimeLayer(_Layer):
    """The sequel's interface: `params` and `grads` lists (the grads written in place by
    backward, so optimizers holding them see the new values), arrays of shape (N, T, ...)."""

    names: tuple[str, ...]

    def __init__(self, *params: np.ndarray) -> None:
        super().__init__()
        self.params = list(params)
        self.grads = [np.zeros_like(p) for p in params]

    def _params(self) -> list[np.ndarray]:
        where = type(self).__name__
        return [_param(p, n, where) for p, n in zip(self.params, self.names)]

    def _store(self, grads: list[np.ndarray]) -> None:
        for kept, g in zip(self.grads, grads):
            kept[...] = g


class _TimeRecurrent(_TimeLayer):
    """A recurrence over (N, T, D) inputs with Wx (D, gates·H), Wh (H, gates·H), b (gates·H,).

    With `stateful=True` the last hidden state carries over to the next
    forward, cut from the graph (truncated BPTT); `set_state` sets it,
    `reset_state` forgets it. After backward, `dh` holds the gradient of the
    initial hidden state (what a seq2seq decoder hands its encoder).
    """

    gates = 1
    names = ("Wx", "Wh", "b")

    def __init__(self, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
                 stateful: bool = False) -> None:
        super().__init__(Wx, Wh, b)
        self.stateful = stateful
        self.h: np.ndarray | None = None
        self.dh: np.ndarray | None = None

    def set_state(self, h: np.ndarray) -> None:
        self.h = h

    def reset_state(self) -> None:
        self.h = None

    def step(self, x: Tensor, h: Tensor, Wx: Tensor, Wh: Tensor, b: Tensor) -> Tensor:
        return (ops.linear(x, Wx, b) + h @ Wh).tanh()

    def forward(self, xs: Any) -> np.ndarray:
        self._start()
        name = type(self).__name__
        Wx, Wh, b = self._params()
        xs = _input(xs, name)
        H = Wh.shape[0]
        if xs.ndim != 3 or xs.shape[2] != Wx.shape[0] or Wx.shape[1] != self.gates * H or \
                Wh.shape != (H, self.gates * H) or b.shape != (self.gates * H,):
            raise ValueError(f"{name}: xs of shape {xs.shape}, Wx {Wx.shape}, Wh {Wh.shape}, "
                             f"b {b.shape} do not fit: need xs (N, T, D), Wx (D, {self.gates}H), "
                             f"Wh (H, {self.gates}H), b ({self.gates}H,)")
        N, T = xs.shape[:2]
        if not self.stateful or self.h is None:
            self.h = np.zeros((N, H), np.result_type(xs.dtype, Wh.dtype))
        leaves = (_leaf(xs), _leaf(Wx), _leaf(Wh), _leaf(b), _leaf(np.asarray(self.h)))
        x, *weights, h = leaves
        hs = self.run(F.time_steps(x.swapaxes(0, 1)), h, weights)
        out = ops.stack(hs, axis=1)
        return self._keep(out, leaves)

    def run(self, steps: list[Tensor], h: Tensor, weights: list[Tensor]) -> list[Tensor]:
        hs = []
        for x in steps:
            h = self.step(x, h, *weights)
            hs.append(h)
        self.h = h._data
        return hs

    def backward(self, dhs: Any) -> np.ndarray:
        dxs, *grads, self.dh = self._gradients(dhs)
        self._store(grads)
        return dxs


class TimeRNN(_TimeRecurrent):
    """The sequel's TimeRNN: h_t = tanh(h_{t-1} Wh + x_t Wx + b) at every step."""


class TimeLSTM(_TimeRecurrent):
    """The sequel's TimeLSTM: gates f, g, i, o (in that order along Wx's columns), cell state
    `c` carried as `h` is."""

    gates = 4

    def __init__(self, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
                 stateful: bool = False) -> None:
        super().__init__(Wx, Wh, b, stateful)
        self.c: np.ndarray | None = None

    def set_state(self, h: np.ndarray, c: np.ndarray | None = None) -> None:
        self.h, self.c = h, c

    def reset_state(self) -> None:
        self.h = self.c = None

    def run(self, steps: list[Tensor], h: Tensor, weights: list[Tensor]) -> list[Tensor]:
        if not self.stateful or self.c is None:
            self.c = np.zeros(h.shape, h.dtype)
        Wx, Wh, b = weights
        H, c, hs = h.shape[1], Tensor(np.asarray(self.c)), []
        for x in steps:
            a = ops.linear(x, Wx, b) + h @ Wh
            f, g = a[:, :H].sigmoid(), a[:, H:2 * H].tanh()
            i, o = a[:, 2 * H:3 * H].sigmoid(), a[:, 3 * H:].sigmoid()
            c = f * c + g * i
            h = o * c.tanh()
            hs.append(h)
        self.h, self.c = h._data, c._data
        return hs


class TimeGRU(_TimeRecurrent):
    """The sequel's GRU at every step: gates z, r, then the candidate from r·h:
    h_t = (1 - z)·h_{t-1} + z·tanh(x Wx_h + (r·h_{t-1}) Wh_h + b_h)."""

    gates = 3

    def step(self, x: Tensor, h: Tensor, Wx: Tensor, Wh: Tensor, b: Tensor) -> Tensor:
        H = h.shape[1]
        a = ops.linear(x, Wx, b)
        zr = (a[:, :2 * H] + h @ Wh[:, :2 * H]).sigmoid()
        z, r = zr[:, :H], zr[:, H:]
        candidate = (a[:, 2 * H:] + (r * h) @ Wh[:, 2 * H:]).tanh()
        return h + z * (candidate - h)


class TimeAffine(_TimeLayer):
    """x @ W + b at every step of x (N, T, D)."""

    names = ("W", "b")

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        super().__init__(W, b)

    def forward(self, x: Any) -> np.ndarray:
        self._start()
        W, b = self._params()
        x = _input(x, "TimeAffine")
        leaves = (_leaf(x), _leaf(W), _leaf(b))
        try:
            out = ops.linear(*leaves)
        except ValueError:
            raise ValueError(f"TimeAffine: x of shape {x.shape} does not fit W {W.shape} and "
                             f"b {b.shape}: need x (N, T, D), W (D, M), b (M,)") from None
        return self._keep(out, leaves)

    def backward(self, dout: Any) -> np.ndarray:
        dx, *grads = self._gradients(dout)
        self._store(grads)
        return dx


class TimeEmbedding(_TimeLayer):
    """Rows of W looked up by the word ids xs (N, T); backward adds into grads[0]'s rows."""

    names = ("W",)

    def __init__(self, W: np.ndarray) -> None:
        super().__init__(W)

    def forward(self, xs: Any) -> np.ndarray:
        self._start()
        W, = self._params()
        leaf = _leaf(W)
        return self._keep(F.embedding(np.asarray(as_array(xs)), leaf), (leaf,))

    def backward(self, dout: Any) -> None:
        self._store(self._gradients(dout))


__all__ += ["TimeSoftmaxWithLoss", "TimeDropout"]


class TimeSoftmaxWithLoss(_TimeLayer):
    """Softmax cross-entropy of scores xs (N, T, V) against word ids ts (N, T) (or one-hot
    rows), averaged over the entries whose label is not `ignore_label` (-1)."""

    names = ()

    def __init__(self) -> None:
        super().__init__()
        self.ignore_label = -1

    def forward(self, xs: Any, ts: Any) -> float:
        self._start()
        xs = _input(xs, "TimeSoftmaxWithLoss")
        labels = np.asarray(as_array(ts))
        if labels.ndim == 3:                        # one-hot rows
            labels = labels.argmax(axis=2)
        if xs.ndim != 3 or labels.shape != xs.shape[:2] or labels.dtype.kind not in "iu":
            raise ValueError(f"TimeSoftmaxWithLoss: xs of shape {xs.shape} and ts of shape "
                             f"{np.shape(as_array(ts))}: need xs (N, T, V) and integer ts "
                             "(N, T) (or one-hot (N, T, V))")
        if not (labels != self.ignore_label).any():
            raise ValueError("TimeSoftmaxWithLoss: every label is ignore_label, so there "
                             "is no loss to average")
        leaf = _leaf(xs)
        V = xs.shape[2]
        loss = F.cross_entropy(leaf.reshape(-1, V), labels.reshape(-1),
                               ignore_index=self.ignore_label)
        return float(self._keep(loss, (leaf,)))

    def backward(self, dout: Any = 1) -> np.ndarray:
        return self._gradients(np.asarray(as_array(dout), dtype=float))[0]


class TimeDropout(_Layer):
    """Inverted dropout over whole sequences, as the sequel's: while `train_flg` is True,
    each element is kept with probability 1 - dropout_ratio and scaled by 1/(1 - ratio);
    otherwise the input passes unchanged. Draws come from numpy's global state."""

    def __init__(self, dropout_ratio: float = 0.5) -> None:
        super().__init__()
        ratio = check_float(dropout_ratio, "dropout_ratio", "TimeDropout")
        if not 0.0 <= ratio < 1.0:
            raise ValueError(f"TimeDropout: dropout_ratio must be in [0, 1), "
                             f"got {dropout_ratio!r}")
        self.dropout_ratio = ratio
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self.mask: np.ndarray | None = None
        self.train_flg = True

    def forward(self, xs: Any) -> np.ndarray:
        self._start()
        xs = _input(xs, "TimeDropout")
        leaf = _leaf(xs)
        if self.train_flg:
            keep = np.random.rand(*xs.shape) > self.dropout_ratio
            self.mask = keep.astype(xs.dtype) / (1.0 - self.dropout_ratio)
            return self._keep(leaf * self.mask, (leaf,))
        return self._keep(leaf * 1.0, (leaf,))

    def backward(self, dout: Any) -> np.ndarray:
        return self._gradients(dout)[0]


# ------------------------------------------------------------ word2vec's negative sampling

__all__ += ["EmbeddingDot", "UnigramSampler", "NegativeSamplingLoss"]


def _embedding_dot(h: Tensor, W: Tensor, idx: np.ndarray) -> Tensor:
    """Each row of h dotted with the rows of W that idx (N,) or (N, k) picks."""
    rows = F.embedding(idx, W)                       # (N, D) or (N, k, D)
    return (rows * (h if idx.ndim == 1 else h.reshape(h.shape[0], 1, -1))).sum(axis=-1)


def _minus_log_sigmoid(x: Tensor) -> Tensor:
    """-log σ(x), stably and smoothly: -log_softmax([0, x])[1]."""
    pairs = ops.stack([Tensor(np.zeros(x.shape, x.dtype)), x], axis=-1)
    return -F.log_softmax(pairs)[..., 1]


class EmbeddingDot(_TimeLayer):
    """The score of each hidden vector h (N, D) against the output word vector W[idx]."""

    names = ("W",)

    def __init__(self, W: np.ndarray) -> None:
        super().__init__(W)

    def forward(self, h: Any, idx: Any) -> np.ndarray:
        self._start()
        W, = self._params()
        leaves = (_leaf(_input(h, "EmbeddingDot")), _leaf(W))
        return self._keep(_embedding_dot(*leaves, np.asarray(as_array(idx))), leaves)

    def backward(self, dout: Any) -> np.ndarray:
        dh, dW = self._gradients(dout)
        self._store([dW])
        return dh


class UnigramSampler:
    """Negative samples drawn from the corpus's word frequencies raised to `power` (0.75
    lifts rare words), `sample_size` per target, none equal to its target."""

    def __init__(self, corpus: Any, power: float, sample_size: int) -> None:
        corpus = np.asarray(corpus)
        counts = np.bincount(corpus).astype(np.float64)
        self.vocab_size = len(counts)
        self.sample_size = check_int(sample_size, "sample_size", "UnigramSampler")
        if self.sample_size >= self.vocab_size:
            raise ValueError(f"UnigramSampler: sample_size {sample_size} needs more than "
                             f"{self.vocab_size} words in the vocabulary")
        p = counts ** check_float(power, "power", "UnigramSampler")
        self.word_p = p / p.sum()

    def get_negative_sample(self, target: Any) -> np.ndarray:
        """(N, sample_size) word ids, distinct within a row and never the row's target,
        from numpy's global random state."""
        target = np.asarray(target)
        negatives = np.zeros((target.shape[0], self.sample_size), dtype=np.int64)
        for row, word in enumerate(target):
            p = self.word_p.copy()
            p[word] = 0
            negatives[row] = np.random.choice(self.vocab_size, self.sample_size, replace=False,
                                              p=p / p.sum())
        return negatives


class NegativeSamplingLoss(_TimeLayer):
    """word2vec's loss: binary cross-entropy of the target word's score (label 1) and of
    `sample_size` sampled words' scores (label 0), each averaged over the batch and summed.
    `params` holds the output vectors W once, `grads` its whole gradient."""

    names = ("W",)

    def __init__(self, W: np.ndarray, corpus: Any, power: float = 0.75,
                 sample_size: int = 5) -> None:
        super().__init__(W)
        self.sample_size = sample_size
        self.sampler = UnigramSampler(corpus, power, sample_size)

    def forward(self, h: Any, target: Any) -> float:
        self._start()
        W, = self._params()
        target = np.asarray(as_array(target))
        negatives = self.sampler.get_negative_sample(target)
        ht, Wt = _leaf(_input(h, "NegativeSamplingLoss")), _leaf(W)
        positive = _minus_log_sigmoid(_embedding_dot(ht, Wt, target)).mean()
        negative = _minus_log_sigmoid(-_embedding_dot(ht, Wt, negatives)).mean(axis=0).sum()
        return float(self._keep(positive + negative, (ht, Wt)))

    def backward(self, dout: Any = 1) -> np.ndarray:
        dh, dW = self._gradients(np.asarray(as_array(dout), dtype=float))
        self._store([dW])
        return dh

"""The book's networks on the graph: TwoLayerNet (chapters 4-5), MultiLayerNet (chapter 6)
and SimpleConvNet (chapter 7).

They keep the book's interface — a `params` dict of ndarrays, `predict`,
`loss`, `accuracy`, `numerical_gradient` and `gradient` returning dicts of
ndarrays — so the book's training loops run unchanged, and they are Modules,
so `minigrad.optim` optimizers, `state_dict` and `save`/`load` work on them.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import functional as F
from . import gradcheck, ops
from ._checks import check_bool, check_float, check_int, check_rng, check_str
from .engine import ArrayLike, Tensor, as_array, grad
from .modes import enable_grad, is_grad_enabled, no_grad
from .nn import BatchNorm1d, Dropout, Linear, Module, Parameter, _rng_normal, init_std
from .versions import bump_version, release_if_stale

__all__ = ["TwoLayerNet", "MultiLayerNet", "MultiLayerNetExtend", "ParamDict", "SimpleConvNet",
           "Loss"]

_ACTIVATIONS = {"sigmoid": ops.sigmoid, "relu": ops.relu, "tanh": ops.tanh}


def _activation(name: str, model: str) -> Callable[[ArrayLike], Tensor]:
    check_str(name, "activation", model)
    try:
        return _ACTIVATIONS[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"{model}: unknown activation {name!r}; use one of "
                         f"{sorted(_ACTIVATIONS)}") from None


class ParamDict(dict[str, np.ndarray]):
    """The book's `params` dict: name -> ndarray, each shared with the model's Parameter.

    Updating an array in place (`params["W1"] -= lr * g`) updates the model;
    assigning a new array (`params["W1"] = W`) rebinds the Parameter to it.
    """

    def __init__(self, parameters: dict[str, Parameter]) -> None:
        super().__init__((key, p.data) for key, p in parameters.items())
        self._parameters = parameters

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._parameters:
            raise KeyError(f"params: the model has no parameter {key!r} "
                           f"(it has {list(self._parameters)})")
        p = self._parameters[key]
        if value is p.data:          # `params[key] -= ...` stores the same array back,
            bump_version(value)      # written in place: graphs that saved it are stale
            return
        array = np.asarray(as_array(value), dtype=p.data.dtype)
        if array.shape != p.data.shape:
            raise ValueError(f"params[{key!r}]: new array of shape {array.shape} for a "
                             f"parameter of shape {p.data.shape}")
        p.data = array
        super().__setitem__(key, array)

    def parameter(self, key: str) -> Parameter:
        """The model's Parameter behind `params[key]`."""
        return self._parameters[key]

    def refresh(self) -> None:
        """Point the entries at the parameters' current arrays again."""
        for key, p in self._parameters.items():
            super().__setitem__(key, p.data)


class Loss(Tensor):
    """The scalar that the book's networks' `loss()` returns: a Tensor in the graph, and the
    number the book's own loss() returns.

    `loss.backward()` works as on any tensor. The book's loops also keep every loss,
    `train_loss_list.append(loss)`, then plot or smooth the list: numpy conversion of a
    Loss gives its value, and `str(loss)` is the number. So that such a list holds
    numbers rather than graphs, the network frees a loss's graph once a backward through
    it could only fail: when arrays it saved (the parameters) have been updated since.
    """

    __slots__ = ()

    @classmethod
    def _of(cls, value: Tensor) -> Loss:
        loss = object.__new__(cls)
        loss._data, loss.grad, loss.name = value._data, None, value.name
        loss._requires_grad, loss._ctx = value._requires_grad, value._ctx
        return loss

    def __str__(self) -> str:
        return str(self._data.item())

    if not TYPE_CHECKING:
        def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
            return np.array(self._data, dtype=dtype, copy=True)


_RELEASED = ("the graph behind this loss was released, because the parameters it was computed "
             "from have been updated since (params[key] -= ..., an optimizer step), so a "
             "backward through it could only fail. Call backward() before the update, or "
             "compute the loss again")


class _BookNetwork(Module):
    """A Module with the book's `params` dict, kept pointing at the parameters' arrays."""

    params: ParamDict

    def __init__(self) -> None:
        super().__init__()
        self._losses: list[weakref.ref[Loss]] = []    # losses whose graph may still be used

    def _loss(self, value: Tensor) -> Loss:
        """`value` as a Loss; graphs of earlier losses that went stale are freed."""
        if self._losses:
            self._losses = [ref for ref in self._losses
                            if (kept := ref()) is not None
                            and not release_if_stale(kept, _RELEASED)]
        loss = Loss._of(value)
        if loss._ctx is not None:
            self._losses.append(weakref.ref(loss))
        return loss

    def load_state_dict(self, state: Any, strict: bool = True) -> None:
        super().load_state_dict(state, strict)
        self.params.refresh()

    def to(self, dtype: Any) -> Any:
        super().to(dtype)
        self.params.refresh()
        return self

    def loss(self, x: Any, t: Any) -> Loss:
        raise NotImplementedError

    def save_params(self, file_name: str | os.PathLike[str] = "params.pkl") -> None:
        """Write the parameters to `file_name`, exactly that name (".pkl" included): a minigrad
        weight file (the .npz archive of `Module.save`, written atomically), never a pickle."""
        self.save(file_name)

    def load_params(self, file_name: str | os.PathLike[str] = "params.pkl") -> None:
        """Read the parameters that `save_params` wrote into the model (in place, shapes
        checked); a file that is not a minigrad weight file (e.g. a real pickle) is an error."""
        self.load(file_name)

    def numerical_gradient(self, x: Any, t: Any) -> dict[str, np.ndarray]:
        """The gradient of the loss by central differences, one parameter element at a time
        (slow: use a small input)."""
        with no_grad():
            def loss_W(_: Any) -> Tensor:
                return self.loss(x, t)

            return {k: gradcheck.numerical_gradient(loss_W, W) for k, W in self.params.items()}

    def gradient(self, x: Any, t: Any) -> dict[str, np.ndarray]:
        """The gradient of the loss by one backward pass over the graph.

        Returns fresh arrays and leaves the parameters' `.grad` alone.
        """
        keys = list(self.params)
        parameters = [self.params.parameter(k) for k in keys]
        if is_grad_enabled():
            grads = grad(self.loss(x, t), parameters)
        else:
            with enable_grad():
                grads = grad(self.loss(x, t), parameters)
        return {k: g.data for k, g in zip(keys, grads, strict=True)}


class TwoLayerNet(_BookNetwork):
    """The book's two-layer network: Affine → activation → Affine, softmax cross-entropy loss.

    `activation="sigmoid"` is chapter 4's network, `"relu"` chapter 5's.
    Weights start as `weight_init_std * randn` (from `rng`, a Generator or
    seed, else numpy's global state as in the book), biases at zero.
    x and t may be ndarrays or Tensors; t holds labels or one-hot rows.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 weight_init_std: float = 0.01, activation: str = "sigmoid",
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        where = "TwoLayerNet"
        input_size = check_int(input_size, "input_size", where)
        hidden_size = check_int(hidden_size, "hidden_size", where)
        output_size = check_int(output_size, "output_size", where)
        std = check_float(weight_init_std, "weight_init_std", where)
        if not std >= 0.0:
            raise ValueError(f"{where}: weight_init_std must be >= 0, got {weight_init_std!r}")
        rng = check_rng(rng, "rng", where)
        self.activation = activation
        self._act = _activation(activation, where)
        self.W1 = Parameter(std * _rng_normal(rng, (input_size, hidden_size)))
        self.b1 = Parameter(np.zeros(hidden_size))
        self.W2 = Parameter(std * _rng_normal(rng, (hidden_size, output_size)))
        self.b2 = Parameter(np.zeros(output_size))
        self.sizes = (int(input_size), int(hidden_size), int(output_size))
        self._keys = ("W1", "b1", "W2", "b2")
        self.params = ParamDict({k: getattr(self, k) for k in self._keys})

    def predict(self, x: Any) -> Tensor:
        """Scores (logits) of shape (N, output_size); no softmax, as in the book's chapter 5."""
        return ops.linear(self._act(ops.linear(x, self.W1, self.b1)), self.W2, self.b2)

    forward = predict

    def loss(self, x: Any, t: Any) -> Loss:
        """Mean softmax cross-entropy of predict(x) against t (a scalar Tensor, see Loss)."""
        return self._loss(ops.softmax_cross_entropy(self.predict(x), t))

    def accuracy(self, x: Any, t: Any) -> float:
        """Fraction of samples whose highest score is the target class."""
        with no_grad():
            y = self.predict(x)
        return F.accuracy(y, t)

    def extra_repr(self) -> str:
        i, h, o = self.sizes
        return f"{i}, {h}, {o}, activation={self.activation!r}"


class _Block(Module):
    """One hidden layer of MultiLayerNet: Affine → [BatchNorm] → activation → [Dropout]."""

    def __init__(self, affine: Linear, act: Callable[[ArrayLike], Tensor],
                 batchnorm: BatchNorm1d | None, dropout: Dropout | None) -> None:
        super().__init__()
        self.affine = affine
        self.batchnorm = batchnorm
        self.dropout = dropout
        self._act = act

    def forward(self, x: Any) -> Tensor:
        h: Tensor = self.affine(x)
        if self.batchnorm is not None:
            h = self.batchnorm(h)
        h = self._act(h)
        if self.dropout is not None:
            h = self.dropout(h)
        return h


class MultiLayerNet(_BookNetwork):
    """The book's chapter-6 extended network: any number of hidden layers.

    Each hidden layer is Affine → [BatchNorm] → activation → [Dropout], then
    a final Affine; the loss is softmax cross-entropy plus the weight decay
    0.5·λ·ΣW² over every Affine weight. `weight_init_std` is "relu"/"he"
    (std sqrt(2/n_in)), "sigmoid"/"xavier" (sqrt(1/n_in)) or a number.
    `params` holds W1, b1, ... (and gamma1, beta1, ... with batch norm),
    shared with the model. Dropout and batch norm follow the module's
    training mode, or the book's `train_flg` where given.
    """

    def __init__(self, input_size: int, hidden_size_list: Sequence[int], output_size: int,
                 activation: str = "relu", weight_init_std: str | float = "relu",
                 weight_decay_lambda: float = 0.0, use_dropout: bool = False,
                 dropout_ratio: float = 0.5, use_batchnorm: bool = False,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        where = "MultiLayerNet"
        if isinstance(hidden_size_list, (str, bytes)) or not isinstance(hidden_size_list,
                                                                         Sequence):
            raise TypeError(f"{where}: hidden_size_list must be a list of integers, got "
                            f"{type(hidden_size_list).__name__}")
        sizes = [check_int(input_size, "input_size", where),
                 *[check_int(h, f"hidden_size_list[{i}]", where)
                   for i, h in enumerate(hidden_size_list)],
                 check_int(output_size, "output_size", where)]
        if not isinstance(weight_init_std, str):
            check_float(weight_init_std, "weight_init_std (a number or 'relu', 'sigmoid', "
                        "'he', 'xavier')", where)
        weight_decay_lambda = check_float(weight_decay_lambda, "weight_decay_lambda", where)
        dropout_ratio = check_float(dropout_ratio, "dropout_ratio", where)
        use_dropout = check_bool(use_dropout, "use_dropout", where)
        use_batchnorm = check_bool(use_batchnorm, "use_batchnorm", where)
        rng = check_rng(rng, "rng", where)
        act = _activation(activation, where)
        self.sizes = tuple(sizes)
        self.activation = activation
        self.weight_decay_lambda = float(weight_decay_lambda)
        self.hidden = []
        named: dict[str, Parameter] = {}
        for i in range(1, len(sizes) - 1):
            std = init_std(weight_init_std, sizes[i - 1], "MultiLayerNet")
            affine = Linear(sizes[i - 1], sizes[i], weight_init=std, rng=rng)
            bn = BatchNorm1d(sizes[i]) if use_batchnorm else None
            drop = Dropout(dropout_ratio, rng=rng) if use_dropout else None
            block = _Block(affine, act, bn, drop)
            setattr(self, f"layer{i}", block)
            self.hidden.append(block)
            for layer in (affine, bn) if bn is not None else (affine,):   # W, b, gamma, beta
                named.update((f"{key}{i}", p) for key, p in layer.named_parameters())
        last = len(sizes) - 1
        std = init_std(weight_init_std, sizes[-2], "MultiLayerNet")
        self.output = Linear(sizes[-2], sizes[-1], weight_init=std, rng=rng)
        named.update((f"{key}{last}", p) for key, p in self.output.named_parameters())
        self._named = named
        self._weights = [block.affine.W for block in self.hidden] + [self.output.W]
        self.params = ParamDict(named)

    def predict(self, x: Any, train_flg: bool | None = None) -> Tensor:
        """Scores (logits); `train_flg` overrides the training mode for this call."""
        if train_flg is None or bool(train_flg) == self.training:
            return self._forward(x)
        previous = self.training
        self.train(bool(train_flg))
        try:
            return self._forward(x)
        finally:
            self.train(previous)

    def _forward(self, x: Any) -> Tensor:
        for block in self.hidden:
            x = block(x)
        out: Tensor = self.output(x)
        return out

    forward = predict

    def loss(self, x: Any, t: Any, train_flg: bool | None = None) -> Loss:
        """Softmax cross-entropy plus 0.5·λ·ΣW² (the book's weight decay); see Loss."""
        loss = ops.softmax_cross_entropy(self.predict(x, train_flg), t)
        if self.weight_decay_lambda:
            decay: Tensor | float = 0.0
            for W in self._weights:
                decay = decay + ops.sum(W * W)
            loss = loss + 0.5 * self.weight_decay_lambda * decay
        return self._loss(loss)

    def accuracy(self, x: Any, t: Any) -> float:
        """Accuracy in evaluation mode (no dropout, running batch-norm statistics)."""
        with no_grad():
            y = self.predict(x, train_flg=False)
        return F.accuracy(y, t)

    def numerical_gradient(self, x: Any, t: Any) -> dict[str, np.ndarray]:
        """Central differences of the loss (in training mode, as the book's) per parameter.

        Dropout masks change between evaluations, so use it without dropout.
        Batch-norm running statistics are restored afterwards.
        """
        buffers = {name: b.copy() for name, b in self.named_buffers()}
        with no_grad():
            def loss_W(_: Any) -> Tensor:
                return self.loss(x, t, train_flg=True)

            result = {k: gradcheck.numerical_gradient(loss_W, self.params[k])
                      for k in self.params}
        for name, b in self.named_buffers():
            b[...] = buffers[name]
        return result

    def gradient(self, x: Any, t: Any) -> dict[str, np.ndarray]:
        """The gradient of `loss(x, t, train_flg=True)` by one backward pass, as a dict."""
        keys = list(self.params)
        with enable_grad():
            grads = grad(self.loss(x, t, train_flg=True), [self._named[k] for k in keys])
        return {k: g.data for k, g in zip(keys, grads, strict=True)}

    def extra_repr(self) -> str:
        return f"sizes={list(self.sizes)}, activation={self.activation!r}"


class MultiLayerNetExtend(MultiLayerNet):
    """The book's `MultiLayerNetExtend` under its name: MultiLayerNet, whose dropout ratio
    keyword is spelled `dropout_ration` here, as the book spells it."""

    def __init__(self, input_size: int, hidden_size_list: Sequence[int], output_size: int,
                 activation: str = "relu", weight_init_std: str | float = "relu",
                 weight_decay_lambda: float = 0.0, use_dropout: bool = False,
                 dropout_ration: float = 0.5, use_batchnorm: bool = False,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__(input_size, hidden_size_list, output_size, activation,
                         weight_init_std, weight_decay_lambda, use_dropout, dropout_ration,
                         use_batchnorm, rng)


class SimpleConvNet(_BookNetwork):
    """The book's chapter-7 network: conv → ReLU → 2×2 max-pool → Affine → ReLU → Affine.

    `input_dim` is (C, H, W); `conv_param` holds filter_num, filter_size,
    pad and stride as in the book. Weights start as `weight_init_std *
    randn` (from `rng`, a Generator or seed, else numpy's global state), biases
    at zero. `params` holds W1 (filter_num, C, filter_size, filter_size), b1,
    W2 (filter_num * pooled H * pooled W, hidden_size), b2, W3, b3, shared
    with the model. x is (N, C, H, W); t holds labels or one-hot rows.
    """

    def __init__(self, input_dim: Sequence[int] = (1, 28, 28),
                 conv_param: dict[str, int] | None = None, hidden_size: int = 100,
                 output_size: int = 10, weight_init_std: float = 0.01,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        param = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}
        unknown = set(conv_param or {}) - set(param)
        if unknown:
            raise ValueError(f"SimpleConvNet: unknown conv_param keys {sorted(unknown)}; "
                             f"use {sorted(param)}")
        param.update(conv_param or {})
        if len(input_dim) != 3:
            raise ValueError(f"SimpleConvNet: input_dim must be (C, H, W), got {input_dim!r}")
        channels, height, width = (int(n) for n in input_dim)
        fn, fs = int(param["filter_num"]), int(param["filter_size"])
        pad, stride = int(param["pad"]), int(param["stride"])
        conv_h = (height + 2 * pad - fs) // stride + 1
        conv_w = (width + 2 * pad - fs) // stride + 1
        if conv_h < 2 or conv_w < 2 or fn < 1 or stride < 1 or pad < 0:
            raise ValueError(f"SimpleConvNet: conv_param {param} does not fit input_dim "
                             f"{tuple(input_dim)}: the convolution's output ({conv_h}x{conv_w}) "
                             "must be at least 2x2 for the 2x2 pooling")
        pooled = fn * (conv_h // 2) * (conv_w // 2)
        rng = check_rng(rng, "rng", "SimpleConvNet")
        std = float(weight_init_std)
        self.W1 = Parameter(std * _rng_normal(rng, (fn, channels, fs, fs)))
        self.b1 = Parameter(np.zeros(fn))
        self.W2 = Parameter(std * _rng_normal(rng, (pooled, hidden_size)))
        self.b2 = Parameter(np.zeros(hidden_size))
        self.W3 = Parameter(std * _rng_normal(rng, (hidden_size, output_size)))
        self.b3 = Parameter(np.zeros(output_size))
        self.input_dim = (channels, height, width)
        self.conv_param = param
        self.sizes = (hidden_size, output_size)
        self._keys = ("W1", "b1", "W2", "b2", "W3", "b3")
        self.params = ParamDict({k: getattr(self, k) for k in self._keys})

    def predict(self, x: Any) -> Tensor:
        """Scores (logits) of shape (N, output_size) for images x of shape (N, C, H, W)."""
        shape = tuple(np.shape(as_array(x)))
        if shape[1:] != self.input_dim:
            expected = ", ".join(str(n) for n in self.input_dim)
            raise ValueError(f"SimpleConvNet: input of shape {shape} does not fit input_dim "
                             f"{self.input_dim}: expected (N, {expected})")
        p = self.conv_param
        h = ops.relu(F.conv2d(x, self.W1, self.b1, stride=p["stride"], padding=p["pad"]))
        h = F.flatten(F.max_pool2d(h, 2, 2))
        h = ops.relu(ops.linear(h, self.W2, self.b2))
        return ops.linear(h, self.W3, self.b3)

    forward = predict

    def loss(self, x: Any, t: Any) -> Loss:
        """Mean softmax cross-entropy of predict(x) against t (a scalar Tensor, see Loss)."""
        return self._loss(ops.softmax_cross_entropy(self.predict(x), t))

    def accuracy(self, x: Any, t: Any, batch_size: int = 100) -> float:
        """Fraction of images classified as their target, evaluated `batch_size` at a time."""
        x, t = as_array(x), np.asarray(as_array(t))
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        if len(x) == 0:
            return 0.0
        correct = 0
        with no_grad():
            for start in range(0, len(x), batch_size):
                y = self.predict(x[start:start + batch_size]).data
                correct += int(np.sum(np.argmax(y, axis=1) == t[start:start + batch_size]))
        return correct / len(x)

    def extra_repr(self) -> str:
        p = self.conv_param
        return (f"input_dim={self.input_dim}, filter_num={p['filter_num']}, "
                f"filter_size={p['filter_size']}, pad={p['pad']}, stride={p['stride']}, "
                f"hidden_size={self.sizes[0]}, output_size={self.sizes[1]}")

"""Recurrent layers with PyTorch's interface: `RNN`, `LSTM` and `GRU`.

The parameters carry PyTorch's names, shapes and gate order (`weight_ih_l0` of
shape (gates·hidden, input), LSTM gates i, f, g, o; GRU gates r, z, n), so a
PyTorch state_dict's arrays fit them as they are. Each layer projects all its
inputs in one product. An RNN or GRU step is an expression over minigrad's ops
(the steps sliced in O(T log T), see `F.time_steps`); an LSTM layer is one node,
`LSTMLayer`, whose backward runs the recurrence back in time. A sequence of any
length runs without recursion.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import ops
from minigrad._checks import check_bool, check_int, check_rng
from minigrad.dispatch import call
from minigrad.engine import ArrayLike, Function, Tensor, as_tensor
from minigrad.functional import time_steps

from . import Module, Parameter

__all__ = ["RNN", "LSTM", "GRU"]

State = Any     # a Tensor (h), or for LSTM a tuple (h, c)


class _Recurrent(Module):
    gates = 1
    weight_ih_l0: Parameter            # (the first layer's, for type checkers; every layer k
    weight_hh_l0: Parameter            # has its own, set in __init__)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, *,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        where = type(self).__name__
        self.input_size = check_int(input_size, "input_size", where)
        self.hidden_size = H = check_int(hidden_size, "hidden_size", where)
        self.num_layers = check_int(num_layers, "num_layers", where)
        self.bias = check_bool(bias, "bias", where)
        self.batch_first = check_bool(batch_first, "batch_first", where)
        generator = check_rng(rng, "rng", where)
        bound = 1 / np.sqrt(H)                  # PyTorch's U(-1/√H, 1/√H) for every weight

        def uniform(*shape: int) -> Parameter:
            values = np.random.uniform(-bound, bound, shape) if generator is None else \
                generator.uniform(-bound, bound, shape)
            return Parameter(values)

        G = self.gates * H
        for k in range(self.num_layers):
            setattr(self, f"weight_ih_l{k}", uniform(G, self.input_size if k == 0 else H))
            setattr(self, f"weight_hh_l{k}", uniform(G, H))
            if self.bias:
                setattr(self, f"bias_ih_l{k}", uniform(G))
                setattr(self, f"bias_hh_l{k}", uniform(G))

    def _weights(self, k: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """Layer k's weights, transposed once per call to the (in, out) that linear takes."""
        b_ih = getattr(self, f"bias_ih_l{k}") if self.bias else None
        b_hh = getattr(self, f"bias_hh_l{k}") if self.bias else None
        return (getattr(self, f"weight_ih_l{k}").T, getattr(self, f"weight_hh_l{k}").T,
                b_ih, b_hh)

    def cell(self, x: Tensor, state: State, k: int, weights: Any) -> State:
        """One step of layer k from its input x (N, input) and state; `weights` are
        `_weights(k)`."""
        return self._layer(x.reshape(1, *x.shape), state, weights)[1]

    def step(self, xa: Tensor, state: State, weights: Any) -> State:
        """One step from the input already projected, xa = x W_ihᵀ + b_ih (N, gates·H)."""
        raise NotImplementedError

    def _layer(self, x: Tensor, state: State, weights: Any) -> tuple[Tensor, State]:
        """A layer over the sequence x (T, N, input): its outputs (T, N, H), last state."""
        W_ih, _, b_ih, _ = weights
        outputs = []
        # every step's input projection in one product: (T, N, gates·H)
        for xa in time_steps(ops.linear(x, W_ih, b_ih)):
            state = self.step(xa, state, weights)
            outputs.append(state[0] if isinstance(state, tuple) else state)
        return ops.stack(outputs, axis=0), state

    def _states(self, hx: Any, batch: int, dtype: Any) -> list[State]:
        """The initial state of each layer, from hx of shape (num_layers, N, H) or zeros."""
        shape = (self.num_layers, batch, self.hidden_size)
        if hx is None:
            return [self._zeros(batch, dtype)] * self.num_layers
        h = as_tensor(hx)
        if h.shape != shape:
            raise ValueError(f"{type(self).__name__}: initial state of shape {h.shape}, "
                             f"expected {shape} (num_layers, batch, hidden_size)")
        return [h[k] for k in range(self.num_layers)]

    def _zeros(self, batch: int, dtype: Any) -> State:
        return Tensor(np.zeros((batch, self.hidden_size), dtype))

    def _run(self, input: ArrayLike, hx: Any) -> tuple[Tensor, list[State], bool]:
        x = as_tensor(input)
        where = type(self).__name__
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(f"{where}({self.input_size}, {self.hidden_size}): input of shape "
                             f"{x.shape}; expected (T, N, {self.input_size}) "
                             f"({'batch_first: (N, T, ...)' if self.batch_first else ''}) "
                             f"or unbatched (T, {self.input_size})")
        if x.shape[0 if x.ndim == 2 or not self.batch_first else 1] == 0:
            raise ValueError(f"{where}({self.input_size}, {self.hidden_size}): input of shape "
                             f"{x.shape} has no time steps")
        unbatched = x.ndim == 2
        if unbatched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
            hx = None if hx is None else self._batch_state(hx)
        elif self.batch_first:
            x = x.swapaxes(0, 1)
        T, N = x.shape[0], x.shape[1]
        dtype = np.result_type(x.dtype, self._parameters["weight_ih_l0"].dtype)
        states = self._states(hx, N, dtype)
        output = x
        for k in range(self.num_layers):
            output, states[k] = self._layer(output, states[k], self._weights(k))
        if unbatched:
            output = output.reshape(T, self.hidden_size)
        elif self.batch_first:
            output = output.swapaxes(0, 1)
        return output, states, unbatched

    def _batch_state(self, hx: Any) -> Any:
        h = as_tensor(hx)
        return h.reshape(h.shape[0], 1, *h.shape[1:])

    def _final(self, states: list[Tensor], unbatched: bool) -> Tensor:
        h = ops.stack(states, axis=0)
        return h.reshape(self.num_layers, self.hidden_size) if unbatched else h

    def forward(self, input: ArrayLike, hx: Any = None) -> tuple[Tensor, Tensor]:
        """(output, h_n): output (T, N, H) holds the last layer's h at every step, h_n
        (num_layers, N, H) every layer's h at the last step."""
        output, states, unbatched = self._run(input, hx)
        return output, self._final(states, unbatched)

    def extra_repr(self) -> str:
        extra = f", num_layers={self.num_layers}" if self.num_layers != 1 else ""
        extra += ", bias=False" if not self.bias else ""
        extra += ", batch_first=True" if self.batch_first else ""
        return f"{self.input_size}, {self.hidden_size}{extra}"


class RNN(_Recurrent):
    """The Elman RNN: h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu), as PyTorch's."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False, *,
                 rng: np.random.Generator | int | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, rng=rng)
        self.nonlinearity = nonlinearity

    def step(self, xa: Tensor, h: Tensor, weights: Any) -> Tensor:
        _, W_hh, _, b_hh = weights
        a = xa + ops.linear(h, W_hh, b_hh)
        return a.tanh() if self.nonlinearity == "tanh" else a.relu()


def _join(parts: list[Any], axis: int, stack: bool = False) -> Any:
    """np.concatenate (or np.stack) of arrays, or the op of Tensors (recorded)."""
    if any(isinstance(p, Tensor) for p in parts):
        return (ops.stack if stack else ops.concatenate)(parts, axis=axis)
    return (np.stack if stack else np.concatenate)(parts, axis=axis)


def _subtract(a: Any, b: Any, out: np.ndarray | None) -> Any:
    """a - b: into `out` when one is given (arrays), else a new array or Tensor."""
    return a - b if out is None else np.subtract(a, b, out=out)


def _gate_constants(H: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """(scale, offset) over the 4H gate columns, so that one tanh gives all four gates:
    gate = scale·tanh(scale·a) + offset, σ(a) = ½·tanh(a/2) + ½ for i, f, o, tanh(a) for g."""
    half, one = np.full(H, 0.5, dtype), np.ones(H, dtype)
    return np.concatenate([half, half, one, half]), np.concatenate([half, half, 0 * half, half])


def _lstm_steps(xa: Any, W_hh: Any, b_hh: Any, h: Any, c: Any
                ) -> tuple[list[Any], list[Any]]:
    """The LSTM recurrence, on arrays or on Tensors (recorded): from the projected inputs xa
    (T, N, 4H; gates i, f, g, o), W_hh (H, 4H), b_hh (4H,) or None and the state h, c
    (N, H), the h after each step, then the last c; and each step's activations."""
    H = h.shape[1]
    scale, offset = _gate_constants(H, np.result_type(xa.dtype, W_hh.dtype))
    outputs, activations = [], []
    for t in range(xa.shape[0]):
        a = xa[t] + h @ W_hh
        if b_hh is not None:
            a = a + b_hh
        a *= scale                                 # a is new: scaled in place, then
        gates = call(ops.Tanh, a)                  # ... i, f, g, o side by side
        gates *= scale
        gates += offset
        i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
        c_before, c = c, f * c + i * g
        tanh_c = call(ops.Tanh, c)
        h = o * tanh_c
        outputs.append(h)
        activations.append((gates, c_before, c, tanh_c))
    return [*outputs, c], activations


class LSTMLayer(Function):
    """A whole LSTM layer in one node: h_1 … h_T and then c_T, (T + 1, N, H), from the
    projected inputs xa (T, N, 4H), W_hh (H, 4H), b_hh and the initial state h0, c0.

    One node instead of a dozen per step, whose backward is the recurrence run back in
    time (as PyTorch's LSTM has), with W_hh's gradient one product over all steps. It keeps
    the activations for a first-order backward; a recorded (higher-order) one recomputes
    them from its inputs, so that the same formula serves every order.
    """

    @staticmethod
    def forward(ctx: Function, xa: Any, W_hh: Any, b_hh: Any, h0: Any, c0: Any) -> Any:
        # (small arrays per step: a large one would be paged in while the loop writes it)
        outputs, activations = _lstm_steps(xa, np.ascontiguousarray(W_hh), b_hh, h0, c0)
        out = np.stack(outputs)
        ctx.save_for_backward(xa, W_hh, b_hh, h0, c0, out, activations)
        return out

    @staticmethod
    def backward(ctx: Function, grad: Any) -> tuple[Any, ...]:
        xa, W_hh, b_hh, h0, c0, out, activations = ctx.saved_tensors
        T, H = xa.shape[0], h0.shape[1]
        if isinstance(grad, Tensor):               # recording: in terms of the inputs
            activations = _lstm_steps(xa, W_hh, b_hh, h0, c0)[1]
        scale, offset = _gate_constants(H, np.result_type(xa.dtype, W_hh.dtype))
        # d gate / d a = scale²·(1 - tanh²) = scale² - (gate - offset)²
        top = scale * scale
        # W_hh.T as a C-ordered copy: OpenBLAS multiplies the small da by it faster than by
        # the transposed view
        W_back = W_hh.T if isinstance(W_hh, Tensor) else np.ascontiguousarray(W_hh.T)
        dh: Any = 0.0
        dc: Any = grad[T]                          # c_T's gradient, if it was used
        das: list[Any] = [None] * T
        # arrays: each step's da is written straight into its row of dxa (no stack at the end)
        rows = None if isinstance(grad, Tensor) else \
            np.empty(xa.shape, np.result_type(top, activations[0][0]))      # da's dtype
        for t in reversed(range(T)):
            gates, c_before, _, tanh_c = activations[t]
            i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
            dh = grad[t] + dh
            dc = dc + dh * o * (1 - tanh_c * tanh_c)
            centred = gates - offset
            da = _subtract(top, centred * centred, None if rows is None else rows[t])
            da *= _join([dc * g, dc * c_before, dc * i, dh * tanh_c], axis=1)   # in place
            das[t] = da
            dh, dc = da @ W_back, dc * f
        dxa = _join(das, axis=0, stack=True) if rows is None else rows
        flat = dxa.reshape(-1, 4 * H)
        # the h each step started from: h0, then the outputs h_1 … h_{T-1} (rows of out)
        N = h0.shape[0]
        dW_hh = h0.T @ flat[:N] + out[:T - 1].reshape(-1, H).T @ flat[N:]
        db_hh = None if b_hh is None else flat.sum(axis=0)
        return dxa, dW_hh, db_hh, dh, dc


class LSTM(_Recurrent):
    """Long short-term memory, as PyTorch's: gates i, f, g, o; returns
    (output, (h_n, c_n)); `hx` is an optional (h_0, c_0)."""

    gates = 4

    def _layer(self, x: Tensor, state: State, weights: Any) -> tuple[Tensor, State]:
        W_ih, W_hh, b_ih, b_hh = weights
        h, c = state
        # both biases in the input projection: one sum per step fewer, one gradient sum
        b = None if b_ih is None else b_ih + b_hh
        out = LSTMLayer.apply(ops.linear(x, W_ih, b), W_hh, None, h, c)    # (T + 1, N, H)
        T = x.shape[0]
        return out[:T], (out[T - 1], out[T])

    def _zeros(self, batch: int, dtype: Any) -> State:
        return super()._zeros(batch, dtype), super()._zeros(batch, dtype)

    def _states(self, hx: Any, batch: int, dtype: Any) -> list[State]:
        if hx is None:
            return super()._states(None, batch, dtype)
        if not isinstance(hx, tuple) or len(hx) != 2:
            raise TypeError("LSTM: the initial state must be a tuple (h_0, c_0)")
        hs, cs = (super(LSTM, self)._states(s, batch, dtype) for s in hx)
        return list(zip(hs, cs))

    def _batch_state(self, hx: Any) -> Any:
        if not isinstance(hx, tuple) or len(hx) != 2:
            raise TypeError("LSTM: the initial state must be a tuple (h_0, c_0)")
        return tuple(super(LSTM, self)._batch_state(s) for s in hx)

    def forward(self, input: ArrayLike, hx: Any = None  # type: ignore[override]
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """(output, (h_n, c_n)), shaped as RNN's."""
        output, states, unbatched = self._run(input, hx)
        return output, (self._final([h for h, _ in states], unbatched),
                        self._final([c for _, c in states], unbatched))


class GRU(_Recurrent):
    """The gated recurrent unit, as PyTorch's: gates r, z, n, with
    n = tanh(x W_inᵀ + b_in + r·(h W_hnᵀ + b_hn)) and h' = (1 - z)·n + z·h."""

    gates = 3

    def step(self, a: Tensor, h: Tensor, weights: Any) -> Tensor:
        _, W_hh, _, b_hh = weights
        b = ops.linear(h, W_hh, b_hh)
        H = self.hidden_size
        r = (a[:, :H] + b[:, :H]).sigmoid()
        z = (a[:, H:2 * H] + b[:, H:2 * H]).sigmoid()
        n = (a[:, 2 * H:] + r * b[:, 2 * H:]).tanh()
        return n + z * (h - n)

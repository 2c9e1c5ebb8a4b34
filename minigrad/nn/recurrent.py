"""Recurrent layers with PyTorch's interface: `RNN`, `LSTM` and `GRU`.

Each step is an expression over minigrad's ops, so backward comes from the
graph. The parameters carry PyTorch's names, shapes and gate order
(`weight_ih_l0` of shape (gates·hidden, input), LSTM gates i, f, g, o; GRU
gates r, z, n), so a PyTorch state_dict's arrays fit them as they are.
A sequence of any length runs without recursion (the graph is walked with a
stack), and in time O(T log T) in T at most (see `F.time_steps`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import ops
from minigrad._checks import check_bool, check_int, check_rng
from minigrad.engine import ArrayLike, Tensor, as_tensor
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
        raise NotImplementedError

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
        unbatched = x.ndim == 2
        if unbatched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
            hx = None if hx is None else self._batch_state(hx)
        elif self.batch_first:
            x = x.swapaxes(0, 1)
        T, N = x.shape[0], x.shape[1]
        dtype = np.result_type(x.dtype, self._parameters["weight_ih_l0"].dtype)
        states = self._states(hx, N, dtype)
        steps = time_steps(x)
        for k in range(self.num_layers):
            weights, state, outputs = self._weights(k), states[k], []
            for step in steps:
                state = self.cell(step, state, k, weights)
                outputs.append(state[0] if isinstance(state, tuple) else state)
            states[k], steps = state, outputs
        output = ops.stack(steps, axis=0)
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

    def cell(self, x: Tensor, h: Tensor, k: int, weights: Any) -> Tensor:
        W_ih, W_hh, b_ih, b_hh = weights
        a = ops.linear(x, W_ih, b_ih) + ops.linear(h, W_hh, b_hh)
        return a.tanh() if self.nonlinearity == "tanh" else a.relu()


class LSTM(_Recurrent):
    """Long short-term memory, as PyTorch's: gates i, f, g, o; returns
    (output, (h_n, c_n)); `hx` is an optional (h_0, c_0)."""

    gates = 4

    def cell(self, x: Tensor, state: State, k: int, weights: Any) -> State:
        W_ih, W_hh, b_ih, b_hh = weights
        h, c = state
        a = ops.linear(x, W_ih, b_ih) + ops.linear(h, W_hh, b_hh)
        H = self.hidden_size
        i, f = a[:, :H].sigmoid(), a[:, H:2 * H].sigmoid()
        g, o = a[:, 2 * H:3 * H].tanh(), a[:, 3 * H:].sigmoid()
        c = f * c + i * g
        return o * c.tanh(), c

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

    def cell(self, x: Tensor, h: Tensor, k: int, weights: Any) -> Tensor:
        W_ih, W_hh, b_ih, b_hh = weights
        a, b = ops.linear(x, W_ih, b_ih), ops.linear(h, W_hh, b_hh)
        H = self.hidden_size
        r = (a[:, :H] + b[:, :H]).sigmoid()
        z = (a[:, H:2 * H] + b[:, H:2 * H]).sigmoid()
        n = (a[:, 2 * H:] + r * b[:, 2 * H:]).tanh()
        return n + z * (h - n)

"""Optimizers: the update rules of the book's chapter 6, applied in place.

    opt = optim.Adam(model.parameters(), lr=1e-3)
    model.zero_grad(); loss.backward(); opt.step()

or, as in the book, on dicts of arrays: `opt.update(net.params, grads)`.

Updates change each parameter's array in place (`p.data`), so arrays that
other code holds (the book's `params` dict) see them; parameters whose
`.grad` is None are skipped. Each class's docstring gives its formula, with
W a parameter, g its gradient and lr the learning rate. `weight_decay` adds
`weight_decay * W` to g first (L2 regularisation).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from minigrad._checks import check_bool, check_float
from minigrad.engine import Tensor, as_array
from minigrad.modes import no_grad
from minigrad.versions import bump_version

__all__ = ["Optimizer", "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam",
           "lr_scheduler"]

EPS = 1e-7      # the book's constant in the denominators of AdaGrad, RMSprop, Adam


class Optimizer:
    """Base class: holds the parameters and per-parameter state; subclasses write `_rule`."""

    initial_lr: float           # the rate a schedule started from (set by lr_scheduler)

    def __init__(self, params: Any, lr: float, weight_decay: float = 0.0) -> None:
        name = type(self).__name__
        if isinstance(params, numbers.Real) and not isinstance(params, (bool, np.bool_)):
            params, lr = None, params          # the book's SGD(0.1): a learning rate, no params
        lr = check_float(lr, "lr", name)
        weight_decay = check_float(weight_decay, "weight_decay", name)
        if not lr >= 0.0:
            raise ValueError(f"{name}: lr must be >= 0, got {lr}")
        if not weight_decay >= 0.0:
            raise ValueError(f"{name}: weight_decay must be >= 0, got {weight_decay}")
        if hasattr(params, "parameters") and callable(params.parameters):
            params = params.parameters()
        if isinstance(params, (str, bytes, Mapping, Tensor, np.ndarray)) or not (
                params is None or isinstance(params, Iterable)):
            raise TypeError(f"{name}: params must be a list of Parameters (or a Module), got "
                            f"{type(params).__name__}"
                            + ("; wrap a single one in a list: [p]" if isinstance(params, Tensor)
                               else "")
                            + ("; for the book's dicts of arrays, create the optimizer without "
                               "params and call update(params, grads)"
                               if isinstance(params, Mapping) else ""))
        self.params: list[Tensor] = list(params) if params is not None else []
        if params is not None and not self.params:
            raise ValueError(f"{name}: no parameters to optimize (an empty list: is every layer "
                             "registered? Layers kept in a Python list need nn.ModuleList, "
                             "in a dict nn.ModuleDict)")
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor "
                                "(for dicts of arrays, use update(params, grads))")
        self.lr = lr
        self.weight_decay = weight_decay
        self.state: dict[Any, dict[str, Any]] = {}

    def zero_grad(self) -> None:
        """Set every parameter's .grad to None."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        if not self.params:
            raise RuntimeError(f"{type(self).__name__}.step: no parameters to optimize (created "
                               "without params: pass them to the constructor, or call "
                               "update(params, grads) as the book does)")
        self._begin_step()
        with no_grad():
            for p in self.params:
                if p.grad is None:
                    continue
                g = np.asarray(as_array(p.grad))
                self._apply(id(p), p.data, g)

    def update(self, params: Mapping[str, np.ndarray], grads: Mapping[str, Any]) -> None:
        """The book's interface: update each array of `params` in place from `grads[key]`."""
        self._begin_step()
        for key, W in params.items():
            if key not in grads or grads[key] is None:
                continue
            array = as_array(W)
            g = grads[key]
            self._apply(("key", key), array, np.asarray(as_array(g)))

    def _apply(self, key: Any, W: np.ndarray, g: np.ndarray) -> None:
        if g.shape != W.shape:
            raise ValueError(f"{type(self).__name__}: gradient of shape {g.shape} for a "
                             f"parameter of shape {W.shape}")
        if self.weight_decay:
            g = g + self.weight_decay * W
        state = self.state.get(key)
        if state is None:
            state = self.state[key] = {}
        self._rule(W, g, state)
        bump_version(W)       # graphs that saved W can no longer backward through it

    def _begin_step(self) -> None:
        """Hook called once per step (Adam counts steps here)."""

    def _rule(self, W: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, {len(self.params)} parameters)"


class SGD(Optimizer):
    """Stochastic gradient descent, with the book's Momentum or Nesterov rule.

    - momentum == 0: W ← W − lr·g
    - momentum μ > 0: v ← μ·v − lr·g;  W ← W + v  (v starts at 0)
    - nesterov=True: W ← W + μ²·v − (1 + μ)·lr·g;  v ← μ·v − lr·g
      (the update uses v before it changes; equivalently W ← W + μ·v_new − lr·g)
    """

    def __init__(self, params: Any = None, lr: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        momentum = check_float(momentum, "momentum", type(self).__name__)
        nesterov = check_bool(nesterov, "nesterov", type(self).__name__)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1), got {momentum}")
        if nesterov and momentum == 0.0:
            raise ValueError(f"{type(self).__name__}: nesterov=True needs momentum > 0")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _rule(self, W: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        mu, lr = self.momentum, self.lr
        if mu == 0.0:
            W -= lr * g
            return
        v = state.get("v")
        if v is None:
            v = state["v"] = np.zeros_like(W)
        if self.nesterov:
            W += mu * mu * v - (1.0 + mu) * lr * g
            v *= mu
            v -= lr * g
        else:
            v *= mu
            v -= lr * g
            W += v


class Momentum(SGD):
    """The book's Momentum: SGD with momentum (default 0.9); v ← μ·v − lr·g; W ← W + v."""

    def __init__(self, params: Any = None, lr: float = 0.01, momentum: float = 0.9,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, momentum=momentum, weight_decay=weight_decay)


class Nesterov(SGD):
    """The book's Nesterov accelerated gradient: SGD(momentum=0.9, nesterov=True)."""

    def __init__(self, params: Any = None, lr: float = 0.01, momentum: float = 0.9,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, momentum=momentum, nesterov=True,
                         weight_decay=weight_decay)


class AdaGrad(Optimizer):
    """AdaGrad: h ← h + g²;  W ← W − lr·g / (√h + 1e-7)  (h starts at 0)."""

    def __init__(self, params: Any = None, lr: float = 0.01, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)

    def _rule(self, W: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        h = state.get("h")
        if h is None:
            h = state["h"] = np.zeros_like(W)
        h += g * g
        W -= self.lr * g / (np.sqrt(h) + EPS)


class RMSprop(Optimizer):
    """RMSprop: h ← ρ·h + (1 − ρ)·g²;  W ← W − lr·g / (√h + 1e-7)  (ρ = decay_rate, h from 0)."""

    def __init__(self, params: Any = None, lr: float = 0.01, decay_rate: float = 0.99,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        decay_rate = check_float(decay_rate, "decay_rate", "RMSprop")
        if not 0.0 <= decay_rate < 1.0:
            raise ValueError(f"RMSprop: decay_rate must be in [0, 1), got {decay_rate}")
        self.decay_rate = float(decay_rate)

    def _rule(self, W: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        h = state.get("h")
        if h is None:
            h = state["h"] = np.zeros_like(W)
        h *= self.decay_rate
        h += (1.0 - self.decay_rate) * g * g
        W -= self.lr * g / (np.sqrt(h) + EPS)


class Adam(Optimizer):
    """Adam, as the book writes it, at step t = 1, 2, ...:

    lr_t = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ);  m ← m + (1 − β₁)(g − m);
    v ← v + (1 − β₂)(g² − v);  W ← W − lr_t·m / (√v + 1e-7)   (m, v start at 0)
    """

    def __init__(self, params: Any = None, lr: float = 0.001, beta1: float = 0.9,
                 beta2: float = 0.999, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        beta1, beta2 = check_float(beta1, "beta1", "Adam"), check_float(beta2, "beta2", "Adam")
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Adam: {name} must be in [0, 1), got {beta}")
        self.beta1, self.beta2 = float(beta1), float(beta2)
        self.t = 0
        self._lr_t = 0.0

    def _begin_step(self) -> None:
        self.t += 1
        self._lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.t) / (1.0 - self.beta1 ** self.t)

    def _rule(self, W: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        m = state.get("m")
        if m is None:
            m = state["m"] = np.zeros_like(W)
            state["v"] = np.zeros_like(W)
        v = state["v"]
        m *= self.beta1                  # m + (1 - β₁)(g - m), with fewer temporaries
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * (g * g)
        step = np.sqrt(v, out=np.empty_like(v))     # an array even for a 0-d parameter
        step += EPS
        np.divide(m, step, out=step)
        step *= self._lr_t
        W -= step


from . import lr_scheduler  # noqa: E402  (optim.lr_scheduler: it builds on Optimizer)

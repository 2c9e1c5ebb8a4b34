"""Finite differences: the book's numerical tools, and a checker for gradients.

`numerical_diff`, `numerical_gradient` and `gradient_descent` work as in the
book (chapter 4). `gradcheck` and `gradgradcheck` compare what backward()
computes with central differences, for any function of tensors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .engine import Tensor, as_array, grad
from .modes import enable_grad, no_grad

__all__ = [
    "numerical_diff", "numerical_gradient", "gradient_descent",
    "gradcheck", "gradgradcheck", "GradcheckError",
]


# ------------------------------------------------------------ the book's tools

def _scalar(result: Any) -> float:
    value = np.asarray(as_array(result))
    if value.size != 1:
        raise ValueError(f"numerical_gradient: f must return a scalar, got shape {value.shape}")
    return float(value.reshape(()))


def numerical_diff(f: Callable[[float], Any], x: float, h: float = 1e-4) -> float:
    """Central difference (f(x+h) - f(x-h)) / 2h of a scalar function."""
    return (_scalar(f(x + h)) - _scalar(f(x - h))) / (2 * h)


def numerical_gradient(f: Callable[[Any], Any], x: np.ndarray | Tensor,
                       h: float = 1e-4) -> np.ndarray:
    """Gradient of the scalar f at x by central differences, shaped like x.

    Each element of x is perturbed in place and restored, so `f` may ignore
    its argument and read x through a closure, as the book does:
    `numerical_gradient(lambda W: net.loss(x, t), net.W)`.
    """
    array = as_array(x)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"numerical_gradient: x must be an ndarray or Tensor, got "
                        f"{type(x).__name__}")
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"numerical_gradient: x has dtype {array.dtype}; it must be floating "
                        "point, or x + h rounds back to x (use x.astype(np.float64))")
    if not array.flags.writeable:
        raise ValueError("numerical_gradient: x is read-only; it is perturbed in place")
    gradient = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + h
        f_plus = _scalar(f(x))
        array[index] = original - h
        f_minus = _scalar(f(x))
        array[index] = original
        gradient[index] = (f_plus - f_minus) / (2 * h)
    return gradient


def gradient_descent(f: Callable[[np.ndarray], Any], init_x: Any, lr: float = 0.01,
                     step_num: int = 100, return_history: bool = False) -> Any:
    """Minimise f by `step_num` steps of x -= lr * numerical_gradient(f, x).

    Returns x, or (x, history) with the x before each step when
    `return_history=True`.
    """
    x = np.array(init_x, dtype=np.float64)
    history = []
    for _ in range(step_num):
        history.append(x.copy())
        x -= lr * numerical_gradient(f, x)
    return (x, np.array(history)) if return_history else x


# ------------------------------------------------------------ gradcheck

class GradcheckError(AssertionError):
    """An analytical gradient disagrees with finite differences."""

    def __init__(self, message: str, *, input_index: int, element: tuple[int, ...] | None = None,
                 output_element: tuple[int, ...] | None = None, analytical: float = np.nan,
                 numerical: float = np.nan) -> None:
        super().__init__(message)
        self.input_index = input_index
        self.element = element
        self.output_element = output_element
        self.analytical = analytical
        self.numerical = numerical


def _outputs(fn: Callable[..., Any], args: Sequence[Any]) -> list[Tensor]:
    out = fn(*args)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: output {i} of the function is a {type(o).__name__}, "
                            "not a Tensor")
    return outs


def _flat_values(outs: Sequence[Tensor]) -> np.ndarray:
    return np.concatenate([np.asarray(o.data, dtype=np.float64).ravel() for o in outs])


def _prepare(inputs: Any) -> tuple[list[Any], list[int]]:
    inputs = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
    checked = []
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad:
            if x.dtype != np.float64:
                raise TypeError(
                    f"gradcheck: input {i}{x._label()} has dtype {x.dtype}; finite "
                    "differences need float64 inputs (use .astype(np.float64))")
            checked.append(i)
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    return inputs, checked


def _fresh(inputs: Sequence[Any], checked: Sequence[int]) -> list[Any]:
    """Copies of the checked inputs, so the check never touches the caller's tensors."""
    args = list(inputs)
    for i in checked:
        x = inputs[i]
        args[i] = Tensor(x.data.copy(), requires_grad=True, name=x.name)
    return args


def _analytical_vjps(fn: Callable[..., Any], inputs: Sequence[Any], checked: Sequence[int],
                     vs: Sequence[np.ndarray]) -> list[list[np.ndarray]]:
    """vᵀJ for each v and each checked input: one forward, one backward per v."""
    args = _fresh(inputs, checked)
    with enable_grad():
        outs = _outputs(fn, args)
    sizes = np.cumsum([o.size for o in outs])[:-1]
    zeros = [np.zeros(inputs[i].shape) for i in checked]
    results = []
    for v in vs:
        live = [(o, p.reshape(o.shape).astype(o.dtype))
                for o, p in zip(outs, np.split(v, sizes)) if o.requires_grad]
        if not live:
            results.append(zeros)
            continue
        grads = grad([o for o, _ in live], [args[i] for i in checked],
                     grad_outputs=[Tensor(p) for _, p in live], retain_graph=True,
                     allow_unused=True)
        results.append([z if g is None else np.array(g.data, dtype=np.float64)
                        for z, g in zip(zeros, grads)])
    return results


def _analytical_vjp(fn: Callable[..., Any], inputs: Sequence[Any], checked: Sequence[int],
                    v: np.ndarray) -> list[np.ndarray]:
    return _analytical_vjps(fn, inputs, checked, [v])[0]


def _perturbed(fn: Callable[..., Any], inputs: Sequence[Any], i: int,
               direction: np.ndarray, eps: float) -> np.ndarray:
    """(f(x + eps d) - f(x - eps d)) / 2 eps, flattened, for input i."""
    args = list(inputs)
    base = inputs[i].data
    with no_grad():
        args[i] = Tensor(base + eps * direction, requires_grad=True)
        plus = _flat_values(_outputs(fn, args))
        args[i] = Tensor(base - eps * direction, requires_grad=True)
        minus = _flat_values(_outputs(fn, args))
    difference: np.ndarray = (plus - minus) / (2 * eps)
    return difference


def _describe(inputs: Sequence[Any], i: int) -> str:
    x = inputs[i]
    return f"input {i}" + (f" '{x.name}'" if x.name else "") + f" (shape {x.shape})"


def _compare(analytical: np.ndarray, numerical: np.ndarray, atol: float, rtol: float,
             where: str, inputs: Sequence[Any], i: int,
             out_index: Callable[[int], tuple[int, ...]] | None = None) -> GradcheckError | None:
    """The report for the worst disagreement of two same-shaped arrays, or None."""
    error = np.abs(analytical - numerical)
    bad = ~(error <= atol + rtol * np.abs(numerical))     # NaN counts as bad
    if not bad.any():
        return None
    excess = np.where(bad, np.nan_to_num(error - rtol * np.abs(numerical), nan=np.inf), -1)
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    a, n = float(analytical[worst]), float(numerical[worst])
    if out_index is not None:
        output_element, element = out_index(int(worst[0])), tuple(int(k) for k in worst[1:])
    else:
        output_element, element = None, tuple(int(k) for k in worst)
    rel = abs(a - n) / abs(n) if n != 0 else np.inf
    location = f"element {element}" + (
        f" for output element {output_element}" if output_element is not None else "")
    message = (
        f"gradcheck: the gradient of {_describe(inputs, i)} is wrong at {location} ({where}):\n"
        f"    analytical {a:.10g}\n    numerical  {n:.10g}\n"
        f"    abs error {abs(a - n):.3g}, rel error {rel:.3g} "
        f"(allowed: atol {atol:g} + rtol {rtol:g} * |numerical|)\n"
        f"    {int(bad.sum())} of {bad.size} compared values disagree")
    return GradcheckError(message, input_index=i, element=element,
                          output_element=output_element, analytical=a, numerical=n)


def gradcheck(fn: Callable[..., Any], inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, fast_mode: bool = False, seed: int | None = None,
              raise_exception: bool = True) -> bool:
    """Check backward() of `fn` against central differences, for every input that requires grad.

    `fn` takes the inputs and returns a Tensor of any shape (or a tuple of
    them). An entry passes when |analytical - numerical| <= atol +
    rtol * |numerical|. Full mode compares whole Jacobians; fast mode
    compares vᵀJu for a random unit u and random v (two evaluations of fn and
    one backward per input), and on a failure finds the worst element.
    Inputs must be float64 and are never modified.
    """
    inputs, checked = _prepare(inputs)
    rng = np.random.default_rng(seed)
    probe = _outputs(fn, _fresh(inputs, checked))
    out_sizes = [o.size for o in probe]
    n_out = int(sum(out_sizes))

    def out_index(k: int) -> tuple[int, ...]:
        for j, (o, size) in enumerate(zip(probe, out_sizes)):
            if k < size:
                idx = np.unravel_index(k, o.shape)
                return (j, *(int(i) for i in idx)) if len(probe) > 1 else tuple(
                    int(i) for i in idx)
            k -= size
        raise IndexError(k)

    try:
        if fast_mode:
            _check_fast(fn, inputs, checked, n_out, eps, atol, rtol, rng)
        else:
            _check_full(fn, inputs, checked, n_out, eps, atol, rtol, out_index)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def _check_full(fn: Callable[..., Any], inputs: list[Any], checked: list[int], n_out: int,
                eps: float, atol: float, rtol: float,
                out_index: Callable[[int], tuple[int, ...]]) -> None:
    for i in checked:
        size = inputs[i].size
        numerical = np.empty((n_out, size))
        for k in range(size):
            direction = np.zeros(size)
            direction[k] = 1.0
            numerical[:, k] = _perturbed(fn, inputs, i, direction.reshape(inputs[i].shape), eps)
        rows = _analytical_vjps(fn, inputs, [i], list(np.eye(n_out)))
        analytical = np.array([row[0].ravel() for row in rows]).reshape(n_out, size)
        shape = (n_out,) + inputs[i].shape
        report = _compare(analytical.reshape(shape), numerical.reshape(shape), atol, rtol,
                          "full Jacobian", inputs, i, out_index)
        if report is not None:
            raise report
    _check_repeatable(fn, inputs, checked, np.random.default_rng(0).standard_normal(n_out))


def _check_fast(fn: Callable[..., Any], inputs: list[Any], checked: list[int], n_out: int,
                eps: float, atol: float, rtol: float, rng: np.random.Generator) -> None:
    v = rng.standard_normal(n_out)
    vjps = _analytical_vjp(fn, inputs, checked, v)
    for i, vjp in zip(checked, vjps):
        u = rng.standard_normal(inputs[i].shape)
        u /= np.linalg.norm(u) or 1.0
        analytical = np.array([np.sum(vjp * u)])
        numerical = np.array([v @ _perturbed(fn, inputs, i, u, eps)])
        if _compare(analytical, numerical, atol, rtol, "", inputs, i) is None:
            continue
        # Locate the worst element: vᵀJ element by element, by finite differences.
        numeric_vjp = np.empty(inputs[i].shape)
        for index in np.ndindex(inputs[i].shape):
            direction = np.zeros(inputs[i].shape)
            direction[index] = 1.0
            numeric_vjp[index] = v @ _perturbed(fn, inputs, i, direction, eps)
        report = _compare(vjp, numeric_vjp, atol, rtol, "fast mode, vᵀJ for a random v",
                          inputs, i)
        if report is None:         # every element passes, the sum does not: say so
            report = _compare(analytical, numerical, atol, rtol,
                              "fast mode, vᵀJu for random u and v", inputs, i)
        assert report is not None       # this comparison failed just above
        raise report
    _check_repeatable(fn, inputs, checked, v, vjps)


def _check_repeatable(fn: Callable[..., Any], inputs: list[Any], checked: list[int],
                      v: np.ndarray, first: list[np.ndarray] | None = None) -> None:
    first = first if first is not None else _analytical_vjp(fn, inputs, checked, v)
    second = _analytical_vjp(fn, inputs, checked, v)
    for i, a, b in zip(checked, first, second):
        if not np.allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True):
            raise GradcheckError(
                f"gradcheck: backward of {_describe(inputs, i)} is not repeatable: two "
                f"passes differ by up to {np.nanmax(np.abs(a - b)):.3g}",
                input_index=i)


def gradgradcheck(fn: Callable[..., Any], inputs: Any, grad_outputs: Any = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  fast_mode: bool = False, seed: int | None = None,
                  raise_exception: bool = True) -> bool:
    """Check second derivatives: gradcheck of the gradient of `fn` (via create_graph=True).

    The gradient is taken against random `grad_outputs` (or the ones given),
    which are checked as inputs too.
    """
    inputs, checked = _prepare(inputs)
    rng = np.random.default_rng(seed)
    outs = _outputs(fn, _fresh(inputs, checked))
    if grad_outputs is None:
        grad_outputs = [Tensor(rng.standard_normal(o.shape), requires_grad=True) for o in outs]
    else:
        grad_outputs = list(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else [
            grad_outputs]
    n = len(inputs)

    def first_derivative(*args: Any) -> tuple[Tensor, ...]:
        xs, vs = args[:n], args[n:]
        with enable_grad():
            outputs = _outputs(fn, xs)
        pairs = [(o, v) for o, v in zip(outputs, vs) if o.requires_grad]
        targets = [xs[i] for i in checked]
        if not pairs:
            return tuple(Tensor(np.zeros(t.shape)) for t in targets)
        grads = grad([o for o, _ in pairs], targets, grad_outputs=[v for _, v in pairs],
                     create_graph=True, allow_unused=True)
        return tuple(Tensor(np.zeros(t.shape)) if g is None else g
                     for t, g in zip(targets, grads))

    return gradcheck(first_derivative, [*inputs, *grad_outputs], eps=eps, atol=atol,
                     rtol=rtol, fast_mode=fast_mode, seed=seed,
                     raise_exception=raise_exception)

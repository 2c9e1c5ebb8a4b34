"""Hypothesis strategies and assertions for gradient tests of your own functions.

    from hypothesis import given
    from minigrad.testing import grad_arrays, assert_gradcheck

    @given(x=grad_arrays(avoid=(0.0,)))
    def test_my_loss(x):
        assert_gradcheck(my_loss, x)

Strategies draw float64 arrays with bounded values (no NaN or infinity),
optionally kept away from kinks and poles, in shapes that broadcast against
each other. `programs()` draws whole random differentiable programs, used to
fuzz the engine itself. `check_function` checks a Function of your own in one
call, `check_grads` a function's derivatives to any order (as JAX's). Needs
`hypothesis` (the `dev` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as e:                    # hypothesis is a test dependency, not a runtime one
    if e.name is not None and e.name.split(".")[0] != "hypothesis":
        raise
    raise ImportError("minigrad.testing needs hypothesis: install minigrad[dev] (needs "
                      "hypothesis), e.g. pip install 'minigrad[dev]' or pip install hypothesis",
                      name=e.name) from e

from . import ops
from ._check_function import CheckFunctionError, FunctionReport, check_function, check_grads
from .engine import Tensor
from .gradcheck import gradcheck, gradgradcheck

__all__ = [
    "floats", "shapes", "grad_arrays", "grad_tensors", "broadcastable_shapes",
    "broadcastable_arrays", "assert_gradcheck", "assert_gradgradcheck", "Program", "programs",
    "check_function", "check_grads", "CheckFunctionError", "FunctionReport",
]


def floats(min_value: float = -2.0, max_value: float = 2.0, *, avoid: Sequence[float] = (),
           margin: float = 0.05) -> st.SearchStrategy[float]:
    """Finite floats in [min_value, max_value], at least `margin` from each value in `avoid`."""
    base = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)
    if not avoid:
        return base
    return base.filter(lambda v: all(abs(v - k) >= margin for k in avoid))


def shapes(*, min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
           max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes (small by default: finite differences cost one evaluation per element)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def grad_arrays(shape: tuple[int, ...] | st.SearchStrategy | None = None, *,
                min_value: float = -2.0, max_value: float = 2.0,
                avoid: Sequence[float] = (), margin: float = 0.05,
                dtype: Any = np.float64, **shape_options: int) -> st.SearchStrategy[np.ndarray]:
    """Arrays for gradient checks: float64, bounded, away from `avoid` (kinks, poles)."""
    if shape is None:
        shape = shapes(**shape_options)
    return hnp.arrays(dtype, shape, elements=floats(min_value, max_value, avoid=avoid,
                                                    margin=margin))


def grad_tensors(shape: tuple[int, ...] | st.SearchStrategy | None = None,
                 **options: Any) -> st.SearchStrategy[Tensor]:
    """Like `grad_arrays`, as Tensors that require grad."""
    return grad_arrays(shape, **options).map(lambda a: Tensor(a, requires_grad=True))


def broadcastable_shapes(num_shapes: int = 2, *, min_dims: int = 0, max_dims: int = 3,
                         min_side: int = 1, max_side: int = 4
                         ) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """`num_shapes` shapes that broadcast together (leading and size-1 axes included)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda s: s.input_shapes)


@st.composite
def broadcastable_arrays(draw: st.DrawFn, /, num_arrays: int = 2, *, min_dims: int = 0,
                         max_dims: int = 3, max_side: int = 4, **options: Any
                         ) -> tuple[np.ndarray, ...]:
    """`num_arrays` arrays of mutually broadcastable shapes, drawn as by `grad_arrays`."""
    input_shapes = draw(broadcastable_shapes(num_arrays, min_dims=min_dims, max_dims=max_dims,
                                             max_side=max_side))
    return tuple(draw(grad_arrays(s, **options)) for s in input_shapes)


def _tensors(inputs: Sequence[Any]) -> list[Any]:
    """Floating-point arrays (lists, floats) as float64 Tensors that require grad; anything
    else (integer labels, boolean masks, Tensors) unchanged, as check_function takes them."""
    out = []
    for x in inputs:
        if isinstance(x, (np.ndarray, list, float)):
            array = np.asarray(x)
            if np.issubdtype(array.dtype, np.floating):
                x = Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)
        out.append(x)
    return out


def assert_gradcheck(fn: Callable[..., Any], *inputs: Any, **options: Any) -> None:
    """Fail (GradcheckError) unless backward of fn(*inputs) matches finite differences.

    Floating-point arrays (and lists or floats) among the inputs become float64
    Tensors that require grad; integer and boolean arrays (labels, masks),
    Tensors and anything else are passed as given. Options go to `gradcheck`
    (eps, atol, rtol, fast_mode, seed).
    """
    gradcheck(fn, _tensors(inputs), raise_exception=True, **options)


def assert_gradgradcheck(fn: Callable[..., Any], *inputs: Any, **options: Any) -> None:
    """Like `assert_gradcheck`, for second derivatives."""
    gradgradcheck(fn, _tensors(inputs), raise_exception=True, **options)


# ------------------------------------------------------------ random programs

def _broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(np.broadcast_shapes(*shapes))


# Every step is smooth where programs evaluate it (no kinks, no poles) and
# grows its operands' magnitude at most linearly, so values stay moderate and
# finite differences stay accurate.
_UNARY: dict[str, Callable[..., Any]] = {
    "neg": lambda a: -a,
    "square_ratio": lambda a: a ** 2 / (1 + a ** 2),
    "sin": ops.sin,
    "cos": ops.cos,
    "tanh": ops.tanh,
    "sigmoid": ops.sigmoid,
    "exp_tanh": lambda a: ops.exp(ops.tanh(a)),
    "log1p_square": lambda a: ops.log(1 + a * a),
    "sqrt1p_square": lambda a: ops.sqrt(1 + a * a),
    "scale": lambda a: 0.5 * a - 0.25,
}
_BINARY: dict[str, Callable[..., Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * ops.tanh(b),
    "div": lambda a, b: a / (1 + b * b),
    "pow": lambda a, b: (1 + ops.tanh(a) ** 2) ** ops.tanh(b),
    "maximum": lambda a, b: ops.maximum(ops.tanh(a), ops.tanh(b) + 3),   # never tied
    "minimum": lambda a, b: ops.minimum(ops.tanh(a), ops.tanh(b) - 3),
}


class Program:
    """A random differentiable program: a list of steps over its inputs.

    Calling it on tensors evaluates the steps; `repr` lists them, which is
    what hypothesis prints for a failing example.
    """

    def __init__(self, input_shapes: Sequence[tuple[int, ...]],
                 steps: Sequence[tuple[str, tuple[int, ...], dict[str, Any]]],
                 outputs: Sequence[int]) -> None:
        self.input_shapes = [tuple(s) for s in input_shapes]
        self.steps = list(steps)
        self.outputs = list(outputs)

    def __call__(self, *inputs: Any) -> Any:
        values = list(inputs)
        for name, operands, params in self.steps:
            values.append(_run_step(name, [values[i] for i in operands], params))
        out = [values[i] for i in self.outputs]
        return out[0] if len(out) == 1 else tuple(out)

    def __repr__(self) -> str:
        n = len(self.input_shapes)
        lines = [f"Program(inputs={self.input_shapes})"]
        for k, (name, operands, params) in enumerate(self.steps):
            args = ", ".join(f"v{i}" for i in operands)
            extra = "".join(f", {key}={_short(value)}" for key, value in params.items())
            lines.append(f"  v{n + k} = {name}({args}{extra})")
        lines.append("  return " + ", ".join(f"v{i}" for i in self.outputs))
        return "\n".join(lines)


def _short(value: Any) -> str:
    return np.array2string(value, threshold=8) if isinstance(value, np.ndarray) else repr(value)


def _run_step(name: str, args: list[Any], params: dict[str, Any]) -> Any:
    if name in _UNARY:
        return _UNARY[name](args[0])
    if name in _BINARY:
        return _BINARY[name](args[0], args[1])
    a = args[0]
    if name == "sum":
        return ops.sum(a, axis=params["axis"], keepdims=True)
    if name == "mean":
        return ops.mean(a, axis=params["axis"], keepdims=True)
    if name == "broadcast":
        return ops.broadcast_to(a, params["shape"])
    if name == "reverse":
        return a[..., ::-1]
    if name == "gather":
        return a[..., params["index"]]
    if name == "where":
        return ops.where(params["mask"], a, args[1])
    if name == "reshape":
        return ops.reshape(ops.reshape(a, (-1,)), params["shape"])
    if name == "transpose":
        return ops.transpose(ops.transpose(a, params["axes"]), params["inverse"])
    if name == "matmul":
        return a @ ops.swapaxes(args[1], -1, -2) @ args[2]
    if name == "stack_sum":
        return ops.stack([a, args[1]], axis=0).sum(axis=0)
    raise ValueError(f"Program: unknown step {name!r}")


@st.composite
def programs(draw: st.DrawFn, *, max_inputs: int = 3, max_steps: int = 6,
             max_dims: int = 3, max_side: int = 3) -> tuple[Program, list[np.ndarray]]:
    """A random program and inputs for it: `(program, arrays)`.

    Programs are DAGs over the differentiable ops, reusing intermediates and
    broadcasting mutually broadcastable inputs; their values stay bounded so
    that finite differences are accurate.
    """
    n_inputs = draw(st.integers(1, max_inputs))
    input_shapes = draw(broadcastable_shapes(n_inputs, max_dims=max_dims, max_side=max_side))
    full = _broadcast_shape(*input_shapes)
    shapes_ = list(input_shapes)
    steps: list[tuple[str, tuple[int, ...], dict[str, Any]]] = []
    names = sorted(_UNARY) + sorted(_BINARY) + [
        "sum", "mean", "broadcast", "reverse", "gather", "where", "reshape", "transpose",
        "matmul", "stack_sum"]
    for _ in range(draw(st.integers(1, max_steps))):
        name = draw(st.sampled_from(names))
        a = draw(st.integers(0, len(shapes_) - 1))
        sa = shapes_[a]
        params: dict[str, Any] = {}
        operands: tuple[int, ...] = (a,)
        shape = sa
        if name in _BINARY or name == "where":
            b = draw(st.integers(0, len(shapes_) - 1))
            operands = (a, b)
            shape = _broadcast_shape(sa, shapes_[b])
            if name == "where":
                params["mask"] = draw(hnp.arrays(bool, shape))
        elif name == "stack_sum":
            same = [i for i, s in enumerate(shapes_) if s == sa]
            operands = (a, draw(st.sampled_from(same)))
        elif name in ("sum", "mean"):
            if not sa:
                name = "square_ratio"
            else:
                params["axis"] = draw(st.integers(-len(sa), len(sa) - 1))
                shape = tuple(1 if i == params["axis"] % len(sa) else n
                              for i, n in enumerate(sa))
        elif name == "broadcast":
            params["shape"] = shape = full
        elif name in ("reverse", "gather"):
            if not sa:
                name = "sin"
            elif name == "gather":
                params["index"] = np.array(draw(st.lists(
                    st.integers(0, sa[-1] - 1), min_size=sa[-1], max_size=sa[-1])))
        elif name == "reshape":
            params["shape"] = sa
        elif name == "transpose":
            perm = draw(st.permutations(range(len(sa)))) if sa else []
            params["axes"] = tuple(perm)
            params["inverse"] = tuple(int(i) for i in np.argsort(perm))
        elif name == "matmul":
            square = [i for i, s in enumerate(shapes_) if len(s) >= 2 and s[-2:] == sa[-2:]]
            if len(sa) < 2:
                name = "cos"
            else:
                b, c = draw(st.sampled_from(square)), draw(st.sampled_from(square))
                operands = (a, b, c)
                shape = _broadcast_shape(sa[:-2], shapes_[b][:-2], shapes_[c][:-2]) + sa[-2:]
        steps.append((name, operands, params))
        shapes_.append(shape)
    last = len(shapes_) - 1
    outputs = [last]
    if last > 0 and draw(st.booleans()):
        outputs.append(draw(st.integers(0, last - 1)))
    arrays = [draw(grad_arrays(s, min_value=-1.5, max_value=1.5)) for s in input_shapes]
    return Program(input_shapes, steps, outputs), arrays

"""Function transforms on top of `grad`: vjp, jvp, jacobian, hessian, hvp.

They follow `torch.autograd.functional` (and `torch.func.vjp` for `vjp`):
inputs are Tensors or ndarrays, or a tuple of them; results are nested the
same way, a tuple where the inputs (or the outputs) were a tuple.

    H = mg.hessian(loss, w)                      # w.shape + w.shape
    out, vjp_fn = mg.vjp(f, x, y); gx, gy = vjp_fn(v)
    out, Ju = mg.jvp(f, x, u)

Everything is built from reverse mode (`minigrad.grad`). Forward-mode
products J·u use the double-vjp trick: the backward pass is recorded
(create_graph=True) with a dummy cotangent v, which gives Jᵀv as a graph that
is linear in v; differentiating ⟨Jᵀv, u⟩ with respect to v gives J·u. This
needs no tangent rule per op: every primitive's backward is written with
differentiable numpy operations, so any op that supports second derivatives
supports forward mode, user Functions included.

(Until this release the module was `minigrad.func`; that name is an alias for one release.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, overload

import numpy as np

from .engine import Tensor, grad
from .modes import enable_grad
from .ops import Reshape, reshape, stack

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp"]

TensorLike = Tensor | np.ndarray | float
Inputs = TensorLike | Sequence[TensorLike]
# A Tensor, a tuple of Tensors, or (jacobian, hessian) a tuple of tuples of Tensors.
Nested = Tensor | tuple[Any, ...]
Many = Sequence[TensorLike]
TensorFn = Callable[..., Tensor]
TupleFn = Callable[..., tuple[Tensor, ...]]
Strategy = Literal["reverse-mode", "forward-mode", "auto"]

# A forward-mode column costs about this many reverse-mode rows: each column is
# a backward through the recorded backward, a larger graph than the forward.
# Measured 0.8-3.5 on two-layer networks of 10-100 inputs and outputs
# (about 1.3 when they are square); see benchmarks/bench_transforms.py.
_COLUMN_COST = 1.5


# ------------------------------------------------------------ inputs and outputs

def _as_inputs(inputs: Inputs, create_graph: bool, fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    """(was it a tuple, fresh tensors requiring grad that stand for the inputs).

    With create_graph, an input that requires grad is stood for by an identity
    node on top of it, so that the results stay differentiable with respect to
    it; otherwise by a new leaf sharing its data.
    """
    is_tuple = isinstance(inputs, (tuple, list))
    items = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    if is_tuple and not items:
        raise ValueError(f"{fn}: inputs is an empty tuple")
    prepared = []
    for i, x in enumerate(items):
        if isinstance(x, Tensor):
            data = x.data
        elif isinstance(x, (np.ndarray, np.generic, float, int)) and not isinstance(x, bool):
            data = np.asarray(x)
        else:
            raise TypeError(f"{fn}: input {i} is a {type(x).__name__}; expected a Tensor or an "
                            "ndarray (or a tuple of them)")
        if not np.issubdtype(data.dtype, np.floating):
            if not np.issubdtype(data.dtype, np.integer):
                raise TypeError(f"{fn}: input {i} has dtype {data.dtype}; expected floating "
                                "point (or integer, taken as float64)")
            data = data.astype(np.float64)
        if create_graph and isinstance(x, Tensor) and x.requires_grad and data is x.data:
            prepared.append(Reshape.apply(x, x.shape))
        else:
            prepared.append(Tensor(data, requires_grad=True))
    return is_tuple, tuple(prepared)


def _as_outputs(out: Any, fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    is_tuple = isinstance(out, (tuple, list))
    outs = tuple(out) if is_tuple else (out,)
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{fn}: output {i} of the function is a {type(o).__name__}; the "
                            "function must return a Tensor or a tuple of Tensors")
    return is_tuple, outs


def _run(f: Callable[..., Any], xs: Sequence[Tensor], fn: str) -> tuple[bool, tuple[Tensor, ...]]:
    with enable_grad():
        return _as_outputs(f(*xs), fn)


def _as_vectors(v: Any, like: Sequence[Tensor], is_tuple: bool, what: str,
                fn: str) -> list[np.ndarray | Tensor]:
    """Vectors given by the caller for `like` (same nesting, same shapes)."""
    if v is None:
        if sum(t.size for t in like) != 1:
            raise ValueError(f"{fn}: {what} may be left out only when there is a single "
                             f"element; give {what} with the shapes "
                             f"{[t.shape for t in like]}")
        return [np.ones(t.shape, t.dtype) for t in like]
    given = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if isinstance(v, (tuple, list)) != is_tuple or len(given) != len(like):
        raise ValueError(f"{fn}: {what} must be nested like the {len(like)} "
                         f"{'tensors' if is_tuple else 'tensor (not a tuple)'} it goes with")
    vectors: list[np.ndarray | Tensor] = []
    for i, (g, t) in enumerate(zip(given, like)):
        shape = g.shape if isinstance(g, Tensor) else np.shape(g)
        if tuple(shape) != t.shape:
            raise ValueError(f"{fn}: {what} {i} has shape {tuple(shape)}, expected {t.shape}")
        vectors.append(g if isinstance(g, Tensor) else np.asarray(g, dtype=t.dtype))
    return vectors


def _finish(t: Tensor | None, like: Tensor, create_graph: bool) -> Tensor:
    """A result Tensor: zeros where there is no gradient, detached unless create_graph."""
    if t is None:
        return Tensor(np.zeros(like.shape, like.dtype))
    return t if create_graph else t.detach()


def _nest(items: Sequence[Any], is_tuple: bool) -> Any:
    return tuple(items) if is_tuple else items[0]


def _independent(fn: str, i: int, j: int) -> RuntimeError:
    what = f"the gradient with respect to input {i}" if fn == "hessian" else \
        f"output {i} of the function"
    return RuntimeError(f"{fn}: {what} is independent of input {j}, which strict=True does "
                        "not allow")


# ------------------------------------------------------------ vjp, jvp

@overload
def vjp(f: TensorFn, *inputs: TensorLike, create_graph: bool = False
        ) -> tuple[Tensor, Callable[[Any], tuple[Tensor, ...]]]: ...
@overload
def vjp(f: TupleFn, *inputs: TensorLike, create_graph: bool = False
        ) -> tuple[tuple[Tensor, ...], Callable[[Any], tuple[Tensor, ...]]]: ...
@overload
def vjp(f: Callable[..., Any], *inputs: TensorLike, create_graph: bool = False
        ) -> tuple[Any, Callable[[Any], tuple[Tensor, ...]]]: ...


def vjp(f: Callable[..., Any], *inputs: TensorLike, create_graph: bool = False
        ) -> tuple[Nested, Callable[[Any], tuple[Tensor, ...]]]:
    """f(*inputs) and a function taking cotangents v to the products vᵀJ, one per input.

    As `torch.func.vjp`: `vjp_fn(v)` takes v nested like the output and
    returns a tuple with one gradient per input (zeros for an input the
    output does not depend on). One forward pass; each call of `vjp_fn` is
    one backward pass through the same graph. With create_graph=True the
    products are differentiable (with respect to the inputs and to v).
    """
    if not inputs:
        raise ValueError("vjp: give at least one input")
    _, xs = _as_inputs(inputs, create_graph, "vjp")
    out_tuple, outs = _run(f, xs, "vjp")

    def vjp_fn(v: Any) -> tuple[Tensor, ...]:
        vectors = _as_vectors(v, outs, out_tuple, "v", "vjp_fn")
        live = [(o, g) for o, g in zip(outs, vectors) if o.requires_grad]
        grads: Sequence[Tensor | None] = [None] * len(xs)
        if live:
            grads = grad([o for o, _ in live], xs, grad_outputs=[g for _, g in live],
                         retain_graph=True, create_graph=create_graph, allow_unused=True)
        return tuple(_finish(g, x, create_graph) for g, x in zip(grads, xs))

    results = [o if create_graph else o.detach() for o in outs]
    return _nest(results, out_tuple), vjp_fn


def _transposed(outs: Sequence[Tensor], xs: Sequence[Tensor]
                ) -> tuple[list[Tensor], list[Tensor | None]]:
    """Dummy cotangents v (zeros, requiring grad) and Jᵀv recorded as a graph of v.

    The first step of the double-vjp trick; an input the outputs do not
    depend on gets None.
    """
    live = [o for o in outs if o.requires_grad]
    vs = [Tensor(np.zeros(o.shape, o.dtype), requires_grad=True) for o in live]
    if not live:
        return vs, [None] * len(xs)
    gs = grad(live, xs, grad_outputs=vs, create_graph=True, allow_unused=True)
    return vs, [g if g is not None and g.requires_grad else None for g in gs]


@overload
def jvp(f: TensorFn, inputs: Inputs, tangents: Any = None, *, create_graph: bool = False,
        strict: bool = False) -> tuple[Tensor, Tensor]: ...
@overload
def jvp(f: TupleFn, inputs: Inputs, tangents: Any = None, *, create_graph: bool = False,
        strict: bool = False) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]: ...
@overload
def jvp(f: Callable[..., Any], inputs: Inputs, tangents: Any = None, *,
        create_graph: bool = False, strict: bool = False) -> tuple[Any, Any]: ...


def jvp(f: Callable[..., Any], inputs: Inputs, tangents: Any = None, *,
        create_graph: bool = False, strict: bool = False) -> tuple[Nested, Nested]:
    """(f(inputs), J·tangents): the forward-mode product, as `torch.autograd.functional.jvp`.

    `tangents` is nested like `inputs` (it may be left out for a single
    one-element input); the product is nested like the output. It is computed
    by the double-vjp trick (see the module docstring): one backward pass
    recorded with create_graph, then one backward through that recording.
    That costs about two reverse passes, but needs no forward-mode rule per
    op, so every op (and every user Function) whose backward is differentiable
    has a jvp. strict=True raises if some output does not depend on the inputs.
    """
    in_tuple, xs = _as_inputs(inputs, create_graph, "jvp")
    us = _as_vectors(tangents, xs, in_tuple, "tangents", "jvp")
    out_tuple, outs = _run(f, xs, "jvp")
    vs, gs = _transposed(outs, xs)
    pairs = [(g, u) for g, u in zip(gs, us) if g is not None]
    products: Sequence[Tensor | None] = [None] * len(vs)
    if pairs:
        products = grad([g for g, _ in pairs], vs, grad_outputs=[u for _, u in pairs],
                        create_graph=create_graph, allow_unused=True)
    by_output = iter(products)
    results = []
    for i, o in enumerate(outs):
        p = next(by_output) if o.requires_grad else None
        if p is None and strict:
            raise RuntimeError(f"jvp: output {i} of the function does not depend on the "
                               "inputs, which strict=True does not allow")
        results.append(_finish(p, o, create_graph))
    values = [o if create_graph else o.detach() for o in outs]
    return _nest(values, out_tuple), _nest(results, out_tuple)


# ------------------------------------------------------------ jacobian

def _unit(size: int, k: int, dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
    e = np.zeros(size, dtype)
    e[k] = 1
    return e.reshape(shape)


def _jacobian_rows(outs: Sequence[Tensor], xs: Sequence[Tensor], create_graph: bool,
                   strict: bool, fn: str) -> list[list[Tensor]]:
    """Reverse mode: one backward per output element, all through one recorded graph."""
    blocks = []
    for i, o in enumerate(outs):
        rows: list[list[Tensor | None]] = [[] for _ in xs]
        for k in range(o.size if o.requires_grad else 0):
            gs = grad(o, xs, grad_outputs=_unit(o.size, k, o.dtype, o.shape),
                      retain_graph=True, create_graph=create_graph, allow_unused=True)
            for j, g in enumerate(gs):
                rows[j].append(g)
        line = []
        for j, x in enumerate(xs):
            if all(g is None for g in rows[j]):
                if strict:
                    raise _independent(fn, i, j)
                line.append(Tensor(np.zeros(o.shape + x.shape, x.dtype)))
                continue
            line.append(_stack_pieces(rows[j], x.shape, o.shape + x.shape, x.dtype,
                                      create_graph, axis=0))
        blocks.append(line)
    return blocks


def _jacobian_columns(outs: Sequence[Tensor], xs: Sequence[Tensor], create_graph: bool,
                      strict: bool, fn: str) -> list[list[Tensor]]:
    """Forward mode by the double-vjp trick: one backward per input element."""
    vs, gs = _transposed(outs, xs)
    live = [i for i, o in enumerate(outs) if o.requires_grad]
    columns: dict[tuple[int, int], list[Tensor | None]] = {}
    for j, (x, g) in enumerate(zip(xs, gs)):
        if g is None:
            continue
        for m in range(x.size):
            cs = grad(g, vs, grad_outputs=_unit(x.size, m, g.dtype, x.shape),
                      retain_graph=True, create_graph=create_graph, allow_unused=True)
            for i, c in zip(live, cs):
                columns.setdefault((i, j), []).append(c)
    blocks = []
    for i, o in enumerate(outs):
        line = []
        for j, x in enumerate(xs):
            pieces = columns.get((i, j), [])
            if all(c is None for c in pieces):
                if strict:
                    raise _independent(fn, i, j)
                line.append(Tensor(np.zeros(o.shape + x.shape, o.dtype)))
                continue
            line.append(_stack_pieces(pieces, o.shape, o.shape + x.shape, o.dtype,
                                      create_graph, axis=-1))
        blocks.append(line)
    return blocks


def _stack_pieces(pieces: list[Tensor | None], piece_shape: tuple[int, ...],
                  shape: tuple[int, ...], dtype: Any, create_graph: bool, axis: int) -> Tensor:
    """Rows (axis 0) or columns (axis -1) of a flattened Jacobian block, reshaped to `shape`.

    A None piece (no gradient) is zeros.
    """
    width = int(np.prod(piece_shape, dtype=np.int64))
    if not create_graph:
        block = np.zeros((len(pieces), width), dtype)
        for r, p in enumerate(pieces):
            if p is not None:
                block[r] = p.data.reshape(-1)
        return Tensor((block if axis == 0 else block.T).reshape(shape))
    zero = Tensor(np.zeros(width, dtype))
    flat = [zero if p is None else reshape(p, (-1,)) for p in pieces]
    return reshape(stack(flat, axis=0 if axis == 0 else 1), shape)


def _blocks(outs: Sequence[Tensor], xs: Sequence[Tensor], create_graph: bool, strict: bool,
            strategy: Strategy, fn: str) -> list[list[Tensor]]:
    if strategy == "auto":
        rows = sum(o.size for o in outs if o.requires_grad)
        columns = sum(x.size for x in xs)
        strategy = "forward-mode" if _COLUMN_COST * columns < rows else "reverse-mode"
    if strategy == "reverse-mode":
        return _jacobian_rows(outs, xs, create_graph, strict, fn)
    if strategy == "forward-mode":
        return _jacobian_columns(outs, xs, create_graph, strict, fn)
    raise ValueError(f"{fn}: strategy must be 'reverse-mode', 'forward-mode' or 'auto', "
                     f"got {strategy!r}")


@overload
def jacobian(f: TensorFn, inputs: TensorLike, create_graph: bool = False,
             strict: bool = False, strategy: Strategy = "auto") -> Tensor: ...
@overload
def jacobian(f: TensorFn, inputs: Many, create_graph: bool = False,
             strict: bool = False, strategy: Strategy = "auto") -> tuple[Tensor, ...]: ...
@overload
def jacobian(f: TupleFn, inputs: TensorLike, create_graph: bool = False,
             strict: bool = False, strategy: Strategy = "auto") -> tuple[Tensor, ...]: ...
@overload
def jacobian(f: TupleFn, inputs: Many, create_graph: bool = False, strict: bool = False,
             strategy: Strategy = "auto") -> tuple[tuple[Tensor, ...], ...]: ...
@overload
def jacobian(f: Callable[..., Any], inputs: Inputs, create_graph: bool = False,
             strict: bool = False, strategy: Strategy = "auto") -> Any: ...


def jacobian(f: Callable[..., Any], inputs: Inputs, create_graph: bool = False,
             strict: bool = False, strategy: Strategy = "auto") -> Nested:
    """The Jacobian of f at inputs, as `torch.autograd.functional.jacobian`.

    Each block has shape output.shape + input.shape. One input and one output
    give a Tensor; a tuple of inputs gives a tuple over inputs, a tuple of
    outputs a tuple over outputs, both a tuple (over outputs) of tuples (over
    inputs). "reverse-mode" runs one backward per output element through one
    recorded forward graph; "forward-mode" one backward per input element
    through the recorded backward (double-vjp trick, about twice the cost of a
    row); "auto" (the default) picks the cheaper for the sizes at hand.
    strict=True raises when an output does not depend on an input instead of
    giving zeros; create_graph=True makes the result differentiable. There is
    no vectorize=: PyTorch's batches rows with vmap, which needs a batching
    rule per op; minigrad runs one pass per row or column.
    """
    in_tuple, xs = _as_inputs(inputs, create_graph, "jacobian")
    out_tuple, outs = _run(f, xs, "jacobian")
    blocks = _blocks(outs, xs, create_graph, strict, strategy, "jacobian")
    result: Tensor | tuple[Any, ...] = _nest([_nest(line, in_tuple) for line in blocks],
                                             out_tuple)
    return result


# ------------------------------------------------------------ hessian, hvp

def _scalar_output(f: Callable[..., Any], xs: Sequence[Tensor], fn: str) -> Tensor:
    out_tuple, outs = _run(f, xs, fn)
    if out_tuple or outs[0].size != 1:
        shape = "a tuple" if out_tuple else f"shape {outs[0].shape}"
        raise ValueError(f"{fn}: the function must return a Tensor with a single element, "
                         f"got {shape}")
    return outs[0]


def _gradients(out: Tensor, xs: Sequence[Tensor], strict: bool,
               fn: str) -> list[Tensor | None]:
    """d out / d xs recorded as a graph; None where the gradient is constant or absent.

    strict=True raises for either, as PyTorch does: a constant gradient (the
    output is linear in that input) makes the Hessian's row of blocks zero.
    """
    if not out.requires_grad:
        if strict:
            raise RuntimeError(f"{fn}: the output does not depend on the inputs, which "
                               "strict=True does not allow")
        return [None] * len(xs)
    gs = grad(out, xs, create_graph=True, allow_unused=True)
    if strict:
        for j, g in enumerate(gs):
            if g is None:
                raise RuntimeError(f"{fn}: the output is independent of input {j}, which "
                                   "strict=True does not allow")
            if not g.requires_grad:
                raise RuntimeError(f"{fn}: the gradient with respect to input {j} does not "
                                   "depend on the inputs (the output is linear in input "
                                   f"{j}), which strict=True does not allow")
    return [g if g is not None and g.requires_grad else None for g in gs]


@overload
def hessian(f: Callable[..., Any], inputs: TensorLike, create_graph: bool = False,
            strict: bool = False, outer_jacobian_strategy: Strategy = "reverse-mode"
            ) -> Tensor: ...
@overload
def hessian(f: Callable[..., Any], inputs: Many, create_graph: bool = False,
            strict: bool = False, outer_jacobian_strategy: Strategy = "reverse-mode"
            ) -> tuple[tuple[Tensor, ...], ...]: ...


def hessian(f: Callable[..., Any], inputs: Inputs, create_graph: bool = False,
            strict: bool = False, outer_jacobian_strategy: Strategy = "reverse-mode"
            ) -> Nested:
    """The Hessian of a scalar function, as `torch.autograd.functional.hessian`.

    One input gives a Tensor of shape input.shape + input.shape; a tuple of
    inputs gives a tuple of tuples, block [i][j] of shape
    inputs[i].shape + inputs[j].shape. The gradient is recorded once
    (create_graph), then each row is one backward through that recording
    (reverse over reverse); "forward-mode" takes columns by the double-vjp
    trick instead (slower: the Hessian is square, so rows are never more).
    strict=True raises, as PyTorch's, where a block would be zeros because the
    gradient does not depend on an input (f linear in an input, or separable).
    """
    in_tuple, xs = _as_inputs(inputs, create_graph, "hessian")
    out = _scalar_output(f, xs, "hessian")
    gs = _gradients(out, xs, strict, "hessian")
    live = [(j, g) for j, g in enumerate(gs) if g is not None]
    blocks = _blocks([g for _, g in live], xs, create_graph, strict, outer_jacobian_strategy,
                     "hessian") if live else []
    by_row = dict(zip([j for j, _ in live], blocks))
    lines = []
    for i, x in enumerate(xs):
        line = by_row.get(i) or [Tensor(np.zeros(x.shape + y.shape, x.dtype)) for y in xs]
        lines.append(_nest(line, in_tuple))
    result: Tensor | tuple[Any, ...] = _nest(lines, in_tuple)
    return result


@overload
def hvp(f: Callable[..., Any], inputs: TensorLike, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Tensor, Tensor]: ...
@overload
def hvp(f: Callable[..., Any], inputs: Many, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Tensor, tuple[Tensor, ...]]: ...


def hvp(f: Callable[..., Any], inputs: Inputs, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Tensor, Nested]:
    """(f(inputs), H·v) for a scalar f, as `torch.autograd.functional.hvp`.

    `v` is nested like `inputs`. Two backward passes: the gradient recorded
    once, then ⟨∇f, v⟩ differentiated (which gives vᵀH = (H·v)ᵀ, the Hessian
    of a twice continuously differentiable f being symmetric).
    """
    in_tuple, xs = _as_inputs(inputs, create_graph, "hvp")
    vs = _as_vectors(v, xs, in_tuple, "v", "hvp")
    out = _scalar_output(f, xs, "hvp")
    gs = _gradients(out, xs, strict, "hvp")
    pairs = [(g, u) for g, u in zip(gs, vs) if g is not None]
    products: Sequence[Tensor | None] = [None] * len(xs)
    if pairs:
        products = grad([g for g, _ in pairs], xs, grad_outputs=[u for _, u in pairs],
                        create_graph=create_graph, allow_unused=True)
    if strict and any(p is None for p in products):
        raise RuntimeError("hvp: the gradient is independent of some input, which "
                           "strict=True does not allow")
    results = [_finish(p, x, create_graph) for p, x in zip(products, xs)]
    return (out if create_graph else out.detach()), _nest(results, in_tuple)

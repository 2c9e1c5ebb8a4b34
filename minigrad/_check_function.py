"""minigrad.testing's check_function and check_grads (import them from there).

check_function runs a user's Function on the example arguments and on
hypothesis-drawn variants of them, and checks one property at a time,
keeping the first failure of each (with the shapes it happened at).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, currently_in_test_context, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis.extra import numpy as hnp

from .engine import Function, Tensor, as_array, grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .modes import enable_grad, no_grad
from .transforms import jvp, vjp

PROPERTIES = {
    "gradcheck": "first derivatives match finite differences (float64)",
    "gradgradcheck": "second derivatives match finite differences (float64)",
    "float32": "float32 inputs give a float32 output and float32 gradients",
    "grad_shapes": "backward returns one gradient per input, shaped like it",
    "needs_input_grad": "gradients are right when only some inputs require grad",
    "no_grad": "under no_grad nothing is recorded, and the values are the same",
    "no_mutation": "forward and backward leave their inputs (and g) unchanged",
}


class CheckFunctionError(AssertionError):
    """check_function found a property that does not hold; `report` has them all."""

    def __init__(self, report: FunctionReport) -> None:
        super().__init__(str(report))
        self.report = report


class FunctionReport(dict[str, str]):
    """Property name -> "SUCCESS", "FAIL" or "SKIPPED"; `details` says why, `cases` where."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.details: dict[str, str] = {}
        self.cases: list[str] = []
        self.nested = False

    @property
    def ok(self) -> bool:
        return all(v != "FAIL" for v in self.values())

    def __str__(self) -> str:
        width = max(len(k) for k in PROPERTIES)
        lines = [f"check_function({self.name}) on {len(self.cases)} cases: "
                 + " ".join(f"[{c}]" for c in self.cases[:6])
                 + (" ..." if len(self.cases) > 6 else "")
                 + (" (inside a hypothesis test: no variants drawn)" if self.nested else "")]
        for key, verdict in self.items():
            lines.append(f"  {key.ljust(width)}  {verdict:<7}  {PROPERTIES[key]}")
            if key in self.details:
                lines += ["      " + line for line in self.details[key].splitlines()]
        return "\n".join(lines)


# ------------------------------------------------------------ one case

def _describe(args: Sequence[Any], diff: Sequence[int]) -> str:
    return ", ".join(f"{np.shape(args[i])}" for i in diff)


def _with(args: Sequence[Any], diff: Sequence[int], values: Sequence[Any]) -> list[Any]:
    out = list(args)
    for i, v in zip(diff, values):
        out[i] = v
    return out


def _as_tuple(grads: Any) -> tuple[Any, ...]:
    return grads if isinstance(grads, tuple) else (grads,)


def _snapshot(values: Sequence[Any]) -> list[Any]:
    return [np.array(v, copy=True) if isinstance(v, np.ndarray) else None for v in values]


def _changed(before: Sequence[Any], after: Sequence[Any]) -> list[int]:
    return [k for k, (b, a) in enumerate(zip(before, after))
            if b is not None and not np.array_equal(b, a, equal_nan=True)]


def _node(out: Tensor) -> Function:
    if out.op is None:
        raise AssertionError("forward recorded no node although its inputs require grad")
    return out.op


def _parents(node: Function) -> Sequence[Tensor | None]:
    """Per argument of the node: the tensor if it needed a gradient, else None."""
    return [arg if need else None for arg, need in zip(node.arguments, node.needs_input_grad)]


class _Case:
    """One set of arguments: float64 arrays at the differentiable positions."""

    def __init__(self, fn: type[Function], args: list[Any], diff: list[int],
                 kwargs: dict[str, Any], rng: np.random.Generator) -> None:
        self.fn, self.args, self.diff, self.kwargs, self.rng = fn, args, diff, kwargs, rng
        self.label = _describe(args, diff)

    def apply(self, values: Sequence[Any]) -> Tensor:
        return self.fn.apply(*_with(self.args, self.diff, values), **self.kwargs)

    def leaves(self, dtype: Any = np.float64, needed: Sequence[int] | None = None
               ) -> list[Tensor]:
        return [Tensor(np.array(self.args[i], dtype=dtype), requires_grad=(
            needed is None or k in needed)) for k, i in enumerate(self.diff)]

    def raw_backward(self, dtype: Any) -> tuple[Tensor, Function, list[Tensor], np.ndarray, Any]:
        """Forward with recording, then the Function's own backward called directly.

        Called directly, the backward's results are seen before the engine sums
        broadcast gradients and casts them to the input's dtype.
        """
        xs = self.leaves(dtype)
        with enable_grad():
            out = self.apply(xs)
        node = _node(out)
        g = self.rng.standard_normal(out.shape).astype(out.dtype)
        with no_grad():
            grads = node.backward(node, g.copy())
        return out, node, xs, g, grads

    # -- the properties

    def gradcheck(self) -> str | None:
        gradcheck(lambda *xs: self.apply(xs), self.leaves(), raise_exception=True)
        return None

    def gradgradcheck(self) -> str | None:
        gradgradcheck(lambda *xs: self.apply(xs), self.leaves(), raise_exception=True,
                      seed=int(self.rng.integers(2 ** 31)))
        return None

    def float32(self) -> str | None:
        out, node, xs, _, grads = self.raw_backward(np.float32)
        if out.dtype != np.float32:
            return f"forward returned {out.dtype} for float32 inputs"
        for k, (x, gk) in enumerate(zip(_parents(node), _as_tuple(grads))):
            if gk is not None and isinstance(x, Tensor) and x.requires_grad \
                    and np.asarray(gk).dtype != np.float32:
                return (f"backward returned a {np.asarray(gk).dtype} gradient for argument {k} "
                        "(float32); the engine casts it back, but the backward computed in "
                        "the wrong precision")
        return None

    def grad_shapes(self) -> str | None:
        out, node, _, _, grads = self.raw_backward(np.float64)
        grads, parents = _as_tuple(grads), _parents(node)
        if len(grads) > len(parents) and any(g is not None for g in grads[len(parents):]):
            return f"backward returned {len(grads)} gradients for {len(parents)} arguments"
        for k, (x, gk) in enumerate(zip(parents, grads)):
            if not (isinstance(x, Tensor) and x.requires_grad):
                continue
            if gk is None:
                return f"backward returned None for argument {k}, which requires grad"
            if not isinstance(gk, (np.ndarray, np.generic)):
                return (f"backward returned a {type(gk).__name__} for argument {k}; expected "
                        "an ndarray")
            shape = np.shape(gk)
            try:
                fits = np.broadcast_shapes(x.shape, shape) == shape and len(shape) <= max(
                    x.ndim, out.ndim)
            except ValueError:
                fits = False
            if not fits:
                return (f"backward returned a gradient of shape {shape} for argument {k} of "
                        f"shape {x.shape} (output {out.shape})")
        return None

    def needs_input_grad(self) -> str | None:
        full_xs = self.leaves()
        with enable_grad():
            full_out = self.apply(full_xs)
        v = self.rng.standard_normal(full_out.shape)
        full = grad(full_out, full_xs, grad_outputs=v, allow_unused=True)
        wasted = set()
        for k in range(len(self.diff)):
            xs = self.leaves(needed=[k])
            with enable_grad():
                out = self.apply(xs)
            node = _node(out)
            with no_grad():
                raw = _as_tuple(node.backward(node, v.copy()))
            for m, i in enumerate(self.diff):
                if m != k and i < len(raw) and raw[i] is not None:
                    wasted.add(i)
            (alone,) = grad(out, [xs[k]], grad_outputs=v, allow_unused=True)
            want = full[k]
            if (alone is None or want is None) and alone is not want or (
                    alone is not None and want is not None and not np.allclose(
                        alone.data, want.data, rtol=1e-10, atol=1e-12)):
                return (f"the gradient of argument {self.diff[k]} differs when it is the only "
                        "one requiring grad")
        if wasted:
            self.note = ("note: backward computes gradients for arguments "
                         f"{sorted(wasted)} when they do not need one (allowed, but wasted work)")
        return None

    def no_grad(self) -> str | None:
        xs = self.leaves()
        with enable_grad():
            recorded = self.apply(xs)
        with no_grad():
            out = self.apply(xs)
        if out.requires_grad or out.op is not None:
            return "under no_grad the output requires grad or has a node"
        if not np.array_equal(out.data, recorded.data, equal_nan=True):
            return "under no_grad the forward gives other values"
        return None

    def no_mutation(self) -> str | None:
        args = _with(self.args, self.diff, [np.array(self.args[i]) for i in self.diff])
        before = _snapshot(args)
        xs = [Tensor(args[i], requires_grad=True) for i in self.diff]
        with enable_grad():
            out = self.fn.apply(*_with(args, self.diff, xs), **self.kwargs)
        changed = _changed(before, args)
        if changed:
            return f"forward modified argument {changed[0]}"
        node = _node(out)
        saved = list(getattr(node, "saved", None) or ())
        saved_before = _snapshot(saved)
        g = self.rng.standard_normal(out.shape).astype(out.dtype)
        g_before = g.copy()
        with no_grad():
            node.backward(node, g)
        if not np.array_equal(g, g_before):
            return "backward modified its upstream gradient g"
        changed = _changed(before, args)
        if changed:
            return f"backward modified argument {changed[0]}"
        changed = _changed(saved_before, saved)
        if changed:
            return f"backward modified saved value {changed[0]} (ctx.saved_tensors[{changed[0]}])"
        return None


# ------------------------------------------------------------ drawing cases

def _differentiable(arg: Any) -> bool:
    if isinstance(arg, Tensor):
        return arg.requires_grad
    return isinstance(arg, np.ndarray) and np.issubdtype(arg.dtype, np.floating)


def _values(pool: np.ndarray, shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Arrays whose elements are the example's own values scaled by up to ±2%.

    They stay in the example's domain (signs, and so the side of a kink at 0,
    are kept). The scale factors lie on a grid (steps of 0.04%), so elements
    are distinct by far more than a finite-difference step: reductions like
    max see no near-ties.
    """
    distinct = sorted(set(pool.ravel().tolist()))
    elements = st.tuples(st.sampled_from(distinct), st.integers(-_JITTER, _JITTER)).map(
        lambda t: t[0] * (1 + 0.02 * t[1] / _JITTER))
    unique = 0.0 not in distinct and len(distinct) * (2 * _JITTER + 1) >= 2 * int(np.prod(shape))
    return hnp.arrays(np.float64, shape, elements=elements, unique=unique)


_JITTER = 50


@st.composite
def _variants(draw: st.DrawFn, shapes: list[tuple[int, ...]], frozen: set[int],
              pools: list[np.ndarray], max_side: int) -> list[np.ndarray]:
    """New arguments around the example: sides remapped consistently, some axes made 1."""
    sides = sorted({n for s in shapes for n in s} - frozen)
    mapping = {n: n for n in frozen}
    for n in sides:                          # other sides first: the example is checked already
        options = [m for m in (n + 1, n - 1, n + 2, n) if 1 <= m <= max(max_side, n)]
        mapping[n] = draw(st.sampled_from(list(dict.fromkeys(options))))
    new_shapes = []
    for s in shapes:
        shape = [mapping[n] for n in s]
        if s and draw(st.integers(0, 2)) == 0:          # a broadcast variant
            for axis in draw(st.lists(st.integers(0, len(s) - 1), max_size=len(s))):
                shape[axis] = 1
            shape = shape[draw(st.integers(0, len(s))) if draw(st.booleans()) else 0:]
        new_shapes.append(tuple(shape))
    return [draw(_values(pool, shape)) for pool, shape in zip(pools, new_shapes)]


# ------------------------------------------------------------ check_function

def _draw_variants(fn: type[Function], args_list: list[Any], diff: list[int],
                   kwargs: dict[str, Any], rng: np.random.Generator,
                   run: Callable[[_Case], None], max_examples: int, seed: int | None,
                   max_side: int) -> None:
    """Run `run` on up to max_examples hypothesis-drawn variants the forward accepts."""
    frozen = {n for a in args_list if isinstance(a, (np.ndarray, Tensor)) for n in np.shape(a)
              if not any(a is args_list[i] for i in diff)}
    shapes = [np.shape(args_list[i]) for i in diff]
    pools = [args_list[i] for i in diff]
    seen = {_describe(args_list, diff)}
    skipped: list[str] = []

    @settings(max_examples=max_examples, deadline=None, database=None,
              derandomize=seed is None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(_variants(shapes, frozen, pools, max_side))
    def drawn(values: list[np.ndarray]) -> None:
        candidate = _with(args_list, diff, values)
        label = _describe(candidate, diff)
        if label in seen and len(skipped) < 2 * max_examples:
            skipped.append(label)            # spend the budget on new shapes, while there are
            reject()
        seen.add(label)
        try:
            with no_grad():
                fn.apply(*candidate, **kwargs)
        except Exception:                    # shapes the forward does not accept
            reject()
        run(_Case(fn, candidate, diff, kwargs, rng))

    if seed is not None:
        drawn = hypothesis_seed(seed)(drawn)
    try:
        drawn()
    except Unsatisfiable:
        pass                              # only the example's own shapes were accepted


def check_function(fn: type[Function], *args: Any, kwargs: dict[str, Any] | None = None,
                   max_examples: int = 10, skip: Sequence[str] = (), seed: int | None = None,
                   max_side: int = 4, raise_exception: bool = True,
                   verbose: bool = False) -> FunctionReport:
    """Check a Function in one call, on the example arguments and on drawn variants of them.

        report = check_function(Cube, np.array([0.5, -1.2, 2.0]))

    Floating-point ndarrays (and Tensors that require grad) among `args` are
    the inputs to differentiate; everything else (integer labels, masks,
    axes, shapes, Tensors without grad) is passed unchanged. Hypothesis draws
    up to `max_examples` variants: the same number of dimensions with sides
    changed consistently (equal sides stay equal, sides of constant arrays
    stay fixed), some axes set to 1 or leading axes dropped where the forward
    accepts that (broadcasting), and values taken from the example's own,
    scaled by up to ±2% (so they stay in its domain and away from the kinks
    it avoids). Variants the forward rejects are skipped. Called inside a
    hypothesis test, it checks only the arguments given (the test draws them).

    Properties, each reported as SUCCESS, FAIL or SKIPPED (`skip=`):
    gradcheck and gradgradcheck (float64 finite differences); float32
    (float32 in, float32 out, and the backward's own gradients float32);
    grad_shapes (one gradient per input, shaped like it or like a shape it
    broadcasts to); needs_input_grad (each gradient is the same when its
    input is the only one requiring grad); no_grad (nothing recorded, same
    values); no_mutation (forward and backward leave inputs, saved values
    and g unchanged). Returns the report (a dict); raises CheckFunctionError,
    an AssertionError carrying the whole report, if a property fails and
    `raise_exception` is true. `verbose=True` prints the report.
    """
    if not (isinstance(fn, type) and issubclass(fn, Function)):
        raise TypeError(f"check_function: expected a minigrad.Function subclass, got {fn!r}")
    unknown = set(skip) - set(PROPERTIES)
    if unknown:
        raise ValueError(f"check_function: unknown properties {sorted(unknown)}; the "
                         f"properties are {list(PROPERTIES)}")
    kwargs = dict(kwargs or {})
    args_list = [a.data if isinstance(a, Tensor) and a.requires_grad else a for a in args]
    diff = [i for i, a in enumerate(args) if _differentiable(a)]
    if not diff:
        raise ValueError(f"check_function({fn.__name__}): no differentiable argument; pass "
                         "floating-point ndarrays (or Tensors that require grad) for the inputs "
                         "to differentiate")
    for i in diff:
        args_list[i] = np.array(args_list[i], dtype=np.float64)
    report = FunctionReport(fn.__name__)
    for key in PROPERTIES:
        report[key] = "SKIPPED" if key in skip else "SUCCESS"
    rng = np.random.default_rng(0 if seed is None else seed)
    notes: dict[str, str] = {}

    def run(case: _Case) -> None:
        report.cases.append(case.label)
        for key in PROPERTIES:
            if report[key] != "SUCCESS":
                continue
            try:
                problem = getattr(case, key)()
            except GradcheckError as error:
                problem = str(error)
            except Exception as error:          # any failure of the user's code is a finding
                problem = f"raised {type(error).__name__}: {error}"
            if problem is not None:
                report[key] = "FAIL"
                report.details[key] = f"at shapes {case.label}: {problem}"
            elif getattr(case, "note", None):
                notes[key] = case.__dict__.pop("note")

    run(_Case(fn, args_list, diff, kwargs, rng))

    if max_examples > 0 and currently_in_test_context():
        report.nested = True     # a @given test around this call draws the examples itself
    elif max_examples > 0:
        _draw_variants(fn, args_list, diff, kwargs, rng, run, max_examples, seed, max_side)
    for key, note in notes.items():
        if report[key] == "SUCCESS":
            report.details.setdefault(key, note)
    if verbose:
        print(report)
    if raise_exception and not report.ok:
        raise CheckFunctionError(report)
    return report


# ------------------------------------------------------------ check_grads

def _flat(out: Any) -> np.ndarray:
    outs = out if isinstance(out, tuple) else (out,)
    return np.concatenate([np.asarray(as_array(o), dtype=np.float64).ravel() for o in outs])


def _directional(f: Callable[..., Any], xs: Sequence[np.ndarray], us: Sequence[np.ndarray],
                 eps: float) -> np.ndarray:
    with no_grad():
        plus = _flat(f(*[Tensor(x + eps * u) for x, u in zip(xs, us)]))
        minus = _flat(f(*[Tensor(x - eps * u) for x, u in zip(xs, us)]))
    difference: np.ndarray = (plus - minus) / (2 * eps)
    return difference


def _fail(mode: str, order: int, analytical: float | np.ndarray, numerical: float | np.ndarray,
          atol: float, rtol: float) -> None:
    a, n = np.asarray(analytical, np.float64), np.asarray(numerical, np.float64)
    bad = ~(np.abs(a - n) <= atol + rtol * np.abs(n))
    if bad.any():
        k = int(np.argmax(np.where(bad, np.abs(a - n), -1)))
        raise GradcheckError(
            f"check_grads: {mode} derivatives of order {order} disagree with finite "
            f"differences: analytical {a.ravel()[k]:.10g}, numerical {n.ravel()[k]:.10g} "
            f"(element {k}; allowed atol {atol:g} + rtol {rtol:g} * |numerical|)",
            input_index=-1, analytical=float(a.ravel()[k]), numerical=float(n.ravel()[k]))


def check_grads(f: Callable[..., Any], args: Sequence[Any], order: int = 2,
                modes: Sequence[str] = ("fwd", "rev"), *, atol: float = 1e-5,
                rtol: float = 1e-3, eps: float = 1e-6, seed: int = 0) -> None:
    """Check derivatives of f at args up to `order`, in forward and reverse mode, as JAX's.

    "fwd" compares `minigrad.jvp` along a random direction u with a central
    difference; "rev" compares ⟨vjp(v), u⟩ with ⟨v, central difference⟩ for
    a random v. For order > 1 the same checks run on the jvp and vjp
    themselves (as functions of args, built with create_graph=True). Raises
    GradcheckError (an AssertionError) on the first disagreement.
    """
    if order < 1:
        raise ValueError(f"check_grads: order must be at least 1, got {order}")
    bad = set(modes) - {"fwd", "rev"}
    if bad or not modes:
        raise ValueError(f"check_grads: modes must be among ('fwd', 'rev'), got {modes!r}")
    xs = [np.array(a.data if isinstance(a, Tensor) else a, dtype=np.float64) for a in args]
    rng = np.random.default_rng(seed)
    _check_grads(f, xs, order, 1, tuple(modes), atol, rtol, eps, rng)


def _check_grads(f: Callable[..., Any], xs: list[np.ndarray], order: int, level: int,
                 modes: tuple[str, ...], atol: float, rtol: float, eps: float,
                 rng: np.random.Generator) -> None:
    us = [rng.standard_normal(x.shape) for x in xs]
    norm = np.sqrt(sum(float((u * u).sum()) for u in us)) or 1.0
    us = [u / norm for u in us]
    numerical = _directional(f, xs, us, eps)
    if "fwd" in modes:
        _, tangent = jvp(f, tuple(xs), tuple(us))
        _fail("forward-mode (jvp)", level, _flat(tangent), numerical, atol, rtol)
        if level < order:
            def f_jvp(*a: Any) -> Any:
                return jvp(f, tuple(a), tuple(us), create_graph=True)[1]
            _check_grads(f_jvp, xs, order, level + 1, modes, atol, rtol, eps, rng)
    if "rev" in modes:
        v = rng.standard_normal(numerical.shape)
        out, vjp_fn = vjp(f, *xs)
        outs = out if isinstance(out, tuple) else (out,)
        pieces = np.split(v, np.cumsum([o.size for o in outs])[:-1])
        cot = [p.reshape(o.shape) for p, o in zip(pieces, outs)]
        grads = vjp_fn(tuple(cot) if isinstance(out, tuple) else cot[0])
        analytical = sum(float((g.data * u).sum()) for g, u in zip(grads, us))
        _fail("reverse-mode (vjp)", level, analytical, float(v @ numerical), atol, rtol)
        if level < order:
            def f_vjp(*a: Any) -> Any:
                out, fn = vjp(f, *a, create_graph=True)
                return fn(tuple(cot) if isinstance(out, tuple) else cot[0])
            _check_grads(f_vjp, xs, order, level + 1, modes, atol, rtol, eps, rng)


# Public as minigrad.testing's: help(), reprs and tracebacks say so.
for _public in (check_function, check_grads, CheckFunctionError, FunctionReport):
    _public.__module__ = "minigrad.testing"
del _public

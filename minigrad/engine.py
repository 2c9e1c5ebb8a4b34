"""The engine: Tensor, the graph it records, and reverse-mode backward.

Every operation on tensors that require grad creates a `Function` node, which keeps an edge
per input (the input's node, or the input itself if it is a leaf) and what its forward saved.
`backward()` sorts the nodes reachable from the output (no recursion) and calls each node's
`backward` once, outputs first. A backward formula runs on ndarrays, or on Tensors when
`create_graph=True` records it, so gradients differentiate again. Around the engine:
versions.py, dispatch.py, gradients.py, protocols.py, declarations.py, collector.py.
"""

from __future__ import annotations

import gc
import importlib
import re
import weakref
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, overload

import numpy as np

from . import collector, modes, versions
from .protocols import TensorProtocols

if TYPE_CHECKING:
    from .declarations import TensorMethods
else:
    TensorMethods = object

_mode = modes.grad_mode

__all__ = ["Tensor", "Function", "grad"]

# What ops accept where a tensor goes: a Tensor, an ndarray, a number, or (nested) lists of them.
ArrayLike: TypeAlias = "Tensor | np.ndarray | np.generic | complex | list[Any] | tuple[Any, ...]"
Axis: TypeAlias = "int | Sequence[int] | None"
Edge: TypeAlias = "Function | Tensor | None"   # where an input's gradient goes: node or leaf


# ---------------------------------------------------------------- Function

class Function:
    """A differentiable operation and, once applied, a node of the graph.

        class Cube(mg.Function):
            @staticmethod
            def forward(ctx, x):            # ndarrays in, ndarray out
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):           # a gradient per input of forward (or None)
                x, = ctx.saved_tensors
                return 3 * x ** 2 * g

        y = Cube.apply(t)

    The engine sums gradients of broadcast inputs back to their shapes; non-tensor
    arguments reach forward unchanged; `ctx.needs_input_grad` (in forward too) says which
    inputs need a gradient. docs/ops.md says how a backward serves second derivatives."""

    __slots__ = ("parents", "needs_input_grad", "arguments", "keywords", "saved", "_out_id",
                 "_clock", "__dict__")

    parents: Sequence[Edge]            # per argument: its node, itself if a leaf, or None
    needs_input_grad: Sequence[bool]   # per argument: does it need a gradient?
    arguments: tuple[Any, ...]         # the positional arguments as given; None once freed
    keywords: dict[str, Any]           # the keyword arguments, if any
    saved: tuple[Any, ...]             # what save_for_backward kept; None once freed
    _clock: int                        # the write clock at its forward (see versions.py)
    retained_by: Any = None            # weakref to a non-leaf Tensor that keeps its .grad
    released: str | None = None        # why the graph was freed, if not by a backward
    op_name: str = "function"          # the name errors and pictures use, e.g. "matmul"
    apply: Callable[..., Tensor]       # forward on the data, and a node if needed (_make_apply)

    if TYPE_CHECKING:
        # A forward keeps what its backward needs as attributes of ctx (ctx.shape = ...).
        def __getattr__(self, name: str) -> Any: ...
        def __setattr__(self, name: str, value: Any) -> None: ...

    @staticmethod
    def forward(ctx: Function, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Function, *grads: Any) -> Any:
        raise NotImplementedError

    def __init_subclass__(cls, *, method: Any = (), reflected: Any = (), numpy: Any = (),
                          **kwargs: Any) -> None:
        """Give the op its name and `apply`, and register it: `class Exp(Function,
        method="exp", numpy=np.exp)` makes `t.exp()` and `np.exp(t)` call `Exp.apply`."""
        super().__init_subclass__(**kwargs)
        if "op_name" not in cls.__dict__:
            cls.op_name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.__name__).lower()
        if "apply" not in cls.__dict__:
            cls.apply = staticmethod(_make_apply(cls))
        if method or reflected or numpy:
            dispatch.register(method=method, reflected=reflected, numpy=numpy)(cls.apply)

    def save_for_backward(self, *values: Any) -> None:
        """Keep arrays that `backward` needs (inputs, output or constants)."""
        self.saved = values

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """What `save_for_backward` kept: arrays, or Tensors while recording."""
        try:
            saved = self.saved
        except AttributeError:     # nothing was saved
            return ()
        if saved is None:
            raise RuntimeError(f"{self.op_name}: {_FREED}")
        if not _mode.enabled:
            return saved
        # Recording a backward: saved inputs and the output become graph tensors,
        # so that the recorded gradient depends on them.
        return tuple([self._as_tensor(value, i) for i, value in enumerate(saved)])

    def _as_tensor(self, value: Any, position: int) -> Any:
        """The graph tensor a saved array stands for: the output, an input, or a constant.

        An input saved in its own position is matched first, so that x and x.detach()
        (one array, two tensors) stay apart.
        """
        if id(value) == self._out_id:
            return _make(np.asarray(value), self, True)
        args, needs = self.arguments, self.needs_input_grad
        if position < len(args) and as_array(args[position]) is value:
            return args[position] if needs[position] else value   # a constant stays one
        for arg, need in zip(args, needs):
            if need and arg._data is value:
                return arg
        return value

    def __repr__(self) -> str:
        return f"<{self.op_name}>"


def _make_apply(cls: type[Function]) -> Callable[..., Tensor]:
    """The `apply` of one Function subclass: a plain function, so it can be a Tensor method."""
    forward = cls.forward
    new = object.__new__
    relax_after = collector.RELAX_AFTER

    def apply(*args: Any, **kwargs: Any) -> Tensor:
        if kwargs:
            args, kwargs = dispatch.keyword_tensors_as_positions(cls, args, kwargs)
        ctx = new(cls)
        record = False
        arrays: list[Any] = []
        parents: list[Edge] = []
        needs: list[bool] = []
        for arg in args:
            if isinstance(arg, Tensor):
                arrays.append(arg._data)
                if arg._requires_grad:
                    record = True
                    parents.append(arg._ctx or arg)
                    needs.append(True)
                    continue
            else:
                arrays.append(arg)
            parents.append(None)
            needs.append(False)
        ctx.parents = parents
        ctx.needs_input_grad = needs         # before forward, which may read it
        try:
            out = forward(ctx, *arrays, **kwargs)
        except (ValueError, IndexError, TypeError) as error:
            raise dispatch.annotated(error, cls, arrays) from None
        out_id = id(out)                     # saved_tensors finds the output by identity
        if type(out) is not np.ndarray:      # numpy returns scalars for 0-d results
            out = np.asarray(out)
        anomaly = modes.anomaly_depth      # (detect_anomaly, or mg.compile tracing)
        if anomaly:
            modes.observe(cls, args, kwargs, arrays, out, record and _mode.enabled)
        if not (record and _mode.enabled):
            return _make(out, None, False)
        ctx.arguments = args
        if kwargs:
            ctx.keywords = kwargs
        ctx._out_id = out_id
        ctx._clock = versions.writes
        if anomaly and modes.checking:
            ctx.created_at = modes.user_line()
        global _recorded
        _recorded += 1
        if _recorded == relax_after:
            collector.relax(ctx, _restart_count)
        t = new(Tensor)                      # as _make does, without a call: every op
        t._data, t._ctx, t._requires_grad = out, ctx, True      # recorded passes here
        t.grad = t.name = None
        return t

    return dispatch.named(apply, cls)     # its name, docstring and parameters, for help()


_recorded = 0                                # nodes recorded since the last backward


def _restart_count() -> None:                # (the cycle collector: see collector.py)
    global _recorded
    _recorded = 0
    collector.restore()


# ---------------------------------------------------------------- Tensor

class Tensor(TensorProtocols, TensorMethods):
    """An ndarray that records the operations applied to it: `Tensor(array)` wraps the
    array without copying it, `minigrad.tensor(data)` copies. Its operators and methods
    come from ops.py, its array behaviour from protocols.py."""

    __slots__ = ("_data", "grad", "_requires_grad", "_ctx", "name", "__weakref__")
    __array_priority__ = 1000
    __hash__ = object.__hash__   # identity, as comparisons return tensors

    _data: np.ndarray
    grad: Tensor | None
    _ctx: Function | None

    def __init__(self, data: ArrayLike, requires_grad: bool = False,
                 dtype: Any = None, name: str | None = None) -> None:
        if isinstance(data, Tensor):
            data = data._data
        array = np.asarray(data, dtype=dtype)
        if array.dtype == object:
            raise TypeError(f"Tensor: cannot hold {type(data).__name__} data of dtype object")
        self._data, self.grad, self._ctx, self.name = array, None, None, name
        self._requires_grad = False
        self.requires_grad = requires_grad

    @property
    def data(self) -> np.ndarray:
        """The ndarray holding the values (shared, not copied)."""
        if modes.tracer is not None:
            modes.leaving(".data")
        return self._data

    @data.setter
    def data(self, array: ArrayLike) -> None:
        # A new array writes over the old one, for the nodes that saved it; the same array
        # assigned back (`t.data -= lr * g`) was just changed in place.
        if isinstance(array, Tensor):
            array = array._data
        versions.bump_version(self._data)
        self._data = array if type(array) is np.ndarray else np.asarray(array)

    @property
    def _version(self) -> int:
        """How many in-place writes minigrad has seen to this tensor's memory."""
        return versions.version(self._data)

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to (and through) this tensor."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if value and not np.issubdtype(self._data.dtype, np.floating):
            raise TypeError(
                f"requires_grad=True needs floating-point data, got dtype {self._data.dtype}"
                f"{self._label()}: convert it first, e.g. .astype(np.float64)")
        if not value and self._ctx is not None:
            raise RuntimeError(
                f"requires_grad can only be turned off on a leaf tensor{self._label()}; "
                "use .detach() to get a tensor outside the graph")
        self._requires_grad = value

    def requires_grad_(self, value: bool = True) -> Tensor:
        self.requires_grad = value
        return self

    @property
    def is_leaf(self) -> bool:
        """True unless the tensor was produced by a recorded operation."""
        return self._ctx is None

    @property
    def op(self) -> Function | None:
        """The graph node that produced this tensor (None for leaves)."""
        return self._ctx

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always do)."""
        if self._ctx is not None:
            self._ctx.retained_by = weakref.ref(self)
        elif not self._requires_grad:
            raise RuntimeError(f"retain_grad: the tensor{self._label()} does not require grad")

    def detach(self) -> Tensor:
        """The same data, outside the graph."""
        return _make(self._data, None, False)

    def backward(self, grad: ArrayLike | None = None, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
        """Add d(self)/d(leaf) to every leaf's `.grad` (set it to None to start again).

        The graph is freed afterwards unless `retain_graph=True`; `create_graph=True`
        records the pass itself, so that the gradients can be differentiated again."""
        run_backward((self,), (grad,), retain_graph or create_graph, create_graph)


def _make(data: np.ndarray, ctx: Function | None, requires_grad: bool) -> Tensor:
    """A new tensor without the checks of __init__ (the ops' fast path)."""
    t = object.__new__(Tensor)
    t._data, t._ctx, t._requires_grad = data, ctx, requires_grad
    t.grad = t.name = None
    return t


def as_array(x: Any) -> Any:
    """The ndarray behind a Tensor; anything else (arrays, numbers, None) as it is."""
    return x._data if isinstance(x, Tensor) else x


def as_tensor(x: ArrayLike) -> Tensor:
    """x itself if it is a Tensor, else a Tensor (outside the graph) holding np.asarray(x)."""
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


# ---------------------------------------------------------------- backward

_FREED = ("the graph behind this tensor has already been freed by a backward pass. "
          "Pass retain_graph=True to the first backward() (or minigrad.grad) "
          "to backward through it again")

Gradients: TypeAlias = "dict[Any, Any]"   # node (or leaf tensor) -> the gradient of its output


def run_backward(roots: Sequence[Tensor], grads: Sequence[Any], retain_graph: bool,
                 create_graph: bool, inputs: Sequence[Tensor] | None = None,
                 allow_unused: bool = False) -> tuple[Tensor | None, ...] | None:
    """The pass of `Tensor.backward` (into the leaves' `.grad`) and of `grad` (the gradients
    of `inputs`, returned). It records exactly when `create_graph`, as in PyTorch."""
    _restart_count()
    collecting = gc.isenabled()       # the pass makes no reference cycles: no collections
    gc.disable()
    previous, _mode.retaining = (_mode.enabled, _mode.retaining), retain_graph  # (read by ops)
    _mode.enabled = create_graph
    try:
        totals: Gradients = {}
        for root, g in zip(roots, grads):
            g = gradients.seed(root, g, create_graph)    # (recorded when create_graph)
            key = root._ctx or root
            totals[key] = g if key not in totals else totals[key] + g
        order = nodes_below([key for key in totals if isinstance(key, Function)])
        owned: set[int] = set()              # ids of the gradients handed out as .grad
        if inputs is None:
            _propagate(order, totals, retain_graph, owned)
            gradients.deliver(totals, owned, create_graph)
            return None
        wanted = {id(t._ctx or t) for t in inputs}         # their nodes, or leaves
        order, run = gradients.prune(order, wanted)
        reached = _propagate(order, totals, retain_graph, owned, wanted, run)
        return gradients.collect(inputs, reached, allow_unused)
    finally:
        _mode.enabled, _mode.retaining = previous
        if collecting:
            gc.enable()


def _propagate(order: list[Function], totals: Gradients, retain_graph: bool, owned: set[int],
               wanted: AbstractSet[int] = frozenset(), run: set[int] | None = None
               ) -> Gradients:
    """Call each node's backward once, outputs first, and pass the gradients down: `totals`
    ends with the leaves' gradients (and the `wanted` nodes'; only those in `run` run)."""
    writes = versions.writes
    anomaly = modes.anomaly_depth
    for node in reversed(order):
        g = totals.pop(node, None)
        if g is None:                      # nothing reached it (an unused output)
            continue
        if run is not None:
            if id(node) in wanted:         # kept for the caller (no other use adds to it)
                totals[node] = g
            if id(node) not in run:        # nothing wanted lies below it
                continue
        arguments = node.arguments
        if arguments is None:
            raise RuntimeError(f"backward through {node.op_name}: {node.released or _FREED}")
        if node._clock != writes:          # something was written since the forward
            versions.check_versions(node)
        if node.retained_by is not None:
            gradients.retain(node, g, owned)
        input_grads = node.backward(node, g)       # one gradient (or None) per input
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        elif len(input_grads) > len(arguments) and \
                any(g is not None for g in input_grads[len(arguments):]):
            raise ValueError(f"the backward of {node.op_name} returned {len(input_grads)} "
                             f"gradients for {len(arguments)} inputs")
        if anomaly:
            modes.check_backward(node, g, input_grads)
        for arg, edge, pg in zip(arguments, node.parents, input_grads):
            if pg is None or edge is None:    # no gradient, or an input that needs none
                continue
            data = arg._data
            if type(pg) is not np.ndarray and not isinstance(pg, Tensor):
                pg = np.asarray(pg, dtype=data.dtype)    # a number from a custom backward
            if pg.shape != data.shape:
                pg = _unbroadcast(pg, data.shape, node)
            if pg.dtype != data.dtype:
                pg = pg.astype(data.dtype)
            previous = totals.get(edge)       # add up at the node below, or the leaf
            totals[edge] = pg if previous is None else previous + pg
        if not retain_graph:               # let go of what it kept (its edges stay)
            node.saved = node.arguments = None  # type: ignore[assignment]
    return totals


def _unbroadcast(g: Any, shape: tuple[int, ...], node: Function) -> Any:
    """Sum a gradient over the axes along which its input was broadcast."""
    if g.shape[1:] == shape:               # along one leading axis (a bias, a batch)
        return g.sum(axis=0)
    lead = g.ndim - len(shape)
    if lead >= 0:
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
        g = g.sum(axis=axes, keepdims=True)
        if g.shape[lead:] == shape:
            return g.reshape(shape)
    raise ValueError(
        f"the backward of {node.op_name} returned a gradient of shape {tuple(g.shape)} "
        f"for an input of shape {shape}")


def nodes_below(roots: Sequence[Function]) -> list[Function]:
    """Every node reachable from the roots, inputs before outputs (no recursion)."""
    order: list[Function] = []
    seen: set[Function] = set()
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root.parents))]
        while stack:
            node, edges = stack[-1]
            for edge in edges:
                if isinstance(edge, Function) and edge not in seen:
                    seen.add(edge)
                    stack.append((edge, iter(edge.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


@overload
def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: Literal[False] = False
         ) -> tuple[Tensor, ...]: ...
@overload
def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, *, allow_unused: bool) -> tuple[Tensor | None, ...]: ...
def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of `outputs` with respect to `inputs`, as a tuple of Tensors (nothing goes
    into `.grad`); with `create_graph=True` they are in a graph themselves (Hessian-vector
    products, gradient penalties)."""
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: input {i} is a {type(t).__name__}, not a Tensor")
        if not t._requires_grad:
            raise RuntimeError(f"grad: input {i}{t._label()} does not require grad")
    retain = create_graph if retain_graph is None else retain_graph
    grads = run_backward(outputs, grad_outputs, retain, create_graph, inputs, allow_unused)
    assert grads is not None                # with inputs, run_backward returns their grads
    return grads


# Where names that engine.py held before its machinery moved out now live (for one release).
_MOVED = dict.fromkeys(("no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
                        "detect_anomaly", "AnomalyError"), "modes") | {
    "register": "dispatch", "UFUNCS": "dispatch", "FUNCTIONS": "dispatch", "tensor": "creation",
    "bump_version": "versions", "Clone": "ops"}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__package__}.{_MOVED[name]}"), name)


from . import dispatch, gradients  # noqa: E402  (they build on Tensor: after it)

"""The engine: Tensor, the graph it records, and reverse-mode backward.

Every operation on tensors that require grad creates a `Function` node that
remembers its inputs (`parents`) and whatever its forward saved. `backward()`
sorts the nodes reachable from the output (iteratively, no recursion) and
calls each node's `backward` once, in reverse topological order.

Each backward formula is written once, in numpy's vocabulary. In a first-order
pass it receives plain ndarrays and runs as plain numpy. With
`create_graph=True` it receives Tensors instead, and the very same formula
records a new graph (Tensor implements numpy's dispatch protocols), so
gradients can be differentiated again.
"""

from __future__ import annotations

import gc
import inspect
import re
import reprlib
import weakref
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar, overload

import numpy as np
from numpy.typing import DTypeLike

from . import modes
from .modes import (
    AnomalyError,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)

_mode = modes.grad_mode
_T = TypeVar("_T", bound="Tensor")          # a method that returns the tensor itself

__all__ = [
    "Tensor", "Function", "tensor", "grad", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "detect_anomaly", "AnomalyError",
]

# What ops accept where a tensor goes: a Tensor, an ndarray, a number, or (nested) lists of them.
ArrayLike: TypeAlias = "Tensor | np.ndarray | np.generic | complex | list[Any] | tuple[Any, ...]"
Axis: TypeAlias = "int | Sequence[int] | None"


# ---------------------------------------------------------------- versions
#
# Every in-place write made through minigrad (Tensor.__setitem__, .data
# assignment, optimizers, load_state_dict) is counted for the array written,
# or for the array it is a view of: tensors sharing memory share the count.
# A recorded node notes the write clock; backward looks at the node's saved
# arrays only if some write happened since, so a graph nobody wrote into pays
# one comparison per node.

_writes = 0                                  # the write clock: writes made so far
_written: dict[int, list[Any]] = {}          # id(base array) -> [version, stamps, weakref]
_STAMPS_KEPT = 64                            # recent write times remembered per array


def _base(array: np.ndarray) -> np.ndarray:
    """The array that owns the memory `array` views (itself if it owns it).

    Views made by as_strided (im2col's windows) have for base an object that
    is not an ndarray but holds the array viewed as its own `.base`.
    """
    base = array.base
    while base is not None:
        if not isinstance(base, np.ndarray):
            base = getattr(base, "base", None)
            if not isinstance(base, np.ndarray):
                break
        array = base
        base = array.base
    return array


def bump_version(array: np.ndarray) -> None:
    """Count an in-place write to `array` (and to every array sharing its memory)."""
    global _writes
    _writes += 1
    owner = _base(array)
    key = id(owner)
    record = _written.get(key)
    if record is None:
        def forget(_: Any, key: int = key) -> None:
            _written.pop(key, None)
        record = _written[key] = [0, [], weakref.ref(owner, forget)]
    record[0] += 1
    stamps = record[1]
    stamps.append(_writes)
    if len(stamps) > _STAMPS_KEPT:
        del stamps[:_STAMPS_KEPT // 2]


def _version(array: np.ndarray) -> int:
    record = _written.get(id(_base(array)))
    return 0 if record is None else int(record[0])


def _written_since(node: Function) -> list[Any] | None:
    """The write record of an array the node saved that was written after its forward."""
    since = node._clock
    for value in getattr(node, "saved", None) or ():
        if isinstance(value, np.ndarray):
            record = _written.get(id(_base(value)))
            if record is not None and record[1][-1] > since:
                return record
    return None


def _check_versions(node: Function) -> None:
    """Raise if an array the node saved was written through minigrad after its forward."""
    record = _written_since(node)
    if record is None:
        return
    version, stamps = record[0], record[1]
    later = sum(1 for stamp in stamps if stamp > node._clock)
    known = later < len(stamps) or version == len(stamps)   # else older stamps were dropped
    raise RuntimeError(
        f"{node.op_name}: an input it saved was modified in place after the forward "
        f"(version {'' if known else '≤ '}{version - later} → {version}); its backward "
        "needs the values it had. Change a clone instead (x.clone()), or call "
        "backward() before the change (e.g. before optimizer.step())")


def release_if_stale(t: Tensor, reason: str) -> bool:
    """Free the graph behind t if no backward through it can succeed any more (an array
    one of its nodes saved has been written since); a backward then raises `reason`.

    Returns True when t has no graph left to keep (released now or before, or a leaf).
    Only t's own node lets go of its inputs, so parts shared with other graphs stay.
    """
    node = t._ctx
    if node is None or node.parents is None:
        return True
    if not any(n._clock != _writes and n.parents is not None and _written_since(n) is not None
               for n in _sorted_nodes([node], strict=False)):
        return False
    node.__dict__.clear()                       # what its forward kept on ctx
    node.parents = node.saved = node.arguments = None   # type: ignore[assignment]
    node.below = []
    node.released = reason
    return True


# ---------------------------------------------------------------- Function

class Function:
    """A differentiable operation and, once applied, a node of the graph.

    Subclass it and write two static methods::

        class Cube(mg.Function):
            @staticmethod
            def forward(ctx, x):            # ndarrays in, ndarray out
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, g):           # one gradient per forward input
                x, = ctx.saved_tensors
                return 3 * x ** 2 * g

        y = Cube.apply(t)

    `backward` gets the gradient of the output and returns one gradient per
    input of `forward` (None where there is none; trailing ones may be left
    out). Gradients of broadcast inputs are summed back to the input's shape
    by the engine. Non-tensor arguments (axes, shapes, Python numbers) are
    passed to `forward` unchanged. `ctx.needs_input_grad`, in forward and
    backward, says which inputs need a gradient: saving only what their
    gradients read keeps memory down and spares false alarms when an array
    saved for nothing is written in place.

    Written with numpy operations on the saved inputs and outputs, a backward
    also serves `create_graph=True`: then it receives Tensors, and numpy
    dispatches its operations back to minigrad. Values saved that are neither
    an input nor the output are constants to higher-order derivatives.
    """

    __slots__ = ("parents", "needs_input_grad", "arguments", "keywords", "saved", "_out_id",
                 "_clock", "below", "__dict__")

    # Recorded by apply, and set to None by a backward that frees the graph:
    parents: Sequence[Tensor | None]   # per argument: the tensor if it needs a gradient
    needs_input_grad: Sequence[bool]   # per argument: does it need a gradient? (set before
    #                                    forward, so a forward saves only what gradients read)
    arguments: tuple[Any, ...]         # the positional arguments as given (tensors, constants)
    keywords: dict[str, Any]           # the keyword arguments, if any
    saved: tuple[Any, ...]             # what save_for_backward kept
    below: list[Any]                   # once freed: the nodes and leaves its gradient went to
    _clock: int                        # the write clock at its forward
    retained_by: Any = None    # weakref to a non-leaf Tensor that keeps its .grad
    released: str | None = None    # why the graph was freed, if not by a backward
    op_name: str = "function"  # the name errors and pictures use, e.g. "softmax_cross_entropy"

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

    @staticmethod
    def apply(*args: Any, **kwargs: Any) -> Tensor:
        """Run `forward` on the arguments' data and record a node if needed.

        (Each subclass gets its own `apply`, made by `_make_apply`.)
        """
        raise NotImplementedError

    def __init_subclass__(cls, *, method: Names = (), reflected: Names = (), numpy: Any = (),
                          **kwargs: Any) -> None:
        """Give the op its name and `apply`, and register it: `class Exp(Function,
        method="exp", numpy=np.exp)` makes `t.exp()` and `np.exp(t)` call `Exp.apply`."""
        super().__init_subclass__(**kwargs)
        if "op_name" not in cls.__dict__:
            cls.op_name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.__name__).lower()
        if "apply" not in cls.__dict__:
            cls.apply = staticmethod(_make_apply(cls))  # type: ignore[method-assign]
        register(method=method, reflected=reflected, numpy=numpy)(cls.apply)

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
        # Recording a backward: saved inputs and the output become graph
        # tensors, so that the recorded gradient depends on them.
        return tuple([self._as_tensor(value, i) for i, value in enumerate(saved)])

    def _as_tensor(self, value: Any, position: int) -> Any:
        """The graph tensor a saved array stands for: the output, an input, or a constant.

        An input saved in its own position is matched first, so that x and
        x.detach() (one array, two tensors) stay apart.
        """
        if id(value) == self._out_id:
            return _make(np.asarray(value), self, True)
        parents = self.parents
        if position < len(parents) and as_array(self.arguments[position]) is value:
            p = parents[position]
            return value if p is None else p        # a constant stays one
        for p in parents:
            if p is not None and p._data is value:
                return p
        return value

    def __repr__(self) -> str:
        return f"<{self.op_name}>"


def _make_apply(cls: type[Function]) -> Callable[..., Tensor]:
    """The `apply` of one Function subclass: a plain function, so it can be a Tensor method."""
    forward = cls.forward
    new = object.__new__

    def apply(*args: Any, **kwargs: Any) -> Tensor:
        if kwargs:
            args, kwargs = _keyword_tensors_as_positions(cls, args, kwargs)
        ctx = new(cls)
        record = False
        arrays: list[Any] = []
        parents: list[Tensor | None] = []
        needs: list[bool] = []
        for arg in args:
            if isinstance(arg, Tensor):
                arrays.append(arg._data)
                if arg._requires_grad:
                    record = True
                    parents.append(arg)
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
            raise _annotated(error, cls, arrays) from None
        out_id = id(out)                     # saved_tensors finds the output by identity
        if type(out) is not np.ndarray:      # numpy returns scalars for 0-d results
            out = np.asarray(out)
        anomaly = modes.anomaly_depth
        if anomaly:
            modes.check_forward(cls, arrays, out)
        result = new(Tensor)                 # as _make does, without a call
        result._data = out
        result.grad = result.name = None
        if record and _mode.enabled:
            ctx.arguments = args
            if kwargs:
                ctx.keywords = kwargs
            ctx._out_id = out_id
            ctx._clock = _writes
            if anomaly:
                ctx.created_at = modes.user_line()
            global _recorded
            _recorded += 1
            if _recorded == _PAUSE_AFTER:
                _pause_collector(ctx)
            result._requires_grad = True
            result._ctx = ctx
        else:
            result._requires_grad = False
            result._ctx = None
        return result

    apply.__name__ = cls.op_name
    apply.__qualname__ = f"{cls.__qualname__}.apply"
    apply.__doc__ = cls.__doc__ or f"{cls.op_name} of tensors (and constants), recorded."
    # help(), IDEs and inspect show forward's parameters (without ctx), not (*args, **kwargs)
    parameters = list(inspect.signature(forward).parameters.values())[1:]
    apply.__signature__ = inspect.Signature(     # type: ignore[attr-defined]
        [p.replace(annotation=p.empty) for p in parameters], return_annotation="Tensor")
    return apply


# Recording a big graph makes many objects that live until backward, and the cycle
# collector would scan them over and over (time per node would grow with the graph).
# The graph makes no reference cycles, so once _PAUSE_AFTER nodes have been recorded
# since the last backward, recording makes the collector's young collections rare
# (every _RELAXED allocations instead of every few hundred) until the next backward,
# or until the node that relaxed it is gone (a graph dropped without a backward). The
# collector stays on: cyclic garbage, a dropped graph included, is still collected.
_PAUSE_AFTER = 256
_RELAXED = 10_000
_recorded = 0                                # nodes recorded since the last backward
_thresholds: tuple[int, ...] | None = None   # the collector's own, while relaxed


def _pause_collector(node: Function) -> None:
    global _thresholds
    current = gc.get_threshold()
    if _thresholds is None and gc.isenabled() and 0 < current[0] < _RELAXED:
        _thresholds = current
        gc.set_threshold(_RELAXED, *current[1:])
        weakref.finalize(node, _resume_collector)


def _resume_collector() -> None:
    global _recorded, _thresholds
    _recorded = 0
    if _thresholds is not None:
        gc.set_threshold(*_thresholds)
        _thresholds = None


def _keyword_tensors_as_positions(fn: type[Function], args: tuple[Any, ...],
                                  kwargs: dict[str, Any]
                                  ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Move tensors passed by keyword to their positions: they are inputs of the node too."""
    if not any(isinstance(v, Tensor) for v in kwargs.values()):
        return args, kwargs
    try:
        bound = inspect.signature(fn.forward).bind(None, *args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{fn.op_name}: {error}") from None
    bound.apply_defaults()
    for name, value in bound.kwargs.items():
        if isinstance(value, Tensor):
            raise TypeError(
                f"{fn.op_name}: the tensor passed as {name}= would not be an input of the node "
                f"(forward takes {name} as a keyword-only argument); make it a parameter "
                "before any *args in forward, or pass it positionally")
    return bound.args[1:], bound.kwargs


def _annotated(error: Exception, fn: type[Function], arrays: list[Any]) -> Exception:
    """The same error, saying which op failed and on what shapes."""
    message = str(error)
    if message.startswith(fn.op_name + ":"):
        return error
    shapes = ", ".join(str(np.shape(a)) if isinstance(a, np.ndarray) else reprlib.repr(a)
                       for a in arrays)
    try:
        return type(error)(f"{fn.op_name}: {message} (inputs: {shapes})")
    except Exception:          # an exception class that wants other arguments
        return error


def _call(fn: type[Function], *args: Any, **kwargs: Any) -> Any:
    """Run a primitive on arrays (plain numpy) or on Tensors (recorded).

    Lets a backward formula use a primitive that numpy has no function for.
    """
    if any(isinstance(a, Tensor) for a in args):
        return fn.apply(*args, **kwargs)
    ctx = fn()
    ctx.parents = (None,) * len(args)           # nothing needs a gradient
    ctx.needs_input_grad = (False,) * len(args)
    return fn.forward(ctx, *args, **kwargs)


# ---------------------------------------------------------------- Tensor

class Tensor:
    """An ndarray that records the operations applied to it.

    `Tensor(data)` wraps an ndarray without copying it (so updating the array
    in place updates the tensor); `minigrad.tensor(data)` copies.
    """

    __slots__ = ("_data", "grad", "_requires_grad", "_ctx", "name", "__weakref__")
    __array_priority__ = 1000
    __hash__ = object.__hash__   # identity, as comparisons return tensors

    _data: np.ndarray
    grad: Tensor | None

    def __init__(self, data: ArrayLike, requires_grad: bool = False,
                 dtype: Any = None, name: str | None = None) -> None:
        if isinstance(data, Tensor):
            data = data._data
        array = np.asarray(data, dtype=dtype)
        if array.dtype == object:
            raise TypeError(f"Tensor: cannot hold {type(data).__name__} data of dtype object")
        self._data = array
        self.grad = None
        self._ctx: Function | None = None
        self.name = name
        self._requires_grad = False
        self.requires_grad = requires_grad

    @property
    def data(self) -> np.ndarray:
        """The ndarray holding the values (shared, not copied)."""
        return self._data

    @data.setter
    def data(self, array: ArrayLike) -> None:
        # A new array replaces the values the tensor had: for the nodes that
        # saved the old array, that counts as writing over it. The same array
        # assigned back (`t.data -= lr * g`) was just changed in place.
        if isinstance(array, Tensor):
            array = array._data
        bump_version(self._data)
        self._data = array if type(array) is np.ndarray else np.asarray(array)

    @property
    def _version(self) -> int:
        """How many in-place writes minigrad has seen to this tensor's memory."""
        return _version(self._data)

    # -- autograd attributes

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

    def clone(self) -> Tensor:
        """A copy of the data, in the graph: gradients flow back through it."""
        return Clone.apply(self)

    def backward(self, grad: ArrayLike | None = None, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`.

        Gradients add up across calls; set `leaf.grad = None` (or call
        `zero_grad()`) to start again. The graph is freed afterwards unless
        `retain_graph=True`; `create_graph=True` records the backward pass
        so that the gradients can be differentiated again.
        """
        run_backward((self,), (grad,), retain_graph or create_graph, create_graph)

    # -- array attributes

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self._data

    def item(self) -> Any:
        if self._data.size != 1:
            raise ValueError(
                f"item: only a one-element tensor converts to a Python number, "
                f"got shape {self.shape}")
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        return self._data.__index__()

    def __format__(self, spec: str) -> str:
        """f"{loss:.4f}" formats a one-element tensor's value, as PyTorch does."""
        if not spec:
            return str(self)
        return format(self._data.item() if self._data.size == 1 else self._data, spec)

    if not TYPE_CHECKING:
        # Hidden from type checkers: numpy's stubs would otherwise take `ndarray @ Tensor`
        # for an ndarray, while it runs as Tensor.__rmatmul__ and gives a Tensor.
        def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
            if self._requires_grad and _mode.enabled:    # np.array([x, y]), np.sum([x, y])
                raise TypeError(
                    f"numpy conversion of a tensor{self._label()} that requires grad would "
                    "drop its gradient: use x.detach() (or no_grad()) to take the values, or "
                    "minigrad's ops (mg.stack, mg.concatenate, +) to combine tensors")
            if copy:
                return np.array(self._data, dtype=dtype, copy=True)
            return self._data if dtype is None else self._data.astype(dtype, copy=False)

    def _label(self) -> str:
        return f" '{self.name}'" if self.name else ""

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", precision=4, threshold=20,
                               edgeitems=3, prefix="tensor(")
        extras = [f"dtype={self._data.dtype}"]
        if self._ctx is not None:
            extras.append(f"op={self._ctx.op_name}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return f"tensor({body}, {', '.join(extras)})"

    # -- numpy interoperability: numpy functions applied to tensors are
    #    dispatched to minigrad's differentiable ops (see minigrad.ops).

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method == "__call__" and not kwargs:
            op = UFUNCS.get(ufunc)
            if op is not None:
                return op(*inputs)
            if ufunc in NONDIFFERENTIABLE_UFUNCS:
                return _make(ufunc(*[as_array(x) for x in inputs]), None, False)
        _refuse_if_recording(f"numpy.{ufunc.__name__}" + ("" if method == "__call__"
                                                            else f".{method}"), inputs, kwargs)
        result = getattr(ufunc, method)(*_raw_nested(inputs), **_raw_nested(kwargs))
        return _make(result, None, False) if isinstance(result, np.ndarray) else result

    def __array_function__(self, func: Callable[..., Any], types: Any, args: tuple[Any, ...],
                           kwargs: dict[str, Any]) -> Any:
        op = FUNCTIONS.get(func)
        if op is not None:
            try:
                return op(*args, **kwargs)
            except TypeError as error:
                if "argument" not in str(error):
                    raise
                raise TypeError(f"numpy.{func.__name__} on tensors: {error}; minigrad "
                                "supports the array arguments and axis/keepdims") from None
        if func not in INSPECTION_FUNCTIONS:
            _refuse_if_recording(f"numpy.{func.__name__}", args, kwargs)
        return func(*_raw_nested(args), **_raw_nested(kwargs))


    if TYPE_CHECKING:
        # Operators and methods that minigrad.ops attaches to Tensor, declared here
        # for readers and type checkers (tests/test_surface.py keeps the two in step).
        def __add__(self, other: ArrayLike) -> Tensor: ...
        def __radd__(self, other: ArrayLike) -> Tensor: ...
        def __sub__(self, other: ArrayLike) -> Tensor: ...
        def __rsub__(self, other: ArrayLike) -> Tensor: ...
        def __mul__(self, other: ArrayLike) -> Tensor: ...
        def __rmul__(self, other: ArrayLike) -> Tensor: ...
        def __truediv__(self, other: ArrayLike) -> Tensor: ...
        def __rtruediv__(self, other: ArrayLike) -> Tensor: ...
        def __pow__(self, other: ArrayLike) -> Tensor: ...
        def __rpow__(self, other: ArrayLike) -> Tensor: ...
        def __matmul__(self, other: ArrayLike) -> Tensor: ...
        def __rmatmul__(self, other: ArrayLike) -> Tensor: ...
        def __neg__(self) -> Tensor: ...
        def __pos__(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def __getitem__(self, key: Any) -> Tensor: ...
        def __setitem__(self, key: Any, value: ArrayLike) -> None: ...
        # in place: written into the array (or recorded, for a tensor in the graph)
        def __iadd__(self: _T, other: ArrayLike) -> _T: ...
        def __isub__(self: _T, other: ArrayLike) -> _T: ...
        def __imul__(self: _T, other: ArrayLike) -> _T: ...
        def __itruediv__(self: _T, other: ArrayLike) -> _T: ...
        def __ipow__(self: _T, other: ArrayLike) -> _T: ...
        def __imatmul__(self: _T, other: ArrayLike) -> _T: ...
        def zero_(self: _T) -> _T: ...
        # comparisons and bitwise operators: plain tensors outside the graph
        def __lt__(self, other: ArrayLike) -> Tensor: ...
        def __le__(self, other: ArrayLike) -> Tensor: ...
        def __gt__(self, other: ArrayLike) -> Tensor: ...
        def __ge__(self, other: ArrayLike) -> Tensor: ...
        def __eq__(self, other: object) -> Tensor: ...  # type: ignore[override]
        def __ne__(self, other: object) -> Tensor: ...  # type: ignore[override]
        def __and__(self, other: ArrayLike) -> Tensor: ...
        def __rand__(self, other: ArrayLike) -> Tensor: ...
        def __or__(self, other: ArrayLike) -> Tensor: ...
        def __ror__(self, other: ArrayLike) -> Tensor: ...
        def __xor__(self, other: ArrayLike) -> Tensor: ...
        def __rxor__(self, other: ArrayLike) -> Tensor: ...
        def __invert__(self) -> Tensor: ...

        @property
        def T(self) -> Tensor: ...
        def exp(self) -> Tensor: ...
        def log(self) -> Tensor: ...
        def sqrt(self) -> Tensor: ...
        def sin(self) -> Tensor: ...
        def cos(self) -> Tensor: ...
        def tanh(self) -> Tensor: ...
        def sigmoid(self) -> Tensor: ...
        def relu(self) -> Tensor: ...
        def abs(self) -> Tensor: ...
        def clip(self, lo: ArrayLike | None = None, hi: ArrayLike | None = None) -> Tensor: ...
        def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor: ...
        def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor: ...
        def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor: ...
        def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor: ...
        def reshape(self, *shape: int | Sequence[int]) -> Tensor: ...
        def transpose(self, *axes: int | Sequence[int] | None) -> Tensor: ...
        def swapaxes(self, axis1: int, axis2: int) -> Tensor: ...
        def broadcast_to(self, shape: int | Sequence[int]) -> Tensor: ...
        def expand_dims(self, axis: int | Sequence[int]) -> Tensor: ...
        def squeeze(self, axis: Axis = None) -> Tensor: ...
        def flatten(self) -> Tensor: ...
        def matmul(self, b: ArrayLike) -> Tensor: ...
        def dot(self, b: ArrayLike) -> Tensor: ...
        def astype(self, dtype: DTypeLike) -> Tensor: ...
        def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor: ...
        def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor: ...


def as_array(x: Any) -> Any:
    """The ndarray behind a Tensor; anything else (arrays, numbers, None) as it is."""
    return x._data if isinstance(x, Tensor) else x


def as_tensor(x: ArrayLike) -> Tensor:
    """x itself if it is a Tensor, else a Tensor (outside the graph) holding np.asarray(x)."""
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _raw_nested(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (list, tuple)):
        return type(x)(_raw_nested(v) for v in x)
    if isinstance(x, dict):
        return {k: _raw_nested(v) for k, v in x.items()}
    return x


def _refuse_if_recording(name: str, args: Any, kwargs: Any) -> None:
    if not _mode.enabled:
        return
    stack = [args, kwargs]
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            if x._requires_grad:
                raise TypeError(
                    f"{name} has no gradient in minigrad (argument{x._label()} requires grad): "
                    "use x.detach() to leave the graph, or write a minigrad.Function")
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())


# ---------------------------------------------------------------- registration

# numpy ufunc / function -> the minigrad function that answers it (filled by `register`).
UFUNCS: dict[np.ufunc, Callable[..., Any]] = {}
FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {}

Names: TypeAlias = "str | tuple[str, ...]"
_Entry = TypeVar("_Entry")


def register(*, method: Names = (), reflected: Names = (), numpy: Any = ()
             ) -> Callable[[_Entry], _Entry]:
    """Make a function part of Tensor's surface (a decorator; Function subclasses call it).

    It becomes the Tensor method or operator of each `method` name, the reflected
    operator of each `reflected` name (`other - t` calls it as f(other, t)), and what
    numpy calls for each numpy function or ufunc in `numpy`, given a tensor.
    """
    methods = (method,) if isinstance(method, str) else method
    reflections = (reflected,) if isinstance(reflected, str) else reflected
    functions = numpy if isinstance(numpy, tuple) else (numpy,)

    def attach(entry: _Entry) -> _Entry:
        for name in methods + reflections:           # all checked before anything changes
            if name in vars(Tensor) or methods.count(name) + reflections.count(name) > 1:
                raise ValueError(f"register: Tensor.{name} is defined already")
        for func in functions:
            table = UFUNCS if isinstance(func, np.ufunc) else FUNCTIONS
            if func in table or functions.count(func) > 1:
                raise ValueError(f"register: numpy.{func.__name__} is answered already")
        for name in methods:
            setattr(Tensor, name, entry)
        for name in reflections:
            setattr(Tensor, name, _reflected(entry, name))
        answer: Any = entry
        for func in functions:
            (UFUNCS if isinstance(func, np.ufunc) else FUNCTIONS)[func] = answer
        return entry
    return attach


def _reflected(fn: Any, name: str) -> Callable[[Tensor, Any], Tensor]:
    """The reflected operator of fn: `other - t` calls fn(other, t)."""
    def reflected(self: Tensor, other: Any) -> Tensor:
        result: Tensor = fn(other, self)
        return result
    reflected.__name__ = name
    return reflected


NONDIFFERENTIABLE_UFUNCS = {
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.sign, np.floor, np.ceil, np.rint, np.trunc, np.isnan, np.isinf, np.isfinite,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
    np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert,
}
INSPECTION_FUNCTIONS = {      # they answer questions about values, nothing to differentiate
    np.allclose, np.isclose, np.array_equal, np.array_equiv, np.shape, np.ndim, np.size,
    np.argmax, np.argmin, np.argsort, np.nonzero, np.count_nonzero, np.any, np.all,
    np.array2string, np.array_repr, np.array_str, np.result_type,
}


class Clone(Function):
    """A copy of the values that stays in the graph (the gradient passes through)."""

    @staticmethod
    def forward(ctx: Function, a: np.ndarray) -> np.ndarray:
        return np.array(a, copy=True)

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        return g


def _make(data: np.ndarray, ctx: Function | None, requires_grad: bool) -> Tensor:
    """A new tensor without the checks of __init__ (the ops' fast path)."""
    t = object.__new__(Tensor)
    t._data = data
    t.grad = None
    t._requires_grad = requires_grad
    t._ctx = ctx
    t.name = None
    return t


def tensor(data: ArrayLike, requires_grad: bool = False, dtype: Any = None,
           name: str | None = None) -> Tensor:
    """A new tensor holding a copy of `data` (float64 unless data or dtype say otherwise)."""
    if isinstance(data, Tensor):
        data = data._data
    return Tensor(np.array(data, dtype=dtype, copy=True), requires_grad=requires_grad, name=name)


# ---------------------------------------------------------------- backward

_FREED = ("the graph behind this tensor has already been freed by a backward pass. "
          "Pass retain_graph=True to the first backward() (or minigrad.grad) "
          "to backward through it again")

Gradients: TypeAlias = "dict[Any, Any]"   # node (or leaf tensor) -> the gradient of its output


def run_backward(roots: Sequence[Tensor], grads: Sequence[Any], retain_graph: bool,
                 create_graph: bool, inputs: Sequence[Tensor] | None = None,
                 allow_unused: bool = False) -> tuple[Tensor | None, ...] | None:
    """The backward pass shared by `Tensor.backward` and `grad`.

    Without `inputs` it accumulates into the leaves' `.grad`; with `inputs`
    it returns their gradients and leaves `.grad` alone. The pass records
    (a graph of the gradients) exactly when `create_graph`, whatever the
    grad mode around it, as in PyTorch.
    """
    for root in roots:
        if not isinstance(root, Tensor):
            raise TypeError(f"backward: expected a Tensor output, got {type(root).__name__}")
        if not root._requires_grad:
            raise RuntimeError(
                f"backward: the output{root._label()} does not require grad: no input "
                "it depends on has requires_grad=True (or it was computed under no_grad)")
    # The pass makes no reference cycles, so pausing the cycle collector changes
    # nothing but time (on big graphs it would rescan every node, over and over).
    _resume_collector()                          # (recording may have relaxed it)
    collecting = gc.isenabled()
    gc.disable()
    previous_mode = _mode.enabled
    _mode.enabled = create_graph
    try:
        totals: Gradients = {}
        for root, g in zip(roots, grads):
            key = root._ctx or root
            g = _seed(root, g, create_graph)
            totals[key] = g if key not in totals else totals[key] + g
        nodes = [key for key in totals if isinstance(key, Function)]
        order = _sorted_nodes(nodes, strict=inputs is None)
        owned: set[int] = set()              # ids of the gradients handed out as .grad
        if inputs is None:
            _propagate(order, totals, retain_graph, owned)
            _deliver(totals, owned, create_graph)
            return None
        wanted = {id(t._ctx if t._ctx is not None else t) for t in inputs}   # nodes, leaves
        order, run = _prune(order, wanted)
        reached = _propagate(order, totals, retain_graph, owned, wanted, run)
        return _collect(inputs, reached, allow_unused)
    finally:
        _mode.enabled = previous_mode
        if collecting:
            gc.enable()


def _propagate(order: list[Function], totals: Gradients, retain_graph: bool, owned: set[int],
               wanted: AbstractSet[int] = frozenset(), run: set[int] | None = None
               ) -> Gradients:
    """Call each node's backward once, outputs first, and pass the gradients down.

    Returns `totals`, which then holds the gradients of the leaves (and, with
    `wanted`, of the wanted nodes; only the nodes in `run` call backward).
    """
    writes = _writes
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
        if node._clock != writes:          # something was written since the forward
            _check_versions(node)
        if node.retained_by is not None:
            _retain(node, g, owned)
        # call backward: one gradient (or None) per input of forward
        input_grads = node.backward(node, g)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        elif len(input_grads) > len(node.parents):
            _check_extra_grads(node, input_grads)
        if anomaly:
            modes.check_backward(node, g, input_grads)
        below = []                         # where the gradient went, kept once freed
        for p, pg in zip(node.parents, input_grads):
            if pg is None or p is None:    # no gradient, or an input that needs none
                continue
            data = p._data
            try:
                shape = pg.shape
            except AttributeError:         # a Python number from a custom backward
                pg = np.asarray(pg, dtype=data.dtype)
                shape = pg.shape
            if shape != data.shape:        # unbroadcast
                pg = _unbroadcast(pg, data.shape, node)
            if pg.dtype is not data.dtype and pg.dtype != data.dtype:   # cast
                pg = pg.astype(data.dtype)
            key = p._ctx or p              # accumulate, at the node below or the leaf
            previous = totals.get(key)
            totals[key] = pg if previous is None else previous + pg
            below.append(key)
        if not retain_graph:               # free saved arrays and the links to inputs
            node.below = below
            node.parents = node.saved = node.arguments = None  # type: ignore[assignment]
    return totals


def _unbroadcast(g: Any, shape: tuple[int, ...], node: Function) -> Any:
    """Sum a gradient over the axes along which its input was broadcast."""
    lead = g.ndim - len(shape)
    if lead >= 0:
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        if g.shape[lead:] == shape:
            return g.reshape(shape)
    raise ValueError(
        f"the backward of {node.op_name} returned a gradient of shape {tuple(g.shape)} "
        f"for an input of shape {shape}")


def _check_extra_grads(node: Function, grads: tuple[Any, ...]) -> None:
    if any(g is not None for g in grads[len(node.parents):]):
        raise ValueError(f"the backward of {node.op_name} returned {len(grads)} gradients "
                         f"for {len(node.parents)} inputs")


def _retain(node: Function, g: Any, owned: set[int]) -> None:
    """Keep g as .grad of the non-leaf tensor that asked for it (retain_grad)."""
    kept = node.retained_by()
    if kept is not None:          # first order: a copy, as g flows on
        kept.grad = _as_grad(_own(g, owned, True) if _mode.enabled else np.array(g), kept.grad)


def _deliver(totals: Gradients, owned: set[int], create_graph: bool) -> None:
    """Add the leaves' gradients to their .grad; each leaf gets an array of its own."""
    for leaf, g in totals.items():
        if isinstance(leaf, Tensor):       # (not a node no gradient went through)
            leaf.grad = _as_grad(_own(g, owned, create_graph) if leaf.grad is None else g,
                                 leaf.grad)


def _own(g: Any, owned: set[int], create_graph: bool) -> Any:
    """g to be stored as a .grad, copied if another .grad (or the caller) has it already,
    or if it is a view or read-only; 0-d gradients become 0-d arrays, not numpy scalars."""
    if create_graph:
        if not isinstance(g, Tensor):
            g = _make(np.array(g), None, False)
        elif id(g) in owned:
            g = Clone.apply(g) if g._requires_grad else _make(g._data.copy(), None, False)
    else:
        if isinstance(g, Tensor):
            g = g._data
        if type(g) is not np.ndarray or id(g) in owned or g.base is not None or \
                not g.flags.writeable:
            g = np.array(g)
    owned.add(id(g))
    return g


def _collect(inputs: Sequence[Tensor], totals: Gradients, allow_unused: bool
             ) -> tuple[Tensor | None, ...]:
    """The gradients of the wanted inputs, in their order, as Tensors."""
    results: list[Tensor | None] = []
    for i, t in enumerate(inputs):
        g = totals.get(t._ctx if t._ctx is not None else t)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i}{t._label()} (shape {t.shape}) was not used to compute "
                    "the outputs; pass allow_unused=True to get None for it")
            results.append(None)
        else:
            results.append(_as_grad(g, None))
    return tuple(results)


def _as_grad(g: Any, previous: Tensor | None) -> Tensor:
    """g as a Tensor, added to the gradient there was."""
    grad = g if isinstance(g, Tensor) else _make(np.asarray(g), None, False)
    return grad if previous is None else previous + grad


def _seed(root: Tensor, grad: Any, create_graph: bool) -> Any:
    """The gradient backward starts from: ones, or a copy of the caller's `grad`."""
    if grad is None:
        if root._data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implied only for a scalar output, this one has shape "
                f"{root.shape}{root._label()}; pass grad= of that shape (or call .sum() first)")
        ones = np.ones(root.shape, root.dtype)
        return _make(ones, None, False) if create_graph else ones
    g = grad if isinstance(grad, Tensor) else None
    values = np.asarray(g._data if g is not None else grad)
    if values.shape != root.shape:
        raise ValueError(
            f"backward: grad has shape {values.shape} but the output{root._label()} "
            f"has shape {root.shape}")
    if create_graph and g is not None and g._requires_grad:
        return Clone.apply(g) if g.dtype == root.dtype else g.astype(root.dtype)
    values = np.array(values, dtype=root.dtype)     # a copy: the caller keeps theirs
    return _make(values, None, False) if create_graph else values


def _sorted_nodes(roots: Sequence[Function], strict: bool = True) -> list[Function]:
    """Every node reachable from the roots, inputs before outputs (no recursion).

    A node freed by an earlier backward is an error when `strict`; otherwise
    the search goes on through the nodes and leaves its gradient went to.
    """
    order: list[Function] = []
    seen: set[Function] = set()
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        parents = root.parents
        stack = [(root, iter(parents if parents is not None else _freed(root, strict)))]
        while stack:
            node, inputs = stack[-1]
            for p in inputs:
                if p is not None and p._ctx is not None and p._ctx not in seen:
                    child = p._ctx
                    seen.add(child)
                    parents = child.parents
                    stack.append((child, iter(parents if parents is not None
                                              else _freed(child, strict))))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def _freed(node: Function, strict: bool) -> list[Tensor]:
    """In place of a freed node's parents (an error when `strict`): the leaves its gradient
    went to, and for the nodes it went to, stand-in tensors without values."""
    if strict:
        raise _freed_error(node)
    return [b if isinstance(b, Tensor) else _make(_NO_VALUES, b, True) for b in node.below]


_NO_VALUES = np.empty(0)


def _freed_error(node: Function) -> RuntimeError:
    return RuntimeError(f"backward through {node.op_name}: {node.released or _FREED}")


def _prune(order: list[Function], wanted: set[int]
           ) -> tuple[list[Function], set[int]]:
    """The nodes on paths to wanted inputs, and which of them must run backward.

    A node runs only if some wanted input lies below it; a wanted non-leaf
    input just receives its gradient. Running a freed node is an error; a
    freed node off the paths is passed by (what lay below it is known).
    """
    reaches: set[int] = set()
    run: set[int] = set()
    kept = []
    for node in order:                       # inputs before outputs
        key = id(node)
        parents = node.parents
        inputs = parents if parents is not None else _freed(node, False)
        below = any(p is not None and ((id(p._ctx) in reaches) if p._ctx is not None
                                       else (id(p) in wanted)) for p in inputs)
        if below:
            if parents is None:
                raise _freed_error(node)
            run.add(key)
        if below or key in wanted:
            reaches.add(key)
            kept.append(node)
    return kept, run


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
    """Gradients of `outputs` with respect to `inputs`, as a tuple of Tensors.

    Unlike `backward()`, nothing is accumulated into `.grad`. With
    `create_graph=True` the results are part of a graph themselves, which
    gives Hessian-vector products and gradient penalties.
    """
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
    if retain_graph is None:
        retain_graph = create_graph
    grads = run_backward(outputs, grad_outputs, retain_graph, create_graph,
                         inputs=inputs, allow_unused=allow_unused)
    assert grads is not None                # with inputs, run_backward returns their grads
    return grads

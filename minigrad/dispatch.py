"""Where ops meet Tensor's surface and numpy: registration, and numpy's dispatch protocols.

`register` makes a function a Tensor method or operator and what numpy calls for a
numpy function given a tensor; `Function` subclasses call it from their class header
(`class Exp(Function, method="exp", numpy=np.exp)`). `np.exp(t)` then reaches minigrad
through `Tensor.__array_ufunc__`, `np.sum(t)` through `Tensor.__array_function__`, both
installed here; a numpy function minigrad cannot differentiate raises rather than
silently dropping the gradient.
"""

from __future__ import annotations

import inspect
import reprlib
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

import numpy as np

from . import modes
from .engine import Function, Tensor, _make, as_array

__all__ = ["register", "UFUNCS", "FUNCTIONS"]

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


# ---------------------------------------------------------------- numpy's protocols

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


def _array_ufunc(self: Tensor, ufunc: np.ufunc, method: str, *inputs: Any,
                 **kwargs: Any) -> Any:
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


def _array_function(self: Tensor, func: Callable[..., Any], types: Any, args: tuple[Any, ...],
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


Tensor.__array_ufunc__ = _array_ufunc              # type: ignore[method-assign, assignment]
Tensor.__array_function__ = _array_function        # type: ignore[method-assign, assignment]


def _raw_nested(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (list, tuple)):
        return type(x)(_raw_nested(v) for v in x)
    if isinstance(x, dict):
        return {k: _raw_nested(v) for k, v in x.items()}
    return x


def _refuse_if_recording(name: str, args: Any, kwargs: Any) -> None:
    if not modes.grad_mode.enabled:
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


# ---------------------------------------------------------------- what apply needs besides

def named(apply: Callable[..., Tensor], cls: type[Function]) -> Callable[..., Tensor]:
    """`apply` with the op's name and docstring, and forward's parameters (without ctx), so
    that help(), IDEs and inspect show those rather than (*args, **kwargs)."""
    apply.__name__ = cls.op_name
    apply.__qualname__ = f"{cls.__qualname__}.apply"
    apply.__doc__ = cls.__doc__ or f"{cls.op_name} of tensors (and constants), recorded."
    parameters = list(inspect.signature(cls.forward).parameters.values())[1:]
    apply.__signature__ = inspect.Signature(     # type: ignore[attr-defined]
        [p.replace(annotation=p.empty) for p in parameters], return_annotation="Tensor")
    return apply


def call(fn: type[Function], *args: Any, **kwargs: Any) -> Any:
    """Run a primitive on arrays (plain numpy) or on Tensors (recorded): one formula for a
    backward that uses a primitive numpy has no function for, in either order."""
    for a in args:
        if isinstance(a, Tensor):
            return fn.apply(*args, **kwargs)
    ctx = object.__new__(fn)
    ctx.parents = (None,) * len(args)           # nothing needs a gradient
    ctx.needs_input_grad = (False,) * len(args)
    return fn.forward(ctx, *args, **kwargs)


def keyword_tensors_as_positions(fn: type[Function], args: tuple[Any, ...],
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


def annotated(error: Exception, fn: type[Function], arrays: list[Any]) -> Exception:
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

"""minigrad: a small graph-based reverse-mode automatic differentiation library on numpy."""

import typing as _typing

from . import functional, gradcheck, layers, models, nn, ops, optim, trainer, util
from .compile import TraceError, compile
from .creation import arange, full, ones, ones_like, rand, randn, tensor, zeros, zeros_like
from .dispatch import register
from .engine import Function, Tensor, grad
from .modes import (
    AnomalyError,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .ops import abs as abs  # (as itself: a re-export that stays out of __all__)
from .ops import (
    argmax,
    argmin,
    broadcast_to,
    clip,
    concatenate,
    cos,
    exp,
    expand_dims,
    flatten,
    linear,
    log,
    matmul,
    maximum,
    mean,
    minimum,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax_cross_entropy,
    sqrt,
    squeeze,
    stack,
    swapaxes,
    tanh,
    transpose,
    where,
)
from .ops import max as max
from .ops import min as min
from .ops import sum as sum
from .transforms import hessian, hvp, jacobian, jvp, vjp

__version__ = "0.1.0"

# minigrad.datasets (downloads: urllib, http, ssl) and minigrad.viz (subprocess) are loaded on
# first use, `mg.datasets` or `import minigrad.datasets` alike: most programs need neither.
_LAZY_MODULES = ("datasets", "viz", "onnx")

if _typing.TYPE_CHECKING:
    from . import datasets, onnx, viz
else:
    def __getattr__(name: str) -> object:
        if name in _LAZY_MODULES:
            import importlib

            return importlib.import_module(f"{__name__}.{name}")   # binds minigrad.<name>
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(_LAZY_MODULES))

# `from minigrad import *` leaves Python's own abs, max, min and sum alone: minigrad's are
# mg.abs, mg.max, mg.min and mg.sum (imported `as` themselves, so type checkers see them).
__all__ = [
    "AnomalyError", "detect_anomaly", "Function", "Tensor", "enable_grad", "grad",
    "is_grad_enabled", "no_grad",
    "set_grad_enabled", "tensor", "ops", "datasets", "functional", "gradcheck", "models", "nn",
    "optim", "viz", "onnx", "layers", "trainer", "util",
    "broadcast_to", "clip", "concatenate", "cos", "exp", "expand_dims", "flatten",
    "linear", "log", "matmul", "maximum", "mean", "minimum", "relu", "reshape",
    "sigmoid", "sin", "softmax_cross_entropy", "sqrt", "squeeze", "stack", "swapaxes",
    "tanh", "transpose", "where",
    "vjp", "jvp", "jacobian", "hessian", "hvp",
    "register", "argmax", "argmin", "zeros", "ones", "full", "zeros_like", "ones_like", "arange",
    "randn", "rand", "compile", "TraceError",
]

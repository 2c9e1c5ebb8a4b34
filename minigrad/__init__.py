"""minigrad: a small graph-based reverse-mode automatic differentiation library on numpy."""

from . import datasets, functional, gradcheck, models, nn, ops, optim, viz
from .engine import (
    AnomalyError,
    Function,
    Tensor,
    detect_anomaly,
    enable_grad,
    grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
    tensor,
)
from .func import hessian, hvp, jacobian, jvp, vjp
from .ops import (
    abs,
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
    max,
    maximum,
    mean,
    min,
    minimum,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax_cross_entropy,
    sqrt,
    squeeze,
    stack,
    sum,
    swapaxes,
    tanh,
    transpose,
    where,
)

__version__ = "0.1.0"

__all__ = [
    "AnomalyError", "detect_anomaly", "Function", "Tensor", "enable_grad", "grad",
    "is_grad_enabled", "no_grad",
    "set_grad_enabled", "tensor", "ops", "datasets", "functional", "gradcheck", "models", "nn",
    "optim", "viz",
    "abs", "broadcast_to", "clip", "concatenate", "cos", "exp", "expand_dims", "flatten",
    "linear", "log", "matmul", "max", "maximum", "mean", "min", "minimum", "relu", "reshape",
    "sigmoid", "sin", "softmax_cross_entropy", "sqrt", "squeeze", "stack", "sum", "swapaxes",
    "tanh", "transpose", "where",
    "vjp", "jvp", "jacobian", "hessian", "hvp",
]

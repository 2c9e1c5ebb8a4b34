"""When operations are recorded (grad mode, per thread) and checked (anomaly mode)."""

from __future__ import annotations

import functools
import linecache
import os
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

import numpy as np

__all__ = ["is_grad_enabled", "set_grad_enabled", "no_grad", "enable_grad",
           "detect_anomaly", "AnomalyError"]

F = TypeVar("F", bound=Callable[..., Any])


# ---------------------------------------------------------------- grad mode

class _GradMode(threading.local):
    enabled = True          # each thread starts with recording on
    retaining = True        # does the running backward pass keep the graph?


grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether operations are being recorded in this thread."""
    return grad_mode.enabled


class _GradModeSwitch:
    """Record or not inside a `with` block (or a decorated function), in this thread."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.previous: list[bool] = []

    def __enter__(self) -> None:
        self.previous.append(grad_mode.enabled)
        grad_mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        grad_mode.enabled = self.previous.pop()

    def __call__(self, func: F) -> F:
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradModeSwitch(mode):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeSwitch):
    """Do not record operations (inference, parameter updates)."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_GradModeSwitch):
    """Record operations, even inside `no_grad`."""

    def __init__(self) -> None:
        super().__init__(True)


class set_grad_enabled(_GradModeSwitch):
    """Turn recording on or off in this thread: at once when called, as PyTorch does,
    until the end of the `with` block when used as a context manager."""

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        self.previous.append(grad_mode.enabled)
        grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        pass                       # already switched by __init__

    def __call__(self, func: F) -> F:
        grad_mode.enabled = self.previous.pop()       # a decorator switches per call only
        return super().__call__(func)


# ---------------------------------------------------------------- anomaly mode

anomaly_depth = 0      # > 0 inside detect_anomaly() or while mg.compile traces: ops report
checking = 0          # > 0 inside detect_anomaly(): every op checks for NaN and inf
tracer: Any = None     # the trace being recorded by mg.compile (compile.py), if any


class AnomalyError(FloatingPointError):
    """An op produced NaN or infinity (raised only inside `detect_anomaly()`)."""


class detect_anomaly:
    """Raise at the first op whose forward or backward produces NaN or inf.

    The error names the op and the line of your code that created it. Ops
    record where they were created only while this is active, so it costs
    nothing when off; it applies to every thread while active.
    """

    def __enter__(self) -> None:
        global anomaly_depth, checking
        anomaly_depth += 1
        checking += 1

    def __exit__(self, *exc: object) -> None:
        global anomaly_depth, checking
        anomaly_depth -= 1
        checking -= 1

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_line() -> str:
    """Where the calling user code is: the first frame outside minigrad."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "an unknown place"
    code = frame.f_code
    text = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return f"{code.co_filename}:{frame.f_lineno} (in {code.co_name}): {text}"


def _bad_values(x: Any) -> str | None:
    """'NaN', 'inf', '-inf' or None, for a float array (or Tensor) that has them."""
    data = x if isinstance(x, np.ndarray) else getattr(x, "data", x)    # a Tensor's array
    if not isinstance(data, np.ndarray) or data.dtype.kind not in "fc":
        return None
    if np.isfinite(data).all():
        return None
    if np.isnan(data).any():
        return "NaN"
    return "inf" if (data == np.inf).any() else "-inf"


def observe(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], arrays: list[Any],
            out: np.ndarray, recorded: bool) -> None:
    """An op ran while someone watches: anomaly mode checks it, a trace records it."""
    if tracer is not None:
        tracer.record(fn, args, kwargs, out, recorded)
    if checking:
        check_forward(fn, arrays, out)


def leaving(what: str) -> None:
    """A tensor's values leave the graph (item(), float(), .data, numpy conversion): while
    mg.compile traces, the replay could not follow them, so that is an error."""
    if tracer is not None:
        tracer.refuse(f"{what} takes a tensor's values out of the graph")


def check_forward(fn: Any, arrays: list[Any], out: np.ndarray) -> None:
    """Raise if `fn` made NaN or inf from finite inputs (anomaly mode)."""
    bad = _bad_values(out)
    if bad is None or any(_bad_values(a) for a in arrays):
        return          # produced elsewhere: only the op that creates it is to blame
    shapes = ", ".join(str(np.shape(a)) for a in arrays)
    raise AnomalyError(f"{fn.op_name} produced {bad} in its output (shape {out.shape}; "
                       f"inputs {shapes}), at {user_line()}")


def check_backward(node: Any, g: Any, input_grads: tuple[Any, ...]) -> None:
    """Raise if a node's backward made NaN or inf from a finite gradient (anomaly mode)."""
    if not checking or _bad_values(g):
        return
    for i, pg in enumerate(input_grads):
        bad = None if pg is None else _bad_values(pg)
        if bad:
            raise AnomalyError(
                f"the backward of {node.op_name} produced {bad} in the gradient of its "
                f"input {i} (shape {np.shape(pg)}); "
                f"that {node.op_name} was created at "
                f"{node.__dict__.get('created_at', 'an unknown place')}")

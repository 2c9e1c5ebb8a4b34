"""Argument checks for constructors: a clear TypeError naming the argument, not a numpy crash."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def _shown(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def check_int(value: Any, name: str, where: str, minimum: int | None = 1) -> int:
    """`value` as an int; it must be an integer (not a float, str or bool) and >= `minimum`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral,)):
        raise TypeError(f"{where}: {name} must be an integer, got {_shown(value)}")
    number = int(value)
    if minimum is not None and number < minimum:
        raise ValueError(f"{where}: {name} must be at least {minimum}, got {number}")
    return number


def check_float(value: Any, name: str, where: str) -> float:
    """`value` as a float; it must be a real number (int, float, numpy scalar), not str or bool."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {_shown(value)}")
    return float(value)


def check_bool(value: Any, name: str, where: str) -> bool:
    """`value` as a bool; it must be True or False (a string such as "False" is refused)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: {name} must be True or False, got {_shown(value)}")
    return bool(value)


def check_str(value: Any, name: str, where: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{where}: {name} must be a string, got {_shown(value)}")
    return value


def check_rng(value: Any, name: str, where: str) -> Any:
    """The one place an `rng` argument becomes random numbers: a numpy Generator (or
    RandomState) as it is, an integer seed as a new Generator, None as None (for the
    caller's default: numpy's global state where the book uses it)."""
    if value is None or isinstance(value, (np.random.Generator, np.random.RandomState)):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return np.random.default_rng(int(value))
    raise TypeError(f"{where}: {name} must be a numpy Generator, an integer seed or None, "
                    f"got {_shown(value)}")


REDUCTIONS = ("mean", "sum", "none")


def check_reduction(value: Any, where: str) -> str:
    """A loss's `reduction`, as PyTorch names them: "mean", "sum" or "none"."""
    if value not in REDUCTIONS:
        raise ValueError(f"{where}: reduction must be one of {REDUCTIONS}, got {value!r}")
    return str(value)

"""Version counters: in-place writes that a pending backward must not miss.

A node keeps the arrays its backward needs without copying them, so a write to one of
them between the forward and the backward would silently change the gradient. Every
in-place write made through minigrad (`t[i] = v`, `t += x`, `t.data = ...`, optimizers,
`load_state_dict`, the book's `params[key] -= ...`) calls `bump_version` on the array
written; the count is kept for the array that owns the memory, so views and tensors
sharing memory share it. A recorded node notes the write clock (`clock()`), and the
backward looks at a node's saved arrays only if the clock has moved since: a graph
nobody wrote into pays one comparison per node.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from . import modes

if TYPE_CHECKING:
    from .engine import Function, Tensor

__all__ = ["bump_version", "version", "check_versions", "release_if_stale"]

writes = 0                                   # the write clock: writes made so far
_written: dict[int, list[Any]] = {}          # id(owner array) -> [version, stamps, weakref]
_STAMPS_KEPT = 64                            # recent write times remembered per array


def _owner(array: np.ndarray) -> np.ndarray:
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
    global writes
    if modes.tracer is not None:         # mg.compile's replay would not make the write
        modes.tracer.refuse("an in-place write to a tensor")
    writes += 1
    owner = array if array.base is None else _owner(array)
    key = id(owner)
    record = _written.get(key)
    if record is None:
        def forget(_: Any, key: int = key) -> None:
            _written.pop(key, None)
        record = _written[key] = [0, [], weakref.ref(owner, forget)]
    record[0] += 1
    stamps = record[1]
    stamps.append(writes)
    if len(stamps) > _STAMPS_KEPT:
        del stamps[:_STAMPS_KEPT // 2]


def version(array: np.ndarray) -> int:
    """How many writes minigrad has seen to the memory of `array`."""
    record = _written.get(id(_owner(array)))
    return 0 if record is None else int(record[0])


def _written_since(node: Function) -> list[Any] | None:
    """The write record of an array the node saved that was written after its forward."""
    since = node._clock
    for value in getattr(node, "saved", None) or ():
        if isinstance(value, np.ndarray):
            record = _written.get(id(_owner(value)))
            if record is not None and record[1][-1] > since:
                return record
    return None


def check_versions(node: Function) -> None:
    """Raise if an array the node saved was written through minigrad after its forward."""
    record = _written_since(node)
    if record is None:
        return
    count, stamps = record[0], record[1]
    later = sum(1 for stamp in stamps if stamp > node._clock)
    known = later < len(stamps) or count == len(stamps)   # else older stamps were dropped
    raise RuntimeError(
        f"{node.op_name}: an input it saved was modified in place after the forward "
        f"(version {'' if known else '≤ '}{count - later} → {count}); its backward "
        "needs the values it had. Change a clone instead (x.clone()), or call "
        "backward() before the change (e.g. before optimizer.step())")


def release_if_stale(t: Tensor, reason: str) -> bool:
    """Free the graph behind t if no backward through it can succeed any more (an array
    one of its nodes saved has been written since); a backward then raises `reason`.

    Returns True when t has no graph left to keep (released now or before, or a leaf).
    Only t's own node lets go (of its inputs too), so what it shared with other graphs stays.
    """
    from .engine import nodes_below

    node = t._ctx
    if node is None or node.arguments is None:
        return True
    if not any(n._clock != writes and n.arguments is not None and _written_since(n) is not None
               for n in nodes_below([node])):
        return False
    node.__dict__.clear()                       # what its forward kept on ctx
    node.saved = node.arguments = None          # type: ignore[assignment]
    node.parents = ()                           # and its edges: the graph below can go
    node.released = reason
    return True

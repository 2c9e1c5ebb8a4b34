"""Python's cycle collector and big graphs.

Recording a big graph makes many objects that live until the backward, and the
collector's young collections would scan them over and over, so the time per node
would grow with the graph. The graph makes no reference cycles, so once `RELAX_AFTER`
nodes have been recorded since the last backward, the engine calls `relax`: young
collections then run every `RELAXED` allocations instead of every few hundred, until
the next backward (`restore`) or until the node that relaxed them is gone (a graph
dropped without a backward). The collector stays on: cyclic garbage, a dropped graph
included, is still collected.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable

__all__ = ["relax", "restore", "RELAX_AFTER", "RELAXED"]

RELAX_AFTER = 256          # nodes recorded since the last backward before relaxing
RELAXED = 10_000           # allocations between young collections while relaxed
_thresholds: tuple[int, ...] | None = None   # the collector's own, while relaxed


def relax(node: object, when_gone: Callable[[], None]) -> None:
    """Make young collections rare until `restore()`; `when_gone` runs if `node` goes first
    (it should call restore)."""
    global _thresholds
    current = gc.get_threshold()
    if _thresholds is None and gc.isenabled() and 0 < current[0] < RELAXED:
        _thresholds = current
        gc.set_threshold(RELAXED, *current[1:])
        weakref.finalize(node, when_gone)


def restore() -> None:
    """The collector's own thresholds again."""
    global _thresholds
    if _thresholds is not None:
        gc.set_threshold(*_thresholds)
        _thresholds = None

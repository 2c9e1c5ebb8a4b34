"""Where a backward pass starts and where its gradients go.

`seed` is the gradient the pass starts from; `deliver` adds the leaves' gradients to
their `.grad`, each an array of its own (`own`), and `retain` keeps one for a non-leaf
tensor that asked (`retain_grad()`); for `grad(outputs, inputs)`, `prune` picks the nodes
that lead to the inputs and `collect` returns their gradients. The pass itself is in
engine.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import modes
from .engine import Function, Gradients, Tensor, _make

__all__ = ["seed", "deliver", "retain", "own", "collect", "prune"]


def retain(node: Function, g: Any, owned: set[int]) -> None:
    """Keep g as .grad of the non-leaf tensor that asked for it (retain_grad)."""
    kept = node.retained_by()
    if kept is not None:          # first order: a copy, as g flows on
        g = own(g, owned, True) if modes.grad_mode.enabled else np.array(g)
        kept.grad = as_grad(g, kept.grad)


def deliver(totals: Gradients, owned: set[int], create_graph: bool) -> None:
    """Add the leaves' gradients to their .grad; each leaf gets an array of its own."""
    for leaf, g in totals.items():
        if isinstance(leaf, Tensor):       # (not a node no gradient went through)
            leaf.grad = as_grad(own(g, owned, create_graph) if leaf.grad is None else g,
                                 leaf.grad)


def own(g: Any, owned: set[int], create_graph: bool) -> Any:
    """g to be stored as a .grad, copied if another .grad (or the caller) has it already,
    or if it is a view or read-only; 0-d gradients become 0-d arrays, not numpy scalars."""
    if create_graph:
        if not isinstance(g, Tensor):
            g = _make(np.array(g), None, False)
        elif id(g) in owned:
            g = g.clone() if g._requires_grad else _make(g._data.copy(), None, False)
    else:
        if isinstance(g, Tensor):
            g = g._data
        if type(g) is not np.ndarray or id(g) in owned or g.base is not None or \
                not g.flags.writeable:
            g = np.array(g)
    owned.add(id(g))
    return g


def collect(inputs: Sequence[Tensor], totals: Gradients, allow_unused: bool
             ) -> tuple[Tensor | None, ...]:
    """The gradients of the wanted inputs, in their order, as Tensors."""
    results: list[Tensor | None] = []
    for i, t in enumerate(inputs):
        g = totals.get(t._ctx or t)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i}{t._label()} (shape {t.shape}) was not used to compute "
                    "the outputs; pass allow_unused=True to get None for it")
            results.append(None)
        else:
            results.append(as_grad(g, None))
    return tuple(results)


def as_grad(g: Any, previous: Tensor | None) -> Tensor:
    """g as a Tensor, added to the gradient there was."""
    grad = g if isinstance(g, Tensor) else _make(np.asarray(g), None, False)
    return grad if previous is None else previous + grad


def seed(root: Tensor, grad: Any, create_graph: bool) -> Any:
    """The gradient backward starts from: ones, or a copy of the caller's `grad`."""
    if not isinstance(root, Tensor):
        raise TypeError(f"backward: expected a Tensor output, got {type(root).__name__}")
    if not root._requires_grad:
        raise RuntimeError(
            f"backward: the output{root._label()} does not require grad: no input "
            "it depends on has requires_grad=True (or it was computed under no_grad)")
    if grad is None:
        if root._data.size != 1:
            raise RuntimeError(
                f"backward: grad can be implied only for a scalar output, this one has shape "
                f"{root.shape}{root._label()}; pass grad= of that shape (or call .sum() first)")
        ones = np.empty(root._data.shape, root._data.dtype)
        ones.fill(1)
        return _make(ones, None, False) if create_graph else ones
    g = grad if isinstance(grad, Tensor) else None
    values = np.asarray(g._data if g is not None else grad)
    if values.shape != root.shape:
        raise ValueError(
            f"backward: grad has shape {values.shape} but the output{root._label()} "
            f"has shape {root.shape}")
    if create_graph and g is not None and g._requires_grad:
        return g.clone() if g.dtype == root.dtype else g.astype(root.dtype)
    values = np.array(values, dtype=root.dtype)     # a copy: the caller keeps theirs
    return _make(values, None, False) if create_graph else values


def prune(order: list[Function], wanted: set[int]) -> tuple[list[Function], set[int]]:
    """The nodes on paths to wanted inputs, and which of them must run backward.

    A node runs only if some wanted input lies below it; a wanted non-leaf input just
    receives its gradient. Nodes off those paths (freed ones too) are passed by.
    """
    reaches = set(wanted)                    # ids of wanted inputs and nodes leading to one
    run: set[int] = set()
    kept = []
    for node in order:                       # inputs before outputs
        key = id(node)
        if any(id(edge) in reaches for edge in node.parents if edge is not None):
            run.add(key)
            reaches.add(key)
            kept.append(node)
        elif key in wanted:
            kept.append(node)
    return kept, run

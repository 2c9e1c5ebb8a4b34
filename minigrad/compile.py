"""`mg.compile`: trace a function once, then replay its ops without rebuilding a graph.

    step = mg.compile(model.loss)      # or @mg.compile
    loss = step(x, t)                  # traces (runs eagerly, recording every op)
    loss = step(x, t)                  # replays: each op's forward, in the traced order
    loss.backward()                    # one node: the ops' backwards, in reverse

The replay calls the very forward and backward functions the eager engine calls, so its
values and gradients are the eager ones. It skips what the graph costs per op: Tensor
objects, argument sorting, the topological sort; a trace of up to WRITE_OUT_LIMIT ops is
written out as straight-line Python, which skips the loop over the ops too. A call traces
again when its arrays differ in shape, dtype or requires_grad, when another argument
differs, when grad mode or a module's train()/eval() changed, or when a parameter it read
was replaced; the replay reads the current arrays of the parameters, so in-place updates
are seen.

What the replay could not follow is an error while tracing (`TraceError`, naming your
line): values leaving the graph (`.item()`, `float()`, `bool()`, `.data`, numpy
conversion), in-place writes to tensors, random numbers drawn with `np.random` outside
minigrad's ops (dropout draws a fresh mask at every replay), and boolean-mask indexing
(its result's shape depends on the values). docs/compile.md says more.
"""

from __future__ import annotations

import builtins
import functools
import keyword
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import numpy as np

from . import buffers, modes, ops, versions
from .engine import Function, Tensor, _make, _unbroadcast, grad

__all__ = ["compile", "TraceError", "Compiled"]

F = TypeVar("F", bound=Callable[..., Any])


class TraceError(RuntimeError):
    """What a compiled function did while tracing cannot be replayed."""


class _Ref:
    """Where a traced value lives in the replay's slots."""

    __slots__ = ("slot",)

    def __init__(self, slot: int) -> None:
        self.slot = slot


class _Node:
    """One traced op: its class, argument templates and what its backward sends where."""

    __slots__ = ("cls", "args", "kwargs", "needs", "slot", "shape", "requires", "grad_to")

    def __init__(self, cls: type[Function], args: list[Any], kwargs: dict[str, Any],
                 needs: list[bool], slot: int, out: np.ndarray, requires: bool) -> None:
        self.cls, self.args, self.kwargs, self.needs = cls, args, kwargs, needs
        self.slot, self.shape, self.requires = slot, out.shape, requires
        self.grad_to: list[tuple[int, int, tuple[int, ...], np.dtype]] = []


def _has_ref(value: Any) -> bool:
    if isinstance(value, _Ref):
        return True
    if isinstance(value, (tuple, list)):
        return any(_has_ref(v) for v in value)
    return False


def _slots(value: Any) -> list[int]:
    """The slots a template reads."""
    if isinstance(value, _Ref):
        return [value.slot]
    if isinstance(value, (tuple, list)):
        return [s for v in value for s in _slots(v)]
    return []


def _has_bool_ref(value: Any, dtypes: list[np.dtype]) -> bool:
    if isinstance(value, _Ref):
        return dtypes[value.slot].kind == "b"
    if isinstance(value, (tuple, list)):
        return any(_has_bool_ref(v, dtypes) for v in value)
    return False


def _resolve(value: Any, values: list[Any]) -> Any:
    if isinstance(value, _Ref):
        return values[value.slot]
    if isinstance(value, (tuple, list)):
        return type(value)(_resolve(v, values) for v in value)
    return value


def _resolve_keywords(kwargs: dict[str, Any], values: list[Any]) -> dict[str, Any]:
    return {k: _resolve(v, values) for k, v in kwargs.items()}


def _rng_key() -> Any:
    state: Any = np.random.get_state()      # (a draw moves pos; a refill, the keys)
    return (state[2], state[1][:8].tobytes())


class _Trace:
    """The ops one call ran, recorded as it ran eagerly."""

    def __init__(self, name: str, inputs: list[Tensor]) -> None:
        self.name = name
        self.thread = threading.get_ident()
        self.known: dict[int, int] = {}       # id(array) -> slot
        self.kept: list[Any] = []             # the traced arrays, alive while tracing
        self.inputs: list[int] = []           # slot of each array argument
        self.captured: list[tuple[int, Tensor]] = []     # (slot, tensor read from outside)
        self.outside: dict[int, int] = {}                 # id(tensor read from outside) -> slot
        self.requires: list[bool] = []        # per slot: does its value require grad?
        self.dtypes: list[np.dtype] = []
        self.shapes: list[tuple[int, ...]] = []
        self.nodes: list[_Node] = []
        self.rng = _rng_key()
        for t in inputs:
            self.inputs.append(self._new_slot(t._data, t._requires_grad))

    def _new_slot(self, array: np.ndarray, requires: bool) -> int:
        slot = len(self.requires)
        self.known[id(array)] = slot
        self.kept.append(array)
        self.requires.append(requires)
        self.dtypes.append(array.dtype)
        self.shapes.append(array.shape)
        return slot

    def refuse(self, what: str) -> None:
        if threading.get_ident() != self.thread:
            return
        raise TraceError(
            f"mg.compile({self.name}): {what}, at {modes.user_line()}; a replay could not "
            "follow that. Keep the computation in tensor ops (mg.where instead of `if`, "
            "mg.rand/dropout for random numbers), or call this function without mg.compile")

    def check_random(self) -> None:
        """Refuse if numpy's global random state moved since the last op that draws (the
        numbers would be the same at every replay). Checked before such ops and at the end."""
        if threading.get_ident() == self.thread and self.rng != _rng_key():
            self.refuse("random numbers were drawn with numpy's global random state (a "
                        "replay would use the same ones again)")

    def _derived(self, array: np.ndarray) -> bool:
        """Is `array` a view of a traced (non-captured) value?"""
        base = array.base
        while isinstance(base, np.ndarray):
            slot = self.known.get(id(base))
            if slot is not None:
                return not any(slot == s for s, _ in self.captured)
            base = base.base
        return False

    def _template(self, value: Any) -> Any:
        if isinstance(value, Tensor):
            slot = self.outside.get(id(value))
            if slot is not None:              # a tensor from outside, read before
                return _Ref(slot)
            slot = self.known.get(id(value._data))
            if slot is None or slot in self.outside.values():
                # read from outside: a parameter, a constant; each tensor its own slot,
                # even where two share an array (W and W.detach() need not both be leaves)
                slot = self._new_slot(value._data, value._requires_grad)
                self.captured.append((slot, value))
                self.outside[id(value)] = slot
            return _Ref(slot)
        if isinstance(value, np.ndarray):
            slot = self.known.get(id(value))
            if slot is None:
                if self._derived(value):
                    self.refuse("an array computed with numpy from a traced value (a "
                                "view of it) is passed to an op")
                return value                  # an array from outside: a constant
            return _Ref(slot)
        if isinstance(value, (tuple, list)):
            items = [self._template(v) for v in value]
            return type(value)(items) if any(_has_ref(v) for v in items) else value
        return value

    def record(self, cls: type[Function], args: tuple[Any, ...], kwargs: dict[str, Any],
               out: np.ndarray, recorded: bool) -> None:
        if threading.get_ident() != self.thread:
            return
        if getattr(cls, "random", False):
            self.rng = _rng_key()             # its draws happen again at every replay
        templates = [self._template(a) for a in args]
        if cls in (ops.GetItem, ops.ScatterAdd) and _has_bool_ref(templates[1:], self.dtypes):
            self.refuse("indexing with a boolean mask computed in the function (the "
                        "result's shape depends on the values)")
        kw = {k: self._template(v) for k, v in kwargs.items()}
        needs = [isinstance(a, Tensor) and a._requires_grad and recorded for a in args]
        node = _Node(cls, templates, kw, needs, self._new_slot(out, recorded), out, recorded)
        for position, (template, need) in enumerate(zip(templates, needs)):
            if need and isinstance(template, _Ref):
                s = template.slot
                node.grad_to.append((position, s, self.shapes[s], self.dtypes[s]))
        self.nodes.append(node)


class _Replay:
    """What one replayed call keeps for its backward."""

    __slots__ = ("plan", "inputs", "outputs", "ctxs")

    def __init__(self, plan: _Plan, inputs: list[Any], outputs: tuple[Any, ...],
                 ctxs: Sequence[Any]) -> None:
        self.plan, self.inputs, self.outputs, self.ctxs = plan, inputs, outputs, ctxs


class _Plan:
    """A finished trace, ready to replay (its ops written out as Python, if not too many)."""

    def __init__(self, trace: _Trace, outputs: list[int], structure: Any,
                 holders: list[tuple[Any, Any, Tensor]], pool: buffers.Pool) -> None:
        self.name = trace.name
        self.nodes = trace.nodes
        self.inputs = trace.inputs
        self.captured = trace.captured
        self.requires = trace.requires
        self.outputs = outputs
        self.structure = structure          # "one", "tuple" or "list"
        self.holders = holders
        self.leaves = [s for s in trace.inputs if trace.requires[s]] + \
            [s for s, t in trace.captured if t._requires_grad]
        # where a call finds the leaves' tensors: among its arguments, or captured
        self.leaf_arguments = [i for i, s in enumerate(trace.inputs) if trace.requires[s]]
        self.leaf_captured = [t for _, t in trace.captured if t._requires_grad]
        # After each node, the values nothing later reads (what its ctx saved it keeps):
        # let go of them, as eager code drops its last reference.
        last: dict[int, int] = {}
        for i, node in enumerate(self.nodes):
            for slot in _slots(node.args) + _slots(list(node.kwargs.values())):
                last[slot] = i
        kept = set(outputs) | set(trace.inputs)
        self.done: list[list[int]] = [[] for _ in self.nodes]
        for i, node in enumerate(self.nodes):
            last.setdefault(node.slot, i)       # read by nothing: free at once
        for slot, i in last.items():
            if slot not in kept and not any(slot == s for s, _ in trace.captured):
                self.done[i].append(slot)
        self.requiring = [node for node in self.nodes if node.requires]
        # Whether replays keep the contexts for a backward: grad mode is part of the key.
        self.keep = modes.grad_mode.enabled and any(trace.requires[s] for s in outputs)
        # The compiled function's large arrays, kept between calls, for steps that will be
        # differentiated (a forward alone frees its arrays as it goes: it keeps nothing);
        # the kinds of arrays its last call took (none known before its first backward).
        self.pool = pool
        self.kinds: set[tuple[tuple[int, ...], str]] = set()
        self.written = _write_out(self) if len(self.nodes) <= WRITE_OUT_LIMIT else None

    def stale(self) -> bool:
        """Has a parameter it read been replaced (model.W1 = ...) since the trace?"""
        for container, key, tensor in self.holders:
            current = container.get(key) if isinstance(container, dict) else \
                getattr(container, key, None)
            if current is not tensor:
                return True
        return False

    def forward(self, arrays: list[np.ndarray]) -> _Replay:
        captured = [tensor._data for _, tensor in self.captured]
        state = buffers.state
        previous = state.pool
        self.pool.begin(self.kinds if self.keep else set())    # (no_grad: nothing kept)
        if self.keep:                            # large arrays: kept ones
            state.pool = self.pool
        try:
            if self.written is not None:
                outputs, ctxs = self.written[0](*arrays, *captured)
            else:
                outputs, ctxs = self._run_forward(arrays, captured)
        finally:
            state.pool = previous
        return _Replay(self, arrays, outputs, ctxs)

    def backward(self, replay: _Replay, seeds: list[np.ndarray], retain: bool) -> list[Any]:
        state = buffers.state
        previous, state.pool = state.pool, self.pool
        try:
            if self.written is not None:
                grads: list[Any] = self.written[1](replay.ctxs, seeds, retain)
                return grads
            return self._run_backward(replay.ctxs, seeds, retain)
        finally:
            state.pool = previous
            self.kinds = set(self.pool.taken)   # what its next call may take again

    def _run_forward(self, arrays: list[np.ndarray], captured: list[np.ndarray]
                     ) -> tuple[tuple[Any, ...], list[Any]]:
        """The forward as a loop over the nodes, for plans too long to write out."""
        values: list[Any] = [None] * len(self.requires)
        for slot, array in zip(self.inputs + [s for s, _ in self.captured], arrays + captured):
            values[slot] = array
        ctxs: list[Any] = []
        new = object.__new__
        for i, (node, done) in enumerate(zip(self.nodes, self.done)):
            ctx = new(node.cls)
            ctx.needs_input_grad = node.needs
            args = [values[a.slot] if type(a) is _Ref else _resolve(a, values)
                    for a in node.args]
            out = node.cls.forward(ctx, *args, **_resolve_keywords(node.kwargs, values)) \
                if node.kwargs else node.cls.forward(ctx, *args)
            if type(out) is not np.ndarray or out.shape != node.shape:
                out = _checked(self.name, self.nodes, i, out)
            values[node.slot] = out
            for slot in done:
                values[slot] = None
            if self.keep and node.requires:
                ctxs.append(ctx)
        return tuple(values[s] for s in self.outputs), ctxs

    def _run_backward(self, ctxs: Sequence[Any], seeds: list[np.ndarray], retain: bool
                      ) -> list[Any]:
        """The backward as a loop over the nodes, outputs first."""
        grads: dict[int, Any] = {}
        for slot, g in zip(self.outputs, seeds):
            previous = grads.get(slot)
            grads[slot] = g if previous is None else previous + g
        for node, ctx in zip(reversed(self.requiring), reversed(ctxs)):
            g = grads.pop(node.slot, None)
            if g is None:
                continue
            input_grads = node.cls.backward(ctx, g)
            if not retain:                     # what it saved can go, as eager frees it
                ctx.saved = None
            if type(input_grads) is not tuple or len(input_grads) != len(node.args):
                input_grads = _spread(input_grads, len(node.args), ctx)
            for position, slot, shape, dtype in node.grad_to:
                pg = input_grads[position]
                if pg is None:
                    continue
                pg = _conform(pg, shape, dtype, ctx)
                previous = grads.get(slot)
                grads[slot] = pg if previous is None else previous + pg
        return [grads.get(slot) for slot in self.leaves]

    def eager(self, leaves: tuple[Tensor, ...], replay: _Replay) -> list[Tensor]:
        """The traced ops applied again, recorded: for a backward that records itself."""
        tensors: list[Any] = [None] * len(self.requires)
        for slot, array in zip(self.inputs, replay.inputs):
            tensors[slot] = array
        for slot, leaf in zip(self.leaves, leaves):
            tensors[slot] = leaf
        for slot in self.inputs:
            if not isinstance(tensors[slot], Tensor):
                tensors[slot] = Tensor(tensors[slot])
        for slot, tensor in self.captured:
            if not isinstance(tensors[slot], Tensor):
                tensors[slot] = tensor
        for node in self.nodes:
            args = _resolve(node.args, tensors)
            kwargs = _resolve_keywords(node.kwargs, tensors)
            if node.requires:
                tensors[node.slot] = node.cls.apply(*args, **kwargs)
            else:
                with modes.no_grad():
                    tensors[node.slot] = node.cls.apply(*args, **kwargs)
        return [tensors[s] for s in self.outputs]


def _checked(name: str, nodes: list[_Node], i: int, out: Any) -> np.ndarray:
    """Node i's output as an array, of the shape it had when traced."""
    array: np.ndarray = np.asarray(out)
    node = nodes[i]
    if array.shape != node.shape:
        raise TraceError(f"mg.compile({name}): {node.cls.op_name} gave shape "
                         f"{array.shape} in a replay, {node.shape} when traced: its "
                         "shape depends on the values, which a replay cannot follow")
    return array


def _spread(r: Any, inputs: int, ctx: Function) -> tuple[Any, ...]:
    """A backward's result as one gradient (or None) per input: a lone gradient is the
    first input's, missing ones are None, and one for an input the op lacks is an error."""
    if type(r) is not tuple:
        r = (r,)
    if any(g is not None for g in r[inputs:]):
        raise ValueError(f"the backward of {ctx.op_name} returned {len(r)} gradients for "
                         f"{inputs} inputs")
    return (*r[:inputs], *(None,) * (inputs - len(r)))


def _conform(pg: Any, shape: tuple[int, ...], dtype: np.dtype, ctx: Function) -> Any:
    """A gradient as its input's array: summed over broadcast axes, in the input's dtype."""
    if type(pg) is not np.ndarray:
        pg = np.asarray(pg, dtype=dtype)
    if pg.shape != shape:
        pg = _unbroadcast(pg, shape, ctx)
    return pg if pg.dtype == dtype else pg.astype(dtype)


WRITE_OUT_LIMIT = 500    # plans of at most this many nodes are written out as Python


def _write_out(plan: _Plan) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The plan as two straight-line Python functions, its forward and its backward. Each
    line calls an op's own forward or backward, as eager does; what a loop over the nodes
    would look up at every call is written in: `v3` holds slot 3's value, `g3` its gradient,
    `c2` node 2's ctx, `k7` a constant. Python compiles this at about 0.25 ms a node, so
    plans longer than WRITE_OUT_LIMIT nodes replay by the loop instead."""
    names: dict[str, Any] = {"new": object.__new__, "ndarray": np.ndarray,
                             "conform": _conform, "spread": _spread,
                             "checked": functools.partial(_checked, plan.name, plan.nodes)}

    def name(value: Any) -> str:
        key = f"k{len(names)}"
        names[key] = value
        return key

    def expr(template: Any) -> str:
        if isinstance(template, _Ref):
            return f"v{template.slot}"
        if isinstance(template, (tuple, list)) and _has_ref(template):
            items = "".join(f"{expr(v)}, " for v in template)
            if type(template) is tuple:
                return f"({items})"
            return f"[{items}]" if type(template) is list else f"{name(type(template))}([{items}])"
        return name(template)

    forward: list[str] = []
    for i, (node, done) in enumerate(zip(plan.nodes, plan.done)):
        args = [expr(a) for a in node.args] + [
            f"{k}={expr(v)}" if k.isascii() and k.isidentifier() and not keyword.iskeyword(k)
            else
            f"**{{{k!r}: {expr(v)}}}"
            for k, v in node.kwargs.items()]
        out = f"v{node.slot}"
        c = f"c{i}" if plan.keep and node.requires else "c"     # kept for the backward, or not
        forward += [f"{c} = new({name(node.cls)}); {c}.needs_input_grad = {name(node.needs)}",
                    f"{out} = {name(node.cls.forward)}({', '.join([c, *args])})",
                    f"if type({out}) is not ndarray or {out}.shape != {name(node.shape)}: "
                    f"{out} = checked({i}, {out})"]
        if done:
            forward.append(" = ".join(f"v{slot}" for slot in done) + " = None")
    kept = "".join(f"c{i}, " for i, node in enumerate(plan.nodes) if plan.keep and node.requires)
    forward.append(f"return ({''.join(f'v{s}, ' for s in plan.outputs)}), ({kept})")
    back = _write_backward(plan, kept, name) if plan.keep else ["pass"]   # (no backward)
    inputs = ", ".join(f"v{s}" for s in [*plan.inputs, *[s for s, _ in plan.captured]])
    source = "\n".join([f"def forward({inputs}):", *("    " + x for x in forward),
                        "def backward(ctxs, seeds, retain):", *("    " + x for x in back)])
    exec(builtins.compile(source, f"<mg.compile({plan.name})>", "exec"), names)
    return names["forward"], names["backward"]


def _write_backward(plan: _Plan, kept: str, name: Callable[[Any], str]) -> list[str]:
    """The lines of the written-out backward: each node's backward, outputs first."""
    flowing = {*plan.outputs, *plan.leaves} | {s for n in plan.requiring
                                                for s in (n.slot, *[t for _, t, _, _ in n.grad_to])}
    back = [f"({kept}) = ctxs"] if kept else []
    back.append(" = ".join(f"g{s}" for s in sorted(flowing)) + " = None")
    back += [f"g{s} = seeds[{j}] if g{s} is None else g{s} + seeds[{j}]"
             for j, s in enumerate(plan.outputs)]
    reached = set(plan.outputs)            # slots a gradient may have reached already
    for i, node in reversed(list(enumerate(plan.nodes))):
        if not node.requires:
            continue
        g, c, n = f"g{node.slot}", f"c{i}", len(node.args)
        each = f"({''.join(f'p{k}, ' for k in range(n))})"
        lone = "; ".join(["p0 = r", *(f"p{k} = None" for k in range(1, n))])
        back += [f"if {g} is not None:",
                 f"    r = {name(node.cls.backward)}({c}, {g}); {g} = None",
                 f"    if not retain: {c}.saved = None",
                 f"    if type(r) is not tuple: {lone}",      # one gradient: the first input's
                 f"    elif len(r) == {n}: {each} = r",
                 f"    else: {each} = spread(r, {n}, {c})"]
        for position, slot, shape, dtype in node.grad_to:
            to, S, D, pg = f"g{slot}", name(shape), name(dtype), f"p{position}"
            back += [f"    if {pg} is not None:",
                     f"        if type({pg}) is not ndarray or {pg}.shape != {S} or "
                     f"{pg}.dtype is not {D}: {pg} = conform({pg}, {S}, {D}, {c})",
                     f"        {to} = {pg} if {to} is None else {to} + {pg}" if slot in reached
                     else f"        {to} = {pg}"]
            reached.add(slot)
    back.append(f"return [{', '.join(f'g{s}' for s in plan.leaves)}]")
    return back


class Compiled(Function):
    """The node a compiled call leaves in the graph: its inputs are the arguments and
    parameters that require grad, its backward runs the traced ops' backwards."""

    op_name = "compiled"

    @staticmethod
    def forward(ctx: Function, *arrays: Any) -> np.ndarray:
        raise TypeError("Compiled nodes are made by mg.compile, not applied")

    @staticmethod
    def backward(ctx: Function, g: Any) -> Any:
        replay: _Replay = ctx.saved[-1]
        plan = replay.plan
        shapes = [out.shape for out in replay.outputs]
        if isinstance(g, Tensor):              # create_graph: the ops again, recorded
            outputs = plan.eager(ctx.arguments, replay)
            if len(outputs) > 1:
                outputs = [ops.concatenate([o.reshape(-1) for o in outputs])]
            got = grad(outputs, list(ctx.arguments), g.reshape(outputs[0].shape),
                       create_graph=True, allow_unused=True)
            return tuple(got)
        seeds = [g] if len(shapes) == 1 else _split(g, shapes)
        return tuple(plan.backward(replay, seeds, modes.grad_mode.retaining))


def _split(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    pieces, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        pieces.append(flat[start:start + size].reshape(shape))
        start += size
    return pieces


def _holders(fn: Callable[..., Any], wanted: dict[int, Tensor], args: tuple[Any, ...]
             ) -> tuple[list[tuple[Any, Any, Tensor]], list[Any]]:
    """Where fn finds the tensors it read (attributes, dict entries), and the modules it
    may use (for their train/eval flags): from its self, closure and globals."""
    from .nn import Module

    roots: list[Any] = [a for a in args if isinstance(a, (Module, dict, list, tuple))]
    if isinstance(fn, Module):
        roots.append(fn)
    owner = getattr(fn, "__self__", None)
    if owner is not None:
        roots.append(owner)
    code = getattr(fn, "__code__", None)
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            roots.append(cell.cell_contents)
        except ValueError:
            pass
    if code is not None:
        namespace = getattr(fn, "__globals__", {})
        roots.extend(namespace[n] for n in code.co_names if n in namespace)
    holders: list[tuple[Any, Any, Tensor]] = []
    modules: list[Any] = []
    seen: set[int] = set()
    stack = [(root, 0) for root in roots]
    while stack:
        obj, depth = stack.pop()
        if id(obj) in seen or depth > 4:
            continue
        seen.add(id(obj))
        if isinstance(obj, Module):
            modules.append(obj)
            entries: Any = vars(obj).items()
            container: Any = obj
        elif isinstance(obj, dict):
            entries, container = list(obj.items()), obj
        elif isinstance(obj, (list, tuple)):
            entries, container = [], None
            stack.extend((v, depth + 1) for v in obj)
        else:
            continue
        for key, value in entries:
            if isinstance(value, Tensor):
                if id(value) in wanted:
                    holders.append((container, key, value))
            elif isinstance(value, (Module, dict, list, tuple)):
                stack.append((value, depth + 1))
    return holders, modules


class CompiledFunction:
    """A function traced once per kind of call and replayed (see `compile`)."""

    def __init__(self, fn: Callable[..., Any], cache_size: int = 8) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.cache_size = cache_size
        self._plans: OrderedDict[Any, tuple[_Plan, list[Any]]] = OrderedDict()
        self.pool = buffers.Pool()             # large arrays its replays keep between calls
        self.traces = 0                       # how many times it traced (for tests, tuning)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)   # as a method: @mg.compile on a def in a class

    def _key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        parts: list[Any] = [modes.grad_mode.enabled, *kwargs]
        first: dict[int, int] = {}           # one array passed twice is traced as one value
        for i, value in enumerate((*args, *kwargs.values())):
            if isinstance(value, Tensor):
                d = value._data
                parts.append((Tensor, d.shape, d.dtype.str, value._requires_grad,
                              first.setdefault(id(d), i)))
            elif isinstance(value, np.ndarray):
                parts.append((np.ndarray, value.shape, value.dtype.str,
                              first.setdefault(id(value), i)))
            else:
                try:
                    hash(value)
                    parts.append((type(value), value))
                except TypeError:
                    parts.append((type(value), id(value)))
        return tuple(parts)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if modes.tracer is not None:          # inside another trace: part of that one
            return self.fn(*args, **kwargs)
        key = self._key(args, kwargs)
        entry = self._plans.get(key)
        if entry is not None:
            plan, modules = entry
            if plan.stale() or any(m.training != flag for m, flag in modules):
                del self._plans[key]
                entry = None
            else:
                self._plans.move_to_end(key)
        if entry is None:
            return self._trace(key, args, kwargs)
        return self._replay(plan, args, kwargs)

    def _trace(self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        name = getattr(self.fn, "__qualname__", None) or type(self.fn).__name__
        arrays = [a if isinstance(a, Tensor) else Tensor(a)
                  for a in (*args, *kwargs.values()) if isinstance(a, (Tensor, np.ndarray))]
        trace = _Trace(name, arrays)
        it = iter(arrays)
        call_args = [next(it) if isinstance(a, (Tensor, np.ndarray)) else a for a in args]
        call_kwargs = {k: next(it) if isinstance(v, (Tensor, np.ndarray)) else v
                       for k, v in kwargs.items()}
        modes.tracer = trace
        modes.anomaly_depth += 1
        try:
            result = self.fn(*call_args, **call_kwargs)
            trace.check_random()
        finally:
            modes.anomaly_depth -= 1
            modes.tracer = None
        self.traces += 1
        if isinstance(result, Tensor):
            structure, outputs = "one", [result]
        elif isinstance(result, (tuple, list)) and result and \
                all(isinstance(r, Tensor) for r in result):
            structure, outputs = type(result).__name__, list(result)
        else:
            raise TypeError(f"mg.compile({name}): the function must return a Tensor or a "
                            f"tuple or list of Tensors, got {type(result).__name__}")
        slots = []
        for out in outputs:
            slot = trace.known.get(id(out._data))
            if slot is None or slot in trace.inputs or \
                    any(slot == s for s, _ in trace.captured):
                return result                 # returns what it was given: nothing to replay
            slots.append(slot)
        wanted = {id(t): t for _, t in trace.captured}
        holders, modules = _holders(self.fn, wanted, (*args, *kwargs.values()))
        plan = _Plan(trace, slots, structure, holders, self.pool)
        self._plans[key] = (plan, [(m, m.training) for m in modules])
        while len(self._plans) > self.cache_size:
            self._plans.popitem(last=False)
        return result                          # the first call's results are the eager ones

    def _replay(self, plan: _Plan, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        given = [a for a in (*args, *kwargs.values()) if isinstance(a, (Tensor, np.ndarray))]
        arrays = [a._data if isinstance(a, Tensor) else a for a in given]
        grads = plan.keep
        replay = plan.forward(arrays)
        values = replay.outputs
        if not grads:
            results = [_make(v, None, False) for v in values]
        else:
            leaves = (*[cast(Tensor, given[i]) for i in plan.leaf_arguments],
                      *plan.leaf_captured)
            if len(values) == 1:
                results = [_node(leaves, values[0], replay, plan)]
            else:
                flat = np.concatenate([v.reshape(-1) for v in values])
                bundle = _node(leaves, flat, replay, plan)
                results, start = [], 0
                for v in values:
                    results.append(bundle[start:start + v.size].reshape(v.shape))
                    start += v.size
        if plan.structure == "one":
            return results[0]
        return tuple(results) if plan.structure == "tuple" else results


def _node(leaves: tuple[Tensor, ...], out: np.ndarray, replay: _Replay, plan: _Plan) -> Tensor:
    """The Compiled node over the leaves, as apply would record it."""
    ctx = object.__new__(Compiled)
    ctx.parents = [t._ctx or t for t in leaves]
    ctx.needs_input_grad = [True] * len(leaves)
    ctx.arguments = leaves
    ctx.saved = (*[t._data for t in leaves], replay)    # version checks see the leaves
    ctx._out_id = None
    ctx._clock = versions.writes
    return _make(out, ctx, True)


def compile(fn: F | None = None, *, cache_size: int = 8) -> Any:
    """Trace `fn` at its first call with arguments of a kind, replay it at later ones
    (`mg.compile(fn)` or `@mg.compile`); results and gradients are eager's."""
    if fn is None:
        return lambda f: CompiledFunction(f, cache_size)
    return CompiledFunction(fn, cache_size)

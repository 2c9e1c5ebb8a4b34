"""`mg.compile`: trace a function once, then replay its ops without rebuilding a graph.

    step = mg.compile(model.loss)      # or @mg.compile
    loss = step(x, t)                  # traces (runs eagerly, recording every op)
    loss = step(x, t)                  # replays: each op's forward, in the traced order
    loss.backward()                    # one node: the ops' backwards, in reverse

The replay calls the very forward and backward functions the eager engine calls, so its
values and gradients are the eager ones. It skips what the graph costs per op: Tensor
objects, argument sorting, the topological sort. A call traces again when its arrays
differ in shape, dtype or requires_grad, when another argument differs, when grad mode
or a module's train()/eval() changed, or when a parameter it read was replaced; the
replay reads the current arrays of the parameters, so in-place updates are seen.

What the replay could not follow is an error while tracing (`TraceError`, naming your
line): values leaving the graph (`.item()`, `float()`, `bool()`, `.data`, numpy
conversion), in-place writes to tensors, random numbers drawn with `np.random` outside
minigrad's ops (dropout draws a fresh mask at every replay), and boolean-mask indexing
(its result's shape depends on the values). docs/compile.md says more.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from . import modes, ops, versions
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

    __slots__ = ("cls", "args", "kwargs", "nested", "needs", "parents", "slot", "shape",
                 "requires", "grad_to")

    def __init__(self, cls: type[Function], args: list[Any], kwargs: dict[str, Any],
                 needs: list[bool], slot: int, out: np.ndarray, requires: bool) -> None:
        self.cls, self.args, self.kwargs, self.needs = cls, args, kwargs, needs
        self.parents: list[Any] = [None] * len(args)     # forwards never follow edges
        self.nested = any(not isinstance(a, _Ref) and _has_ref(a) for a in args) or \
            any(_has_ref(v) for v in kwargs.values())
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
            slot = self.known.get(id(value._data))
            if slot is None:                  # read from outside: a parameter, a constant
                slot = self._new_slot(value._data, value._requires_grad)
                self.captured.append((slot, value))
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

    __slots__ = ("plan", "values", "ctxs")

    def __init__(self, plan: _Plan, values: list[Any], ctxs: list[Any]) -> None:
        self.plan, self.values, self.ctxs = plan, values, ctxs


class _Plan:
    """A finished trace, ready to replay."""

    def __init__(self, trace: _Trace, outputs: list[int], structure: Any,
                 holders: list[tuple[Any, Any, Tensor]]) -> None:
        self.name = trace.name
        self.nodes = trace.nodes
        self.inputs = trace.inputs
        self.captured = trace.captured
        self.size = len(trace.requires)
        self.requires = trace.requires
        self.outputs = outputs
        self.structure = structure          # "one", "tuple" or "list"
        self.holders = holders
        self.leaves = [s for s in trace.inputs if trace.requires[s]] + \
            [s for s, t in trace.captured if t._requires_grad]
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

    def stale(self) -> bool:
        """Has a parameter it read been replaced (model.W1 = ...) since the trace?"""
        for container, key, tensor in self.holders:
            current = container.get(key) if isinstance(container, dict) else \
                getattr(container, key, None)
            if current is not tensor:
                return True
        return False

    def forward(self, arrays: list[np.ndarray], keep: bool) -> _Replay:
        values: list[Any] = [None] * self.size
        for slot, array in zip(self.inputs, arrays):
            values[slot] = array
        for slot, tensor in self.captured:
            values[slot] = tensor._data
        ctxs: list[Any] = []
        new = object.__new__
        for node, done in zip(self.nodes, self.done):
            cls = node.cls
            ctx = new(cls)
            ctx.needs_input_grad = node.needs
            ctx.parents = node.parents
            if node.nested:
                args = _resolve(node.args, values)
                kwargs = _resolve_keywords(node.kwargs, values)
            else:
                args = [values[a.slot] if type(a) is _Ref else a for a in node.args]
                kwargs = node.kwargs
            out = cls.forward(ctx, *args, **kwargs)
            if type(out) is not np.ndarray:
                out = np.asarray(out)
            if out.shape != node.shape:
                raise TraceError(f"mg.compile({self.name}): {node.cls.op_name} gave shape "
                                 f"{out.shape} in a replay, {node.shape} when traced: its "
                                 "shape depends on the values, which a replay cannot follow")
            values[node.slot] = out
            for slot in done:
                values[slot] = None
            if keep:
                ctxs.append(ctx)
        return _Replay(self, values, ctxs)

    def backward(self, replay: _Replay, seeds: list[np.ndarray], retain: bool) -> list[Any]:
        grads: dict[int, Any] = {}
        for slot, g in zip(self.outputs, seeds):
            previous = grads.get(slot)
            grads[slot] = g if previous is None else previous + g
        for node, ctx in zip(reversed(self.nodes), reversed(replay.ctxs)):
            if not node.requires:
                continue
            g = grads.pop(node.slot, None)
            if g is None:
                continue
            input_grads = node.cls.backward(ctx, g)
            if not retain:                     # what it saved can go, as eager frees it
                ctx.saved = None
            if type(input_grads) is not tuple:
                input_grads = (input_grads,)
            for position, slot, shape, dtype in node.grad_to:
                pg = input_grads[position] if position < len(input_grads) else None
                if pg is None:
                    continue
                if type(pg) is not np.ndarray:
                    pg = np.asarray(pg, dtype=dtype)
                if pg.shape != shape:
                    pg = _unbroadcast(pg, shape, ctx)
                if pg.dtype != dtype:
                    pg = pg.astype(dtype)
                previous = grads.get(slot)
                grads[slot] = pg if previous is None else previous + pg
        return [grads.get(slot) for slot in self.leaves]

    def eager(self, leaves: tuple[Tensor, ...], replay: _Replay) -> list[Tensor]:
        """The traced ops applied again, recorded: for a backward that records itself."""
        tensors: list[Any] = list(replay.values)
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
        shapes = [replay.values[s].shape for s in plan.outputs]
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
        self.traces = 0                       # how many times it traced (for tests, tuning)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)   # as a method: @mg.compile on a def in a class

    def _key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        parts: list[Any] = [modes.grad_mode.enabled, *kwargs]
        for value in (*args, *kwargs.values()):
            if isinstance(value, Tensor):
                d = value._data
                parts.append((Tensor, d.shape, d.dtype.str, value._requires_grad))
            elif isinstance(value, np.ndarray):
                parts.append((np.ndarray, value.shape, value.dtype.str))
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
        plan = _Plan(trace, slots, structure, holders)
        self._plans[key] = (plan, [(m, m.training) for m in modules])
        while len(self._plans) > self.cache_size:
            self._plans.popitem(last=False)
        return result                          # the first call's results are the eager ones

    def _replay(self, plan: _Plan, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        given = [a for a in (*args, *kwargs.values()) if isinstance(a, (Tensor, np.ndarray))]
        arrays = [a._data if isinstance(a, Tensor) else a for a in given]
        grads = modes.grad_mode.enabled and any(plan.requires[s] for s in plan.outputs)
        replay = plan.forward(arrays, grads)
        values = [replay.values[s] for s in plan.outputs]
        if not grads:
            results = [_make(v, None, False) for v in values]
        else:
            leaves = tuple(_leaf_tensors(plan, given))
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


def _leaf_tensors(plan: _Plan, given: list[Any]) -> list[Tensor]:
    by_slot = {s: v for s, v in zip(plan.inputs, given) if isinstance(v, Tensor)}
    by_slot |= dict(plan.captured)
    return [by_slot[s] for s in plan.leaves]


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

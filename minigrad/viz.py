"""Pictures of the graph behind a tensor: Graphviz DOT text, and SVG or PNG files.

    from minigrad.viz import to_dot, render
    print(to_dot(loss))                 # DOT text; needs nothing installed
    render(loss, "graph.svg")           # runs Graphviz's `dot` program

What the picture shows, following the forward computation (inputs at the top,
the output at the bottom, edges input -> op -> output):

- blue boxes are ops (`Function` nodes), named after their class (`Mul`,
  `Linear`, ...); arguments that are not tensors (Python numbers, arrays,
  axes, shapes) are written inside the box as `name=value`;
- ellipses are tensors, labelled with their name (if any), shape and dtype;
  yellow ones are leaves that require grad (parameters), grey ones are leaves
  that do not (inputs); the output has a double border;
- an edge into an op is labelled with the op's parameter name (`x`, `W`, `b`
  of `Linear`) unless the tensor is the op's only tensor and first argument.

`backward()` frees the graph (unless `retain_graph=True`): the ops it freed
no longer know their inputs and are drawn dashed, marked "freed".
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from .engine import Function, Tensor, as_array
from .files import check_folder, write_atomic

__all__ = ["to_dot", "render", "GraphvizError", "GraphvizNotFoundError"]

_OP_STYLE = 'shape=box, style="rounded,filled", fillcolor="#dbe8f6"'
_FREED_STYLE = 'shape=box, style="rounded,dashed", color="#777777", fontcolor="#777777"'
_PARAM_STYLE = 'shape=ellipse, style=filled, fillcolor="#fde9a9", penwidth=2'
_INPUT_STYLE = 'shape=ellipse, style=filled, fillcolor="#eeeeee"'
_TENSOR_STYLE = "shape=ellipse"
_TRUNCATED_STYLE = 'shape=ellipse, style=dashed'


def to_dot(tensor: Tensor, *, show_shapes: bool = True, show_grads: bool = False,
           max_nodes: int | None = None) -> str:
    """Graphviz DOT text of the graph that produced `tensor`.

    `show_shapes` adds each tensor's shape and dtype; `show_grads` adds, for
    tensors that have a `.grad`, its value (one element) or norm. With
    `max_nodes`, only the part of the graph nearest the output is drawn, at
    most that many nodes; tensors whose inputs were left out are dashed.
    The text depends only on the graph, so the same graph gives the same text.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"to_dot: max_nodes must be at least 1, got {max_nodes}")
    budget = max_nodes if max_nodes is not None else float("inf")

    # A tensor is keyed by the op that made it (a leaf by itself): the engine
    # may wrap one op's output in several Tensor objects, all the same value.
    def key(t: Tensor) -> int:
        return id(t.op) if t.op is not None else id(t)

    tensors: dict[int, tuple[str, Tensor]] = {key(tensor): ("t0", tensor)}
    ops: list[tuple[str, Function, str]] = []       # (dot id, node, its output's dot id)
    edges: list[str] = []
    truncated: set[str] = set()
    queue = deque([tensor])                         # breadth first, from the output
    while queue:
        out = queue.popleft()
        node = out.op
        if node is None:
            continue
        out_id = tensors[key(out)][0]
        inputs = getattr(node, "arguments", None) or ()
        new = {key(p) for p in inputs if isinstance(p, Tensor) and key(p) not in tensors}
        if len(tensors) + len(ops) + 1 + len(new) > budget:
            truncated.add(out_id)
            continue
        op_id = f"op{len(ops)}"
        ops.append((op_id, node, out_id))
        edges.append(f"  {op_id} -> {out_id};")
        names = _parameter_names(type(node), len(inputs))
        tensor_args = [i for i, p in enumerate(inputs) if isinstance(p, Tensor)]
        for i in tensor_args:
            p = inputs[i]
            if key(p) not in tensors:
                tensors[key(p)] = (f"t{len(tensors)}", p)
                queue.append(p)
            elif p.name and not tensors[key(p)][1].name:     # keep the named wrapper
                tensors[key(p)] = (tensors[key(p)][0], p)
            label = "" if tensor_args == [0] else f' [label="{_escape(names[i])}"]'
            edges.append(f"  {tensors[key(p)][0]} -> {op_id}{label};")

    lines = ["digraph minigrad {",
             '  node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for dot_id, t in tensors.values():
        style = (_TRUNCATED_STYLE if dot_id in truncated
                 else _TENSOR_STYLE if t.op is not None
                 else _PARAM_STYLE if t.requires_grad else _INPUT_STYLE)
        if dot_id == "t0":
            style += ", peripheries=2"
        label = _tensor_label(t, show_shapes, show_grads, dot_id in truncated)
        lines.append(f'  {dot_id} [label="{_escape(label)}", {style}];')
    for op_id, node, _ in ops:
        label, freed = _op_label(node)
        lines.append(f'  {op_id} [label="{_escape(label)}", '
                     f"{_FREED_STYLE if freed else _OP_STYLE}];")
    lines += edges
    lines.append("}")
    return "\n".join(lines) + "\n"


def _tensor_label(t: Tensor, show_shapes: bool, show_grads: bool, truncated: bool) -> str:
    lines = [t.name] if t.name else []
    if show_shapes:
        lines.append(f"{tuple(t.data.shape)} {t.data.dtype}")
    if show_grads and t.grad is not None:
        g = np.asarray(as_array(t.grad))
        if g.size == 1:
            lines.append(f"grad {_number(g.reshape(()).item())}")
        else:
            shape = "" if g.shape == t.data.shape else f" {g.shape}"
            lines.append(f"grad{shape} norm={_number(float(np.linalg.norm(g)))}")
    if truncated:
        lines.append("(inputs not drawn)")
    return "\n".join(lines) or "tensor"


def _op_label(node: Function) -> tuple[str, bool]:
    """The op's name, its non-tensor arguments, or that backward freed it."""
    name = node.op_name
    inputs = getattr(node, "arguments", None)
    if inputs is None:
        return f"{name}\n(freed by backward)", True
    names = _parameter_names(type(node), len(inputs))
    options = [f"{n}={_short(p)}" for n, p in zip(names, inputs, strict=True)
               if not isinstance(p, Tensor)]
    options += [f"{n}={_short(p)}" for n, p in getattr(node, "keywords", {}).items()]
    return "\n".join([name, ", ".join(options)] if options else [name]), False


_signatures: dict[type, list[str]] = {}


def _parameter_names(op: type[Function], count: int) -> list[str]:
    """Names of the parameters of `op.forward` after ctx, one per argument."""
    if op not in _signatures:
        try:
            params = list(inspect.signature(op.forward).parameters.values())[1:]
        except (TypeError, ValueError):      # no signature to be had: number them
            params = []
        _signatures[op] = [p.name if p.kind is not p.VAR_POSITIONAL else "*" + p.name
                           for p in params
                           if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                         p.VAR_POSITIONAL)]
    known = _signatures[op]
    names = []
    for i in range(count):
        if i < len(known) and not known[i].startswith("*"):
            names.append(known[i])
        elif known and known[-1].startswith("*"):          # *arrays -> arrays[0], ...
            names.append(f"{known[-1][1:]}[{i - len(known) + 1}]")
        else:
            names.append(f"arg{i}")
    return names


def _number(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        text = f"{float(x):.4g}"
        return text if any(c in text for c in ".ein") else text + ".0"   # 2.0, not 2
    return str(x)


def _short(value: Any, limit: int = 40) -> str:
    """A one-line description of a constant argument."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _number(value.item())
        return f"array{tuple(value.shape)} {value.dtype}"
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return _number(value)
    if isinstance(value, slice):
        text = ":".join("" if v is None else _short(v) for v in
                        (value.start, value.stop, value.step))
        return text[:-1] if value.step is None else text
    if value is Ellipsis:
        return "..."
    if isinstance(value, tuple):
        text = "(" + ", ".join(_short(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    else:
        text = str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _escape(text: str) -> str:
    """Text for a double-quoted DOT string, drawn verbatim by Graphviz.

    Quotes and backslashes are escaped, newlines become DOT's line breaks, and
    `&` becomes `&amp;` (Graphviz reads `&lt;` and the like as HTML entities).
    """
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif c == "&":
            out.append("&amp;")
        elif c == "\n":
            out.append("\\n")
        elif ord(c) < 32 or c == "\x7f":         # other control characters, made visible
            out.append(f"\\\\x{ord(c):02x}")
        else:
            out.append(c)
    return "".join(out)


# ---------------------------------------------------------------- rendering

class GraphvizError(RuntimeError):
    """Graphviz's `dot` failed to draw the graph."""


class GraphvizNotFoundError(GraphvizError):
    """Graphviz's `dot` program is not installed (not on PATH)."""


_FORMATS = {".svg": "svg", ".png": "png"}


def render(tensor: Tensor, path: str | os.PathLike[str], **to_dot_options: Any) -> Path:
    """Draw the graph behind `tensor` into an .svg or .png file; returns the path.

    Runs Graphviz's `dot` on `to_dot(tensor, **to_dot_options)`. The picture
    is written to a temporary file beside `path` and then moved into place
    (`minigrad.files.write_atomic`), so `path` never holds a half-written
    picture.
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"render: cannot write a {path.suffix or 'suffix-less'!r} file "
                         f"({path}); give a path ending in .svg or .png")
    check_folder(path, where="render")                  # before running dot
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFoundError(
            f"render: cannot draw {path.name}: Graphviz's `dot` program is not installed "
            "(not found on PATH). Install Graphviz: `apt-get install graphviz` "
            "(Debian/Ubuntu), `brew install graphviz` (macOS), `conda install graphviz`, "
            "or see https://graphviz.org/download/. Meanwhile to_dot(tensor) still works: "
            "it returns the DOT text, which any Graphviz viewer can show.")
    source = to_dot(tensor, **to_dot_options)
    result = subprocess.run([dot, f"-T{fmt}"], input=source.encode("utf-8"),
                            capture_output=True, check=False)
    if result.returncode != 0 or not result.stdout:
        stderr = result.stderr.decode("utf-8", "replace").strip()
        raise GraphvizError(f"render: `dot -T{fmt}` failed (exit status "
                            f"{result.returncode}) drawing {path.name}: {stderr}")
    return write_atomic(path, result.stdout, where="render")

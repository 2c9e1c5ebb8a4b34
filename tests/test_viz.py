"""Graph pictures: the DOT text's structure, and rendering through Graphviz's `dot`."""

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad.viz import GraphvizError, GraphvizNotFoundError, render, to_dot

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) not installed")
ROOT = Path(__file__).resolve().parent.parent

NODE = re.compile(r'^  (\w+) \[label="((?:[^"\\]|\\.)*)", (.*)\];$')
EDGE = re.compile(r'^  (\w+) -> (\w+)(?: \[label="((?:[^"\\]|\\.)*)"\])?;$')


def parse(dot: str):
    """DOT text -> ({id: (label, attributes)}, [(from, to, edge label)]), checking every line."""
    lines = dot.splitlines()
    assert lines[0] == "digraph minigrad {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if line.startswith(("  node [", "  edge [")):
            continue
        if m := EDGE.match(line):
            edges.append(m.groups())
        elif m := NODE.match(line):
            assert m[1] not in nodes, f"node {m[1]} declared twice"
            nodes[m[1]] = (m[2].replace("\\n", "\n"), m[3])
        else:
            raise AssertionError(f"unexpected DOT line: {line!r}")
    for a, b, _ in edges:
        assert a in nodes and b in nodes, f"edge {a} -> {b} to an undeclared node"
    outputs = Counter(a for a, _, _ in edges if a.startswith("op"))
    assert all(outputs[n] == 1 for n in nodes if n.startswith("op"))   # one output per op
    return nodes, edges


def labelled_edges(dot: str) -> list[tuple[str, str, str | None]]:
    """Edges as (first label line of source, first label line of target, edge label)."""
    nodes, edges = parse(dot)
    return sorted((nodes[a][0].split("\n")[0], nodes[b][0].split("\n")[0], label or "")
                  for a, b, label in edges)


def small_graph():
    x = mg.tensor(np.ones((4, 3)), name="x")
    w = mg.tensor(np.ones(3), requires_grad=True, name="w")
    xw = x * w
    xw.name = "xw"
    shifted = xw + 1.5
    shifted.name = "shifted"
    y = shifted.sum()
    y.name = "y"
    return x, w, y


def test_small_graph_nodes_edges_and_labels():
    x, w, y = small_graph()
    dot = to_dot(y)
    nodes, edges = parse(dot)
    assert len(nodes) == 8            # tensors x w xw shifted y, ops Mul Add Sum
    assert len(edges) == 7
    labels = sorted(label for label, _ in nodes.values())
    assert labels == sorted([
        "x\n(4, 3) float64", "w\n(3,) float64", "xw\n(4, 3) float64",
        "shifted\n(4, 3) float64", "y\n() float64",
        "mul", "add\nb=1.5", "sum"])
    assert labelled_edges(dot) == sorted([
        ("x", "mul", "a"), ("w", "mul", "b"), ("mul", "xw", ""),
        ("xw", "add", ""), ("add", "shifted", ""),
        ("shifted", "sum", ""), ("sum", "y", "")])


def test_ops_tensors_parameters_inputs_and_output_look_different():
    x, w, y = small_graph()
    nodes, _ = parse(to_dot(y))
    style = {label.split("\n")[0]: attrs for label, attrs in nodes.values()}
    assert "shape=box" in style["mul"] and style["mul"] == style["add"] == style["sum"]
    for t in ("x", "w", "xw", "y"):
        assert "shape=ellipse" in style[t]
    assert "fillcolor" in style["w"] and "fillcolor" in style["x"]
    assert len({style["w"], style["x"], style["xw"]}) == 3     # parameter, input, intermediate
    assert "peripheries=2" in style["y"] and "peripheries" not in style["xw"]


def test_shared_subexpression_is_drawn_once_with_two_edges():
    a = mg.tensor([1.0, 2.0], requires_grad=True, name="a")
    b = a + a
    b.name = "b"
    c = b * b
    nodes, edges = parse(to_dot(c))
    assert len(nodes) == 5 and len(edges) == 6
    assert [label.split("\n")[0] for label, _ in nodes.values()].count("b") == 1
    assert labelled_edges(to_dot(c)) == sorted([
        ("a", "add", "a"), ("a", "add", "b"), ("add", "b", ""),
        ("b", "mul", "a"), ("b", "mul", "b"), ("mul", "(2,) float64", "")])


def test_diamond_shares_the_common_input():
    x = mg.tensor([0.5, 1.0], requires_grad=True, name="x")
    y = (x.exp() + x.sin()) * x.exp()             # two Exp ops, x used three times
    nodes, edges = parse(to_dot(y))
    ops = sorted(label.split("\n")[0] for n, (label, _) in nodes.items() if n.startswith("op"))
    assert ops == ["add", "exp", "exp", "mul", "sin"]
    x_id = next(n for n, (label, _) in nodes.items() if label.startswith("x\n"))
    assert sum(a == x_id for a, _, _ in edges) == 3


def test_constants_are_written_in_the_op_label():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    labels = [label for label, _ in parse(to_dot((x * 2.0).sum()))[0].values()]
    assert "mul\nb=2.0" in labels
    # a constant first argument: the tensor's edge says which parameter it is
    dot = to_dot(2 - x)
    assert "sub\na=2" in [label for label, _ in parse(dot)[0].values()]
    assert ("x", "sub", "b") in labelled_edges(dot)
    # arrays, axes, shapes, slices, dtypes
    logits = mg.tensor(np.zeros((5, 3)), requires_grad=True, name="logits")
    loss = mg.softmax_cross_entropy(logits, np.array([0, 1, 2, 0, 1]))
    labels = [label for label, _ in parse(to_dot(loss))[0].values()]
    assert "softmax_cross_entropy\nt=array(5,) int64" in labels
    y = logits.reshape(3, 5)[1:, ::2].astype(np.float32).max(axis=(0, 1), keepdims=True)
    labels = [label for label, _ in parse(to_dot(y))[0].values()]
    assert "reshape\nshape=(3, 5)" in labels
    assert "getitem\nindex=(1:, ::2)" in labels
    assert "cast\ndtype=float32" in labels
    assert "max\naxis=(0, 1), keepdims=True" in labels
    assert "(1, 1) float32" in labels


def test_variadic_op_edges_are_numbered():
    a = mg.tensor([1.0], requires_grad=True, name="a")
    b = mg.tensor([2.0], requires_grad=True, name="b")
    dot = to_dot(mg.concatenate([a, b, a]))
    assert ("a", "concatenate", "arrays[0]") in labelled_edges(dot)
    assert ("b", "concatenate", "arrays[1]") in labelled_edges(dot)
    assert ("a", "concatenate", "arrays[2]") in labelled_edges(dot)


def test_custom_function_is_drawn_by_its_op_name():
    class SoftCube(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

    x = mg.tensor([1.0, 2.0], requires_grad=True, name="x")
    assert ("x", "soft_cube", "") in labelled_edges(to_dot(SoftCube.apply(x)))

    class Cubed(SoftCube):
        op_name = "x³"
    assert ("x", "x³", "") in labelled_edges(to_dot(Cubed.apply(x)))


def test_show_shapes_off_and_unnamed_tensors():
    x, w, y = small_graph()
    dot = to_dot(y, show_shapes=False)
    assert "float64" not in dot and "(4, 3)" not in dot
    unnamed = (mg.tensor([1.0], requires_grad=True) * 3).sum()
    labels = [label for label, _ in parse(to_dot(unnamed, show_shapes=False))[0].values()]
    assert labels.count("tensor") == 3


def test_show_grads_after_backward_with_retained_graph():
    x, w, y = small_graph()
    y.backward(retain_graph=True)                 # w.grad = column sums of x = [4, 4, 4]
    nodes, _ = parse(to_dot(y, show_grads=True))
    label = {lbl.split("\n")[0]: lbl for lbl, _ in nodes.values()}
    assert label["w"] == "w\n(3,) float64\ngrad norm=6.928"   # |[4, 4, 4]| = 4 sqrt 3
    assert label["x"] == "x\n(4, 3) float64"                   # no grad: nothing added
    assert "\\ngrad" not in to_dot(y)                         # off by default
    s = mg.tensor(3.0, requires_grad=True, name="s")
    (s * s).backward()
    assert "s\n() float64\ngrad 6.0" in [lbl for lbl, _ in parse(to_dot(s, show_grads=True))[
        0].values()]


def test_freed_graph_is_drawn_not_crashed_on():
    x, w, y = small_graph()
    y.backward()                                  # frees the graph
    nodes, edges = parse(to_dot(y, show_grads=True))
    assert len(nodes) == 2 and len(edges) == 1    # Sum no longer knows its input
    (op_label, op_attrs), = [v for n, v in nodes.items() if n.startswith("op")]
    assert op_label == "sum\n(freed by backward)"
    assert "dashed" in op_attrs


def test_graph_from_create_graph_draws_each_op_once():
    x = mg.tensor([0.5, 1.0], requires_grad=True, name="x")
    y = x.exp()
    y.name = "y"
    (g,) = mg.grad(y.sum(), x, create_graph=True)   # g = 1 * exp(x), reusing Exp's output
    # The engine wrapped Exp's output in a second Tensor for g's graph; both
    # wrappers are the same value, drawn as one node (with y's name).
    assert g.op.arguments[1] is not y and g.op.arguments[1].op is y.op
    nodes, edges = parse(to_dot(g + y))
    ops = sorted(label.split("\n")[0] for n, (label, _) in nodes.items() if n.startswith("op"))
    assert ops == ["add", "exp", "mul"]
    assert [label for label, _ in nodes.values()].count("y\n(2,) float64") == 1
    assert ("y", "add", "b") in labelled_edges(to_dot(g + y))
    assert ("y", "mul", "b") in labelled_edges(to_dot(g + y))
    # found unnamed first (through g), the node still gets y's name
    edges = labelled_edges(to_dot(g + y * 2.0))
    assert ("y", "mul", "b") in edges and ("y", "mul", "") in edges


def test_output_is_deterministic():
    assert to_dot(small_graph()[2]) == to_dot(small_graph()[2])
    x, w, y = small_graph()
    assert to_dot(y) == to_dot(y) == to_dot(small_graph()[2])


def test_odd_names_are_escaped():
    odd = 'say "hi" <b>&amp; \\n\\'
    a = mg.tensor([1.0], requires_grad=True, name=odd)
    b = (a * 2)
    b.name = "two\nlines\x07"
    dot = to_dot(b)
    assert '"say \\"hi\\" <b>&amp;amp; \\\\n\\\\\\n(1,) float64"' in dot
    assert '"two\\nlines\\\\x07\\n(1,) float64"' in dot
    nodes, _ = parse(dot)                          # still one line per statement
    assert len(nodes) == 3


def test_leaf_and_constant_results():
    leaf = mg.tensor([1.0, 2.0], name="leaf")
    nodes, edges = parse(to_dot(leaf))
    assert list(nodes.values())[0][0] == "leaf\n(2,) float64" and edges == []
    with mg.no_grad():
        y = mg.tensor([1.0], requires_grad=True) * 2
    assert len(parse(to_dot(y))[0]) == 1           # nothing was recorded


def test_max_nodes_keeps_the_part_nearest_the_output():
    x = mg.tensor([1.0], requires_grad=True, name="x")
    y = x
    for _ in range(10):
        y = y * 1.0
    y.name = "out"
    nodes, edges = parse(to_dot(y, max_nodes=6))
    assert len(nodes) == 5                          # out, 2 ops, 2 tensors: one more op won't fit
    cut = [label for label, attrs in nodes.values() if "dashed" in attrs]
    assert cut == ["(1,) float64\n(inputs not drawn)"]
    assert len(parse(to_dot(y, max_nodes=1))[0]) == 1
    assert len(parse(to_dot(y, max_nodes=1000))[0]) == 21
    with pytest.raises(ValueError, match="max_nodes"):
        to_dot(y, max_nodes=0)


def test_not_a_tensor():
    with pytest.raises(TypeError, match="expected a Tensor, got ndarray"):
        to_dot(np.ones(3))


def test_long_chain_without_recursion():
    x = mg.tensor([1.0], requires_grad=True, name="x")
    y = x
    for _ in range(10_000):
        y = y + 1.0
    nodes, edges = parse(to_dot(y))
    assert len(nodes) == 20_001 and len(edges) == 20_000


# ---------------------------------------------------------------- rendering

@needs_dot
@pytest.mark.parametrize("suffix", [".svg", ".png", ".SVG"])
def test_render_writes_a_real_picture_and_no_temp_files(tmp_path, suffix):
    x, w, y = small_graph()
    path = tmp_path / f"graph{suffix}"
    path.write_bytes(b"old picture")              # replaced, not appended to
    result = render(y, str(path), show_grads=True)
    assert result == path
    assert os.listdir(tmp_path) == [path.name]
    data = path.read_bytes()
    if suffix.lower() == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    else:
        root = ET.fromstring(data)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
        assert {"x", "w", "mul", "add", "b=1.5", "(4, 3) float64"} <= texts


@needs_dot
def test_render_draws_odd_names_verbatim(tmp_path):
    odd = 'say "hi" <b>&amp; θ₁ \\'
    a = mg.tensor([1.0], requires_grad=True, name=odd)
    path = render(a * 2, tmp_path / "odd.svg")
    texts = {t.text for t in ET.parse(path).getroot().iter("{http://www.w3.org/2000/svg}text")}
    assert odd in texts


def test_render_without_graphviz_says_how_to_install(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    x, w, y = small_graph()
    with pytest.raises(GraphvizNotFoundError) as info:
        render(y, tmp_path / "graph.svg")
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    for part in ("Graphviz", "not installed", "apt-get install graphviz",
                 "brew install graphviz", "to_dot"):
        assert part in message
    assert not (tmp_path / "graph.svg").exists()


@pytest.mark.parametrize("name", ["graph.pdf", "graph", "graph.svg.txt"])
def test_render_refuses_other_suffixes(tmp_path, name):
    x, w, y = small_graph()
    suffix = Path(name).suffix
    with pytest.raises(ValueError, match=re.escape(repr(suffix) if suffix else "suffix-less")):
        render(y, tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_render_into_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        render(small_graph()[2], tmp_path / "nowhere" / "graph.svg")


@pytest.mark.skipif(sys.platform == "win32", reason="uses a shell script as a fake dot")
def test_render_reports_dot_failure_with_its_stderr(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"
    fake.write_text("#!/bin/sh\necho 'Error: something broke in layout' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(GraphvizError, match="exit status 3.*something broke in layout"):
        render(small_graph()[2], out / "graph.png")
    assert os.listdir(out) == []


# ---------------------------------------------------------------- the example

def run_example(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(ROOT / "examples" / "show_graph.py"), *args],
                          capture_output=True, text=True, env=env, check=True)


def test_example_prints_the_two_layer_net_graph():
    nodes, edges = parse(run_example("--dot").stdout)
    labels = [label for label, _ in nodes.values()]
    for name in ("x\n(100, 784)", "W1\n(784, 50)", "b1\n(50,)", "W2\n(50, 10)", "b2\n(10,)",
                 "loss\n()"):
        assert any(label.startswith(name) for label in labels), name
    assert sorted(label.split("\n")[0] for n, (label, _) in nodes.items()
                  if n.startswith("op")) == ["linear", "linear", "sigmoid", "softmax_cross_entropy"]


@needs_dot
def test_example_renders_to_the_given_path(tmp_path):
    path = tmp_path / "net.svg"
    run_example(str(path))
    assert ET.parse(path).getroot().tag.endswith("svg")

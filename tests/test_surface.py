"""Tensor's surface as a reader and a type checker see it matches the one that runs.

declarations.py declares, in class TensorMethods (under `if TYPE_CHECKING:`), every operator
and method that the ops attach to Tensor. These tests parse it and engine.py's class Tensor,
and compare them with the runtime class in both directions.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import minigrad as mg
from minigrad import declarations, engine


def _class(module: object, name: str) -> ast.ClassDef:
    tree = ast.parse(Path(module.__file__).read_text())    # type: ignore[attr-defined]
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    raise AssertionError(f"{module.__name__} has no class {name}")      # type: ignore[attr-defined]


def _tensor_class() -> ast.ClassDef:
    return _class(engine, "Tensor")


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _declared() -> dict[str, ast.FunctionDef]:
    """The methods declared in declarations.TensorMethods."""
    found = {item.name: item for item in _class(declarations, "TensorMethods").body
             if isinstance(item, ast.FunctionDef)}
    assert found, "declarations.py declares no methods"
    return found


def _written() -> set[str]:
    """Names the class body defines for real (outside the TYPE_CHECKING block)."""
    names: set[str] = set()
    for node in _tensor_class().body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            continue
        body = node.body if isinstance(node, ast.If) else [node]   # `if not TYPE_CHECKING:`
        for item in body:
            if isinstance(item, ast.FunctionDef):
                names.add(item.name)
            elif isinstance(item, ast.Assign):
                names.update(t.id for t in item.targets if isinstance(t, ast.Name))
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                names.add(item.target.id)
    return names


def _attached() -> set[str]:
    """Attributes the running Tensor class has that its body does not write."""
    written = _written() | set(mg.Tensor.__slots__)
    return {name for name in vars(mg.Tensor)
            if name not in written and not (name.startswith("__") and name.endswith("__")
                                            and not callable(vars(mg.Tensor)[name]))}


def test_every_declared_operator_and_method_exists_at_runtime() -> None:
    missing = sorted(name for name in _declared() if name not in vars(mg.Tensor))
    assert not missing, f"declared for type checkers but not attached to Tensor: {missing}"


def test_every_attached_operator_and_method_is_declared() -> None:
    undeclared = sorted(_attached() - set(_declared()))
    assert not undeclared, (f"attached to Tensor but not declared in its TYPE_CHECKING "
                            f"block: {undeclared}")


def test_properties_are_declared_as_properties() -> None:
    for name, node in _declared().items():
        declared_property = any(isinstance(d, ast.Name) and d.id == "property"
                                for d in node.decorator_list)
        runtime_property = isinstance(vars(mg.Tensor)[name], property)
        assert declared_property == runtime_property, name


def test_declared_parameters_match_the_runtime_ones() -> None:
    """Where the runtime function has a signature of its own, the names agree (self aside)."""
    compared = 0
    for name, node in _declared().items():
        runtime = vars(mg.Tensor)[name]
        if isinstance(runtime, property):
            continue
        params = list(inspect.signature(runtime).parameters.values())
        variadic = [inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD]
        assert [p.kind for p in params] != variadic, \
            f"Tensor.{name} shows (*args, **kwargs), not its parameters"
        declared = node.args
        names = [a.arg for a in declared.posonlyargs + declared.args][1:]
        if declared.vararg is not None:
            names.append("*" + declared.vararg.arg)
        if declared.kwarg is not None:
            names.append("**" + declared.kwarg.arg)
        runtime_names = [{p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
                         for p in params][1:]
        if name.startswith("__"):           # an operator: its operand is `other` by convention
            assert len(names) == len(runtime_names), f"Tensor.{name}: declared {names}, runs " \
                                                     f"{runtime_names}"
        else:
            assert names == runtime_names, f"Tensor.{name}: declared {names}, runs " \
                                           f"{runtime_names}"
        compared += 1
    assert compared >= 40
